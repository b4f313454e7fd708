"""Notifications: one module per channel and the Notifier that fans out to them.

Channel settings live in `notify.settings`, which the settings module loads
through `alerts.rules`; keep this package free of imports for that reason.
"""
