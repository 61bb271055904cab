"""Bounded memory for live series: ring buffers, and decimation that keeps the peaks."""

from __future__ import annotations

import math

import numpy as np


class SeriesBuffer:
    """The newest `capacity` samples of one series: (row, t, value), oldest dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._row = np.zeros(capacity, np.int64)
        self._t = np.zeros(capacity, np.float64)
        self._v = np.zeros(capacity, np.float64)
        self._end = 0  # samples ever written; the newest is at (_end - 1) % capacity

    def __len__(self) -> int:
        return min(self._end, self.capacity)

    def append(self, row: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        n = len(t)
        if n > self.capacity:  # only the newest fit
            row, t, v = row[-self.capacity :], t[-self.capacity :], v[-self.capacity :]
            self._end += n - self.capacity
            n = self.capacity
        start = self._end % self.capacity
        first = min(n, self.capacity - start)
        for dst, src in ((self._row, row), (self._t, t), (self._v, v)):
            dst[start : start + first] = src[:first]
            dst[: n - first] = src[first:]
        self._end += n

    @property
    def dropped(self) -> int:
        """Samples that were pushed out to keep the memory bounded."""
        return max(0, self._end - self.capacity)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of (row, t, value), oldest first."""
        n = len(self)
        start = (self._end - n) % self.capacity
        order = (np.arange(n) + start) % self.capacity
        return self._row[order], self._t[order], self._v[order]

    def clear(self) -> None:
        self._end = 0


class Decimator:
    """Streaming min/max decimation: at most 3 points per bucket, peaks kept.

    A bucket spans `width` seconds (by time) or `count` samples (by count). Its first sample
    goes out at once (slow data is not delayed); its lowest and highest samples follow when
    the bucket closes. Out of a bucket, points leave in time order.
    """

    def __init__(self, *, width: float | None = None, count: int | None = None) -> None:
        if (width is None) == (count is None):
            raise ValueError("give width (seconds) or count (samples)")
        self.width = width
        self.count = count
        self._bucket: int | None = None
        self._first = -1.0  # t of the bucket's first sample (already sent)
        self._lo = (0.0, math.inf)  # (t, v)
        self._hi = (0.0, -math.inf)
        self._seen = 0  # samples pushed (count mode)

    def push(self, t: np.ndarray, v: np.ndarray) -> tuple[list[float], list[float]]:
        out_t: list[float] = []
        out_v: list[float] = []
        if not len(t):
            return out_t, out_v
        if self.width is not None:
            ids = np.floor(t / self.width).astype(np.int64)
        else:
            ids = (self._seen + np.arange(len(t))) // self.count
            self._seen += len(t)
        cuts = np.flatnonzero(np.diff(ids)) + 1
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(t)]):
            seg_t, seg_v = t[a:b], v[a:b]
            bucket = int(ids[a])
            if bucket != self._bucket:
                self._close(out_t, out_v)
                self._bucket = bucket
                self._first = float(seg_t[0])
                out_t.append(self._first)
                out_v.append(float(seg_v[0]))
                self._lo, self._hi = (0.0, math.inf), (0.0, -math.inf)
            finite = np.isfinite(seg_v)
            if finite.any():
                vals = np.where(finite, seg_v, np.nan)
                i, j = int(np.nanargmin(vals)), int(np.nanargmax(vals))
                if seg_v[i] < self._lo[1]:
                    self._lo = (float(seg_t[i]), float(seg_v[i]))
                if seg_v[j] > self._hi[1]:
                    self._hi = (float(seg_t[j]), float(seg_v[j]))
        return out_t, out_v

    def _close(self, out_t: list[float], out_v: list[float]) -> None:
        if self._bucket is None:
            return
        extremes = {p for p in (self._lo, self._hi) if math.isfinite(p[1]) and p[0] != self._first}
        for pt, pv in sorted(extremes):
            out_t.append(pt)
            out_v.append(pv)

    def flush(self) -> tuple[list[float], list[float]]:
        """Close the open bucket now (its extremes go out)."""
        out_t: list[float] = []
        out_v: list[float] = []
        self._close(out_t, out_v)
        self._bucket = None
        return out_t, out_v
