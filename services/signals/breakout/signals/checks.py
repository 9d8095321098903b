"""Building `Check`s: one filter's value against its threshold, with the margin it passed by.

A margin is in the value's units: positive when the check passes, negative by how much it
failed (zero exactly at the threshold, which passes: thresholds are inclusive). A value that
is not known yet fails with a note, except where the caller says the check is not required.
"""

from __future__ import annotations

from breakout.common.events.sig import Check, Comparison


def at_least(name: str, value: float | None, threshold: float, note: str = "") -> Check:
    """`value >= threshold`."""
    if value is None:
        return missing(name, threshold, ">=", note)
    margin = value - threshold
    return Check(
        name=name,
        value=value,
        threshold=threshold,
        op=">=",
        passed=margin >= 0,
        margin=margin,
        note=note,
    )


def at_most(name: str, value: float | None, threshold: float, note: str = "") -> Check:
    """`value <= threshold`."""
    if value is None:
        return missing(name, threshold, "<=", note)
    margin = threshold - value
    return Check(
        name=name,
        value=value,
        threshold=threshold,
        op="<=",
        passed=margin >= 0,
        margin=margin,
        note=note,
    )


def is_true(name: str, value: bool | None, note: str = "") -> Check:
    """A yes/no condition (value 1.0 or 0.0)."""
    if value is None:
        return missing(name, 1.0, "==", note)
    return Check(
        name=name, value=1.0 if value else 0.0, threshold=1.0, op="==", passed=value, note=note
    )


def missing(name: str, threshold: float | None, op: Comparison, note: str = "") -> Check:
    """A check whose input is not known yet: it fails and says so."""
    return Check(
        name=name,
        value=None,
        threshold=threshold,
        op=op,
        passed=False,
        note=note or "no data yet",
    )


def skipped(name: str, note: str) -> Check:
    """A check the preset does not require here: it passes, and says why it was not applied."""
    return Check(name=name, value=None, threshold=None, op="not", passed=True, note=note)


def failed_names(checks: list[Check]) -> list[str]:
    """The names of the checks that failed."""
    return [check.name for check in checks if not check.passed]
