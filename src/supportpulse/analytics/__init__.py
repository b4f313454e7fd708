"""Figures computed from the store: KPIs, SLA targets, sentiment."""
