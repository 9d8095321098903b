"""NATS subject matching (`*` is one token, `>` the rest), shared by the in-memory bus and the
client-side filter that stands in for multi-filter consumers on servers older than 2.10."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence


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


class _Node:
    __slots__ = ("children", "end", "rest")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.end = False  # a pattern ends here
        self.rest = False  # a pattern ends here in `>`


class SubjectFilter:
    """Many filters compiled into a token tree: a match costs a walk over the subject's tokens,
    not one comparison per pattern (a features group has five patterns per symbol, and the
    client-side filter reads every message of the stream)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._root = _Node()
        for pattern in patterns:
            node = self._root
            tokens = pattern.split(".")
            for index, token in enumerate(tokens):
                if token == ">" and index == len(tokens) - 1:
                    node.rest = True
                    break
                node = node.children.setdefault(token, _Node())
            else:
                node.end = True

    def matches(self, subject: str) -> bool:
        """Whether any of the patterns matches `subject`."""
        return _walk(self._root, subject.split("."), 0)


def _walk(node: _Node, tokens: Sequence[str], index: int) -> bool:
    if index == len(tokens):
        return node.end
    if node.rest:
        return True  # `>` swallows the one or more tokens left
    exact = node.children.get(tokens[index])
    if exact is not None and _walk(exact, tokens, index + 1):
        return True
    wildcard = node.children.get("*")
    return wildcard is not None and _walk(wildcard, tokens, index + 1)


@functools.lru_cache(maxsize=256)
def compiled(patterns: tuple[str, ...]) -> SubjectFilter:
    """The filter of a tuple of patterns, compiled once (a core's subjects never change)."""
    return SubjectFilter(patterns)


def matches_any(patterns: Iterable[str], subject: str) -> bool:
    """Whether any of `patterns` matches `subject`."""
    if isinstance(patterns, tuple):
        return compiled(patterns).matches(subject)
    return any(subject_matches(pattern, subject) for pattern in patterns)


def covering_filter(patterns: Sequence[str]) -> str | None:
    """One filter matching at least every subject `patterns` match (their common literal
    tokens, then `>`), or None when they share none: what a server that takes one filter per
    consumer can narrow the stream to before the client applies the exact ones."""
    split = [p.split(".") for p in patterns]
    if not split:
        return None
    common: list[str] = []
    for tokens in zip(*split, strict=False):
        if len(set(tokens)) != 1 or tokens[0] in {"*", ">"}:
            break
        common.append(tokens[0])
    # `>` needs a token to swallow: the prefix must be shorter than every pattern.
    common = common[: min(len(s) for s in split) - 1]
    return ".".join([*common, ">"]) if common else None


def covers(wider: str, pattern: str) -> bool:
    """Whether the filter `wider` (literal tokens then `>`, or any filter equal to `pattern`)
    matches every subject `pattern` matches; conservative: False where unsure."""
    if wider == pattern:
        return True
    head = wider.split(".")
    tokens = pattern.split(".")
    if head[-1] != ">" or "*" in head:
        return False
    return len(tokens) >= len(head) and tokens[: len(head) - 1] == head[:-1]
