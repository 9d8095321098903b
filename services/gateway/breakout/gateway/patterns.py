"""Subject patterns a WebSocket client may ask for: well-formed and inside the allow-list."""

from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+$")


class PatternError(ValueError):
    """A requested subject pattern is malformed or not allowed."""


def check_pattern(pattern: str) -> str:
    """`pattern` if it is a NATS subject filter (`*` a token, `>` only last), else raise."""
    tokens = pattern.split(".")
    for index, token in enumerate(tokens):
        if token == ">" and index == len(tokens) - 1:
            continue
        if token != "*" and not _TOKEN.match(token):
            raise PatternError(f"{pattern!r} is not a subject pattern")
    return pattern


def covers(wide: str, narrow: str) -> bool:
    """Whether every subject `narrow` matches is matched by `wide`."""
    want, have = wide.split("."), narrow.split(".")
    for index, token in enumerate(want):
        if token == ">":
            return len(have) > index
        if index >= len(have) or have[index] == ">":
            return False
        if token != "*" and (have[index] == "*" or token != have[index]):
            return False
    return len(want) == len(have)


def allowed_patterns(requested: Iterable[str], allow: Iterable[str], limit: int) -> list[str]:
    """The requested patterns, checked against `allow`, without any covered by another."""
    allow = list(allow)
    wanted = [check_pattern(p.strip()) for p in requested if p.strip()]
    if not wanted:
        raise PatternError("no subjects requested (/ws?subjects=feat.density.BTCUSDT,pos.>)")
    if len(wanted) > limit:
        raise PatternError(f"at most {limit} subject patterns per connection")
    for pattern in wanted:
        if not any(covers(a, pattern) for a in allow):
            raise PatternError(f"{pattern!r} is not allowed (allowed: {', '.join(allow)})")
    return minimal(wanted)


def minimal(patterns: Iterable[str]) -> list[str]:
    """`patterns` without those another one covers (so a message matches at most one)."""
    kept: list[str] = []
    for pattern in dict.fromkeys(patterns):
        if not any(covers(other, pattern) for other in kept):
            kept = [k for k in kept if not covers(pattern, k)] + [pattern]
    return kept
