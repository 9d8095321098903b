"""Activity tracker: composite index Z(TPM) + Z(TPS) + Z(|volume delta|) and drop detection.

Every `sample_interval_s` of exchange time the symbol's TPM, TPS and |volume delta| are
sampled. The baseline is the last `history_s` of samples ending one TPM window ago: the
samples of the current window are held back, so a drop is measured against the activity
before it and does not dilute its own baseline. Means and variances use exact sums
(`exact.py`), so they equal a recomputation over the baseline's samples.

`drop_frac = 1 - TPM / baseline TPM`. An `ActivityDropped` is recorded when it reaches
`activity_drop_threshold`, once; an `ActivityRecovered` when it falls back under
`rearm_ratio` x the threshold, after which a new drop can be announced.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Iterable, Iterator

import msgspec

from breakout.common.events import ActivityDropped, ActivityRecovered, Event
from breakout.features.config import ActivityConfig
from breakout.features.exact import mean_of_fixed, to_fixed

# (tpm, tps, |volume delta|)
Sample = tuple[float, float, float]


class ActivityReading(msgspec.Struct, frozen=True, kw_only=True):
    """The latest sample read against the baseline (None until the baseline is warm)."""

    ts_ms: int
    tpm: float
    activity_index: float | None = None
    drop_frac: float | None = None
    baseline_tpm: float | None = None


class ActivityState(msgspec.Struct, kw_only=True):
    """What a snapshot keeps of a symbol's tracker."""

    recent: list[Sample]
    baseline: list[Sample]
    dropped: bool
    reading: ActivityReading | None


class SampleRing:
    """The baseline's samples in one preallocated array of floats, oldest overwritten first.

    Its footprint is fixed from the first sample (`capacity` x 3 floats: 43 KB for the default
    30 minutes of 1 s samples) instead of a tuple and three floats per sample (~250 KB) that
    fill over the baseline's half hour, at 300 symbols 13 MB against 75 MB (docs/features.md).
    """

    __slots__ = ("_count", "_head", "_values", "capacity")

    def __init__(self, capacity: int, samples: Iterable[Sample] = ()) -> None:
        self.capacity = capacity
        self._values = array("d", bytes(8 * 3 * capacity))
        self._head = 0  # slot of the oldest sample
        self._count = 0
        for sample in samples:
            self.push(sample)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Sample]:
        values = self._values
        for i in range(self._count):
            at = 3 * ((self._head + i) % self.capacity)
            yield (values[at], values[at + 1], values[at + 2])

    def push(self, sample: Sample) -> Sample | None:
        """Append a sample; return the oldest one it overwrote when the ring was full."""
        values = self._values
        if not self.capacity:
            return sample  # no baseline kept: the sample ages straight out
        if self._count < self.capacity:
            at = 3 * ((self._head + self._count) % self.capacity)
            self._count += 1
            old = None
        else:
            at = 3 * self._head
            old = (values[at], values[at + 1], values[at + 2])
            self._head = (self._head + 1) % self.capacity
        values[at], values[at + 1], values[at + 2] = sample
        return old


class _ExactMoments:
    """Count, sum and sum of squares of a multiset of floats, exactly."""

    __slots__ = ("n", "sum", "sum_sq")

    def __init__(self) -> None:
        self.n = 0
        self.sum = 0
        self.sum_sq = 0

    def add(self, value: float, sign: int) -> None:
        fixed = to_fixed(value)
        self.n += sign
        self.sum += sign * fixed
        self.sum_sq += sign * fixed * fixed

    def mean(self) -> float:
        return mean_of_fixed(self.sum, self.n)

    def zscore(self, value: float) -> float:
        """(value - mean) / population std; 0 when the baseline never varied."""
        # With S, Q the exact fixed-point sum and sum of squares (scales 2^B, 2^2B):
        # n * (value - mean) * 2^B = n * fixed(value) - S, and n^2 * var * 2^2B = n * Q - S^2,
        # so z is their ratio's square-root form; the scales cancel. `isqrt` floors a number
        # of thousands of bits: the relative error is far below a float's resolution.
        variance_num = self.n * self.sum_sq - self.sum * self.sum
        if variance_num <= 0:
            return 0.0
        return (self.n * to_fixed(value) - self.sum) / math.isqrt(variance_num)


