"""Local fake vendor servers for tests, benchmarks and demos.

Each vendor module (``zendesk``, ``freshdesk``, ``intercom``) speaks that
vendor's protocol from in-memory records and exposes
``cli_app(tickets, seed, faults)`` returning an ASGI app. ``faults`` adds
transport faults to any of them; ``serve`` runs one on a loopback port.
Run one by hand with ``python -m supportpulse.fakes VENDOR --port N``.
"""

from supportpulse.fakes.faults import FaultMiddleware, Faults, retry_after_throttle
from supportpulse.fakes.serve import ServedApp, serving, start, stop

__all__ = [
    "FaultMiddleware",
    "Faults",
    "ServedApp",
    "retry_after_throttle",
    "serving",
    "start",
    "stop",
]
