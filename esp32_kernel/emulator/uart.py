"""Pacing bytes as a UART carries them, so an emulated board's timings are a real one's."""

from __future__ import annotations

import asyncio
from typing import Callable

BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit
_MIN_WAKE_S = 0.001  # deliver in chunks of at least a millisecond's worth, not byte by byte
# asyncio's timers wake on whole milliseconds (epoll's resolution), up to 1 ms late. Waking
# half of that early and delivering the bytes due by then centres the error on zero.
_TIMER_SLACK_S = 0.0005


class UartLine:
    """One direction of a UART of `baud`: bytes written come out at the line's pace.

    A byte is delivered when its stop bit would have arrived (within half a millisecond, the
    event loop's timer resolution). The schedule lives on the
    loop's monotonic clock and each byte is due one byte time after the one before it (or
    after it was written, if the line was idle), so late timer wake-ups never add up to drift.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, baud: int, deliver: Callable[[bytes], None]):
        if baud <= 0:
            raise ValueError(f"baud must be positive, not {baud}")
        self._loop = loop
        self._byte_time = BITS_PER_BYTE / baud
        self._deliver = deliver
        self._queue = bytearray()
        self._head_starts_at = 0.0  # when the first queued byte starts on the line
        self._line_free_at = 0.0  # when the last byte sent so far has left the line
        self._timer: asyncio.TimerHandle | None = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._queue:
            self._head_starts_at = max(self._loop.time(), self._line_free_at)
        self._queue += data
        self._line_free_at = self._head_starts_at + len(self._queue) * self._byte_time
        if self._timer is None:
            self._schedule(self._loop.time())

    def clear(self) -> None:
        """Drop what is still on the line (the receiver went away)."""
        self._queue.clear()
        self._line_free_at = self._loop.time()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _release(self) -> None:
        self._timer = None
        now = self._loop.time()
        arrived = min(len(self._queue), int((now + _TIMER_SLACK_S - self._head_starts_at) / self._byte_time))
        if arrived:
            chunk = bytes(self._queue[:arrived])
            del self._queue[:arrived]
            self._head_starts_at += arrived * self._byte_time
            self._deliver(chunk)
        if self._queue and self._timer is None:
            self._schedule(now)

    def _schedule(self, now: float) -> None:
        # Wake when the next byte is in, but at most once a millisecond, and never after the
        # last queued byte is in: a short message arrives whole, on time.
        next_byte_in = self._head_starts_at + self._byte_time
        due = min(max(now + _MIN_WAKE_S, next_byte_in), self._line_free_at)
        self._timer = self._loop.call_at(due - _TIMER_SLACK_S, self._release)


class DirectLine:
    """An unpaced line: bytes are delivered as soon as they are written."""

    def __init__(self, deliver: Callable[[bytes], None]):
        self._deliver = deliver

    def write(self, data: bytes) -> None:
        if data:
            self._deliver(data)

    def clear(self) -> None:
        pass
