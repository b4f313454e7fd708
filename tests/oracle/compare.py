"""Figure-by-figure comparison of a `kpis --json` document with the oracle's."""

import math
from typing import Any

REL_TOL = 1e-9
ABS_TOL = 1e-9


def kpi_differences(actual: Any, expected: dict[str, Any]) -> list[str]:
    """Every place where `actual` departs from `expected`, as readable lines."""
    if not isinstance(actual, dict) or not isinstance(actual.get("groups"), list):
        return [f"expected an object with a 'groups' list, got {actual!r:.200}"]

    got = sorted(actual["groups"], key=_group_order)
    want = sorted(expected["groups"], key=_group_order)
    got_keys = [g.get("key") for g in got]
    want_keys = [g["key"] for g in want]
    if got_keys != want_keys:
        missing = [k for k in want_keys if k not in got_keys]
        unexpected = [k for k in got_keys if k not in want_keys]
        return [f"groups: missing {missing}, unexpected {unexpected}, got {got_keys}"]

    differences: list[str] = []
    for got_group, want_group in zip(got, want, strict=True):
        _compare(got_group, want_group, f"group {want_group['key']}", differences)
    return differences


def _group_order(group: dict[str, Any]) -> list[tuple[bool, str]]:
    # Sorting by key values with nulls last; the product's own order is not
    # what this comparison checks.
    key = group.get("key") or {}
    return [(v is None, str(v or "")) for _, v in sorted(key.items())]


def _compare(got: Any, want: Any, where: str, out: list[str]) -> None:
    if isinstance(want, dict):
        if not isinstance(got, dict) or got.keys() != want.keys():
            out.append(f"{where}: got {got!r}, want the fields {sorted(want)}")
            return
        for name, value in want.items():
            _compare(got[name], value, f"{where}.{name}", out)
    elif not _same_value(got, want):
        out.append(f"{where}: got {got!r}, want {want!r}")


def _same_value(got: Any, want: Any) -> bool:
    # bool is an int in Python, but true is never a valid count.
    if isinstance(got, bool) or isinstance(want, bool):
        return got is want
    if want is None:
        return got is None
    if isinstance(want, str):
        return isinstance(got, str) and got == want
    if isinstance(want, int):
        return isinstance(got, int) and got == want
    # JSON writes 900.0 as 900 in some encoders, so a whole float may come back
    # as an int; the value is what matters.
    if isinstance(got, int | float):
        return math.isclose(got, want, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return False
