"""Hypothesis strategies shared by the fuzz targets: arbitrary JSON, and near-valid documents
(a valid one with one value somewhere replaced by anything), which reach deeper than noise."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Bounded for CI; `FUZZ_EXAMPLES=20000 pytest tests/fuzz` for a long local run.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=os.environ.get("FUZZ_RANDOM") is None,  # reproducible in CI
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "nan", "inf", "-1", "1e400", "buy", "sell", "0", "NaN"]),
    st.sampled_from(["\ud800", "a\x00b", "\u202e", "1\n2"]),  # a lone surrogate, NUL, bidi
    st.sampled_from([0, -1, 10**15, 2**63, -(2**63), 1e308, -0.0]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(max_size=10), children, max_size=5),
    ),
    max_leaves=20,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += _paths(value, (*prefix, index))
    return found


def _replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: _replaced(doc[head], rest, value)}
    copy = list(doc)
    copy[head] = _replaced(doc[head], rest, value)
    return copy


def _dropped(doc: Any, path: tuple[Any, ...]) -> Any:
    head, rest = path[0], path[1:]
    if rest:
        return _replaced(doc, (head,), _dropped(doc[head], rest))
    if isinstance(doc, dict):
        return {k: v for k, v in doc.items() if k != head}
    return [v for i, v in enumerate(doc) if i != head]


@st.composite
def mutated(draw: st.DrawFn, doc: Any) -> Any:
    """`doc` with one to three values replaced by arbitrary JSON, or removed."""
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(doc)
        if not paths:
            return draw(json_values)
        path = draw(st.sampled_from(paths))
        if draw(st.integers(0, 9)) < 7:  # mostly a hostile scalar, sometimes any structure
            doc = _replaced(doc, path, draw(scalars if draw(st.booleans()) else json_values))
        else:
            doc = _dropped(doc, path)
    return doc
