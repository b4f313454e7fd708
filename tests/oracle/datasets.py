"""Where the shared data lives and which oracle each data file needs."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .flat_oracle import flat_kpis
from .kpis import GroupBy
from .twcs_oracle import twcs_kpis

Oracle = Callable[[Path, GroupBy, datetime | None], dict[str, Any]]

# ../shared/data relative to the project root; never copied into the project.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

# Data file, relative to SHARED_DATA, and the oracle that reads it.
DATASETS: dict[str, tuple[str, Oracle]] = {
    "tickets_min": ("tickets_min.csv", flat_kpis),
    "twcs": ("twcs/twcs_head_1000.csv", twcs_kpis),
}
