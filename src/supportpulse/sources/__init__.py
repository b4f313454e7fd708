"""Sources: plugins that deliver raw records and the cursor covering them.

A source type is registered under the `supportpulse.sources` entry-point
group, so a package can add one without touching supportpulse.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from supportpulse.errors import ConfigError
from supportpulse.sources.base import Page, PullSource, PushSource, Source

__all__ = ["Page", "PullSource", "PushSource", "Source", "source_class", "source_types"]

ENTRY_POINT_GROUP = "supportpulse.sources"


def source_types() -> dict[str, type[Source]]:
    """Every installed source type by name."""
    return {point.name: point.load() for point in entry_points(group=ENTRY_POINT_GROUP)}


def source_class(type_name: str) -> type[Source]:
    """The source class registered as `type_name`."""
    found = entry_points(group=ENTRY_POINT_GROUP, name=type_name)
    for point in found:
        loaded: type[Source] = point.load()
        return loaded
    known = ", ".join(sorted(source_types())) or "none installed"
    raise ConfigError(f"unknown source type '{type_name}'; installed types: {known}")
