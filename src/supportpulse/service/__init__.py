"""The HTTP service: JSON API, live events, health and metrics, served on the
engine's event loop (see docs/api.md)."""
