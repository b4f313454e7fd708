"""The sidebar's filter choices, shared by reruns and viewers for a while.

Each list is a KPI query grouped by one dimension over the whole window,
which over a million tickets costs about half a second, and Streamlit runs
the sidebar again on every click. The teams, channels and priorities in a
window change slowly, so a minute-old list is good enough.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from supportpulse.dashboard import views
from supportpulse.dashboard.client import ApiClient

CHOICES_TTL_S = 60


@st.cache_data(ttl=CHOICES_TTL_S, show_spinner=False)
def filter_choices(
    base_url: str, window_key: str, dimension: str, _client: ApiClient
) -> list[str]:
    """The values of `dimension` in the window, read through `_client`, which
    must talk to `base_url` (the cache key; the client itself is not hashed)."""
    window = views.window_of(window_key)
    b = views.bounds(window, datetime.now(UTC).replace(tzinfo=None))
    document = _client.kpis(b.since, b.until, by=(dimension,))
    return views.filter_values(document, dimension)
