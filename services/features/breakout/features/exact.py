"""Exact running sums of floats, for windows that add and remove values forever.

A float is a dyadic rational, so scaled by 2**1074 it is an integer; Python integers add and
subtract exactly, and `int / int` rounds correctly. A running sum kept this way equals
`math.fsum` of the values it holds, bit for bit, however many values came and went: no drift,
no periodic recomputation, and a property test can ask for equality instead of a tolerance.
"""

from __future__ import annotations

import math

_BITS = 1074  # 2**-1074 is the smallest positive float
_ONE = 1 << _BITS


def to_fixed(value: float) -> int:
    """`value` as an exact integer multiple of 2**-1074 (finite values only)."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    numerator, denominator = value.as_integer_ratio()
    return numerator << (_BITS + 1 - denominator.bit_length())


def from_fixed(total: int) -> float:
    """The float nearest to an exact fixed-point sum."""
    return total / _ONE


def mean_of_fixed(total: int, count: int) -> float:
    """The float nearest to an exact fixed-point sum divided by `count`."""
    return total / (count << _BITS)
