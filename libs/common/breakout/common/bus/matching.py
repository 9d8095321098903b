"""NATS subject matching (`*` is one token, `>` the rest), shared by the in-memory bus and the
client-side filter that stands in for multi-filter consumers on servers older than 2.10."""

from __future__ import annotations

from collections.abc import Iterable


def subject_matches(pattern: str, subject: str) -> bool:
    """Whether `subject` is matched by the NATS filter `pattern`."""
    want = pattern.split(".")
    have = subject.split(".")
    for index, token in enumerate(want):
        if token == ">":
            # `>` needs at least one token to swallow, as on the server.
            return len(have) > index
        if index >= len(have) or (token != "*" and token != have[index]):
            return False
    return len(want) == len(have)


def matches_any(patterns: Iterable[str], subject: str) -> bool:
    """Whether any of `patterns` matches `subject`."""
    return any(subject_matches(pattern, subject) for pattern in patterns)
