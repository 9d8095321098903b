"""NATS subject matching, so store catch-up selects exactly what a bus subject filter selects."""

from __future__ import annotations


def subject_matches(pattern: str, subject: str) -> bool:
    """Whether `subject` matches the NATS filter `pattern` (`*` one token, `>` the rest)."""
    pattern_tokens = pattern.split(".")
    subject_tokens = subject.split(".")
    for i, token in enumerate(pattern_tokens):
        if token == ">":
            return len(subject_tokens) > i
        if i >= len(subject_tokens) or (token not in ("*", subject_tokens[i])):
            return False
    return len(pattern_tokens) == len(subject_tokens)


def any_matches(patterns: tuple[str, ...], subject: str) -> bool:
    """Whether any of `patterns` matches `subject`."""
    return any(subject_matches(p, subject) for p in patterns)
