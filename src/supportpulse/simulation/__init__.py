"""A simulated help desk: tickets and messages with realistic daily cycles.

Pure and deterministic: the same seed and time range always give the same
records, so a demo, a benchmark and a test can all rely on them. The live
`simulated` source (sources/simulated.py) paces these records in event time.
"""

from supportpulse.simulation.helpdesk import Event, HelpdeskModel, timeline

__all__ = ["Event", "HelpdeskModel", "timeline"]