class ActivityTracker:
    """Activity of one symbol against its own recent past."""

    def __init__(self, config: ActivityConfig, exchange: str, symbol: str) -> None:
        self.config = config
        self.exchange = exchange
        self.symbol = symbol
        self._recent: deque[Sample] = deque()
        self._baseline = SampleRing(self._capacity)
        self._moments = (_ExactMoments(), _ExactMoments(), _ExactMoments())
        self.dropped = False
        self.reading: ActivityReading | None = None

    @property
    def _held_back(self) -> int:
        return self.config.tpm_window_s // self.config.sample_interval_s

    @property
    def _capacity(self) -> int:
        return self.config.history_s // self.config.sample_interval_s

    def sample(self, ts_ms: int, tpm: float, tps: float, abs_delta: float) -> list[Event]:
        """Read one sample against the baseline, then let it age into the baseline."""
        reading = self._read(ts_ms, (tpm, tps, abs_delta))
        self.reading = reading
        self._push((tpm, tps, abs_delta))
        return self._edges(reading)

    def _read(self, ts_ms: int, sample: Sample) -> ActivityReading:
        warm = len(self._baseline) * self.config.sample_interval_s >= self.config.min_history_s
        if not warm:
            return ActivityReading(ts_ms=ts_ms, tpm=sample[0])
        index = sum(m.zscore(x) for m, x in zip(self._moments, sample, strict=True))
        baseline_tpm = self._moments[0].mean()
        drop = 1.0 - sample[0] / baseline_tpm if baseline_tpm > 0 else None
        return ActivityReading(
            ts_ms=ts_ms,
            tpm=sample[0],
            activity_index=index,
            drop_frac=drop,
            baseline_tpm=baseline_tpm,
        )

    def _push(self, sample: Sample) -> None:
        self._recent.append(sample)
        while len(self._recent) > self._held_back:
            aged = self._recent.popleft()
            old = self._baseline.push(aged)
            for moments, value in zip(self._moments, aged, strict=True):
                moments.add(value, 1)
            if old is not None:
                for moments, value in zip(self._moments, old, strict=True):
                    moments.add(value, -1)

    def _edges(self, reading: ActivityReading) -> list[Event]:
        drop, baseline = reading.drop_frac, reading.baseline_tpm
        if drop is None or baseline is None:
            return []
        threshold = self.config.activity_drop_threshold
        if not self.dropped and drop >= threshold:
            self.dropped = True
            return [
                ActivityDropped(
                    exchange=self.exchange,
                    symbol=self.symbol,
                    ts_ms=reading.ts_ms,
                    drop_frac=drop,
                    threshold=threshold,
                    tpm=reading.tpm,
                    baseline_tpm=baseline,
                    activity_index=reading.activity_index,
                )
            ]
        if self.dropped and drop < threshold * self.config.rearm_ratio:
            self.dropped = False
            return [
                ActivityRecovered(
                    exchange=self.exchange,
                    symbol=self.symbol,
                    ts_ms=reading.ts_ms,
                    drop_frac=drop,
                    tpm=reading.tpm,
                    baseline_tpm=baseline,
                )
            ]
        return []

    # -- snapshots ------------------------------------------------------------------------

    def save(self) -> ActivityState:
        """The state to snapshot."""
        return ActivityState(
            recent=list(self._recent),
            baseline=list(self._baseline),
            dropped=self.dropped,
            reading=self.reading,
        )

    def load(self, state: ActivityState) -> None:
        """Replace the state with a snapshot's (exact sums recomputed)."""
        self._recent = deque(state.recent)
        self._baseline = SampleRing(self._capacity, state.baseline[-self._capacity :])
        self._moments = (_ExactMoments(), _ExactMoments(), _ExactMoments())
        for sample in self._baseline:
            for moments, value in zip(self._moments, sample, strict=True):
                moments.add(value, 1)
        self.dropped = state.dropped
        self.reading = state.reading
