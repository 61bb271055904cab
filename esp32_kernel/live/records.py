"""Data records: the payload of a ``D`` frame, and the bookkeeping that makes a timeline of them.

The board's `nb.emit` (esp32_kernel/device/kernel_helpers.py) sends a batch of samples as one
frame ``\\x1eD`` payload ``\\x1f``, payload in ASCII::

    <seq> <t0> <names>;<dt>,<v1>,<v2>…;<dt>,<v1>,<v2>…

- ``seq``: the sequence number of the batch's first sample (the next ones follow it);
- ``t0``: the board's ``time.ticks_us()`` at that sample, masked to 30 bits;
- ``names``: the series, comma-separated (empty: positional values, ``value 1``, ``value 2``…);
- per sample: microseconds since the sample before (0 for the first), then its values as
  MicroPython's ``str()`` writes them (``None`` and text that is not a number become NaN,
  ``True``/``False`` 1/0).

`Timeline` turns batches into host rows: times unwrapped past the 30-bit wrap (17.9 min),
anchored to this computer's clock, and sequence gaps and board restarts counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


TICKS_PERIOD_US = 1 << 30  # t0 is sent masked to 30 bits (ESP32's ticks period)


class RecordError(ValueError):
    """A data frame that does not parse (counted as corrupt, never shown as text)."""


@dataclass(frozen=True, eq=False)
class Batch:
    seq: int
    t0_us: int
    names: tuple[str, ...]
    dt_us: np.ndarray  # int64, one per sample; the first is 0
    values: np.ndarray  # float64, shape (samples, len(names))

    def __len__(self) -> int:
        return len(self.dt_us)


def positional_names(count: int) -> tuple[str, ...]:
    return tuple(f"value {i}" for i in range(1, count + 1))


_SPECIAL = {b"None": np.nan, b"True": 1.0, b"False": 0.0, b"": np.nan}


def _number(text: bytes) -> float:
    special = _SPECIAL.get(text)
    if special is not None:
        return special
    try:
        return float(text)
    except ValueError:
        return np.nan


def decode(payload: bytes) -> Batch:
    """The batch in a ``D`` frame's payload (the bytes after the kind letter)."""
    head, sep, body = payload.partition(b";")
    parts = head.split(b" ")
    if not sep or len(parts) != 3 or not body:
        raise RecordError(f"not a data record: {payload[:40]!r}")
    try:
        seq, t0 = int(parts[0]), int(parts[1])
    except ValueError:
        raise RecordError(f"bad record header: {head[:40]!r}") from None
    names_text = parts[2].decode("ascii", errors="replace")
    rows = body.split(b";")
    width = rows[0].count(b",")  # values per sample
    if width < 1 or any(row.count(b",") != width for row in rows):
        raise RecordError(f"samples of unequal width in a record: {payload[:40]!r}")
    names = tuple(names_text.split(",")) if names_text else positional_names(width)
    if len(names) != width:
        raise RecordError(f"{len(names)} names for {width} values: {payload[:40]!r}")
    fields = b",".join(rows).split(b",")
    try:
        table = np.array(fields, dtype=np.float64).reshape(len(rows), width + 1)
    except ValueError:  # None, True/False, or garbage somewhere: the slow path
        table = np.array([_number(f) for f in fields], dtype=np.float64).reshape(len(rows), width + 1)
    dt = table[:, 0]
    if not np.all(np.isfinite(dt)) or np.any(dt < 0):
        raise RecordError(f"bad sample times in a record: {payload[:40]!r}")
    return Batch(seq, t0 % TICKS_PERIOD_US, names, dt.astype(np.int64), table[:, 1:])


def encode(seq: int, t0_us: int, names: tuple[str, ...] | list[str], rows: list[tuple]) -> bytes:
    """A ``D`` frame as the board writes it (delimiters included): for tests and benches.

    `rows` are (dt_us, value, …) tuples; values are written with MicroPython's str() forms.
    """
    def text(v) -> str:
        if isinstance(v, float) and v == int(v) and abs(v) < 1e16:
            return repr(v)  # 2.0, as MicroPython writes it
        return str(v)

    samples = ";".join(",".join(text(v) for v in row) for row in rows)
    return f"\x1eD{seq} {t0_us % TICKS_PERIOD_US} {','.join(names)};{samples}\x1f".encode()


@dataclass
class Placed:
    """A batch placed on the host's timeline."""

    names: tuple[str, ...]
    seq: np.ndarray  # int64: the board's sequence numbers
    t: np.ndarray  # float64: seconds, this computer's clock (time.time()), from board ticks
    values: np.ndarray  # float64, (samples, names)
    lost: int = 0  # samples missing just before this batch
    restarted: bool = False  # the board's sequence started again (reboot, new helpers)


@dataclass
class Timeline:
    """Places batches in time and counts what went missing.

    The first batch (and the first after a restart) is anchored to this computer's clock
    when it arrives; later ones follow the board's own clock from there, so the spacing of
    samples is the board's, not the link's.
    """

    wall: callable = time.time
    received: int = 0  # samples
    lost: int = 0  # samples the sequence numbers say never arrived
    restarts: int = 0
    corrupt: int = 0  # frames that did not parse
    gap_count: int = 0
    gaps: list[tuple[float, int]] = field(default_factory=list)  # (time, samples lost), last 100
    _next_seq: int | None = None
    _anchor: tuple[float, int] | None = None  # (host time, board µs, unwrapped) of one sample
    _last_us: int = 0  # unwrapped board µs of the newest sample
    _last_wall: float = 0.0

    def place(self, batch: Batch) -> Placed:
        now = self.wall()
        n = len(batch)
        lost, restarted = 0, False
        if self._next_seq is not None and batch.seq != self._next_seq:
            if batch.seq > self._next_seq:
                lost = batch.seq - self._next_seq
                self.lost += lost
                self.gap_count += 1
                self.gaps.append((now, lost))
                del self.gaps[:-100]
            else:
                restarted = True
                self.restarts += 1
        self._next_seq = batch.seq + n
        self.received += n
        if self._anchor is None or restarted:
            start = batch.t0_us
            self._anchor = (now, start)
        else:
            step = (batch.t0_us - self._last_us) % TICKS_PERIOD_US
            quiet = now - self._last_wall  # host seconds since the last batch
            if quiet * 1e6 > TICKS_PERIOD_US / 2:  # the ticks may have wrapped more than once
                step += round((quiet * 1e6 - step) / TICKS_PERIOD_US) * TICKS_PERIOD_US
            start = self._last_us + step
        offsets = np.cumsum(batch.dt_us)
        board_us = start + offsets
        self._last_us = int(board_us[-1])
        self._last_wall = now
        anchor_wall, anchor_us = self._anchor
        t = anchor_wall + (board_us - anchor_us) / 1e6
        seq = np.arange(batch.seq, batch.seq + n, dtype=np.int64)
        return Placed(batch.names, seq, t, batch.values, lost, restarted)

    def summary(self) -> str:
        parts = [f"{self.received:,} samples", f"{self.lost:,} lost in {self.gap_count} gap{'s' * (self.gap_count != 1)}"]
        if self.restarts:
            parts.append(f"{self.restarts} restart{'s' * (self.restarts != 1)}")
        if self.corrupt:
            parts.append(f"{self.corrupt} corrupt record{'s' * (self.corrupt != 1)}")
        return " · ".join(parts)
