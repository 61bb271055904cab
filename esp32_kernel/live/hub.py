"""The kernel's live data: data records and plotted lines in, named series out.

`LiveData` takes ``D`` frames (`on_frame`) and the board's plain output text (`on_text`,
parsed only while line plotting is on), keeps the newest samples of every series in
bounded ring buffers, hands new samples to subscribers (live plots, widgets), and gives the
whole record as a pandas DataFrame or a CSV file.

Both entry points are called on the kernel's event loop during a device cell and from the
link's reader thread between cells: everything here takes one lock and stays quick.
Subscribers are called with that lock held and must only queue the data.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from . import records
from .frames import Frame
from .lines import LineSplitter, parse_line
from .store import SeriesBuffer

DEFAULT_CAPACITY = 100_000  # samples kept per series for DataFrames (≈ 2.4 MB a series)


class Subscriber(Protocol):
    def accept(self, name: str, t: np.ndarray, v: np.ndarray) -> None: ...


class LiveData:
    def __init__(self, capacity: int = DEFAULT_CAPACITY, wall: Callable[[], float] = time.time) -> None:
        self.capacity = capacity
        self.wall = wall
        self.timeline = records.Timeline(wall=wall)  # the board cells run on
        self.board_timelines: dict[str, records.Timeline] = {}  # named boards' (`%%on`)
        self.series: dict[str, SeriesBuffer] = {}
        self.lines_mode = "off"  # "off" | "cell" | "session": plot printed numeric lines?
        self.line_samples = 0
        self._splitter = LineSplitter()
        self._lock = threading.RLock()
        self._rows = 0  # host row numbers: one per sample (an emit() or a plotted line)
        self._subscribers: list[Subscriber] = []
        self.frames_seen = 0
        self.first_arrival = self.last_arrival = 0.0  # time.monotonic() of the first/last D frame

    # In -------------------------------------------------------------------------------------

    def on_frame(self, frame: Frame, source: str | None = None) -> None:
        """A ``D`` frame from the board cells run on, or from the board named `source`, whose
        series are named SOURCE.NAME (each board keeps its own sequence and clock)."""
        with self._lock:
            self.last_arrival = time.monotonic()
            if not self.first_arrival:
                self.first_arrival = self.last_arrival
            self.frames_seen += 1
            timeline = self.timeline if source is None else self.board_timelines.setdefault(source, records.Timeline(wall=self.wall))
            try:
                batch = records.decode(frame.payload)
            except records.RecordError:
                timeline.corrupt += 1
                return
            placed = timeline.place(batch)
            names = placed.names if source is None else tuple(f"{source}.{name}" for name in placed.names)
            self._add(names, placed.t, placed.values)

    def on_text(self, text: str) -> None:
        """Plain output text; its whole numeric lines become samples while lines_mode is on."""
        if self.lines_mode == "off":
            return
        with self._lock:
            now = self.wall()
            for line in self._splitter.feed(text):
                values = parse_line(line)
                if values:
                    self.line_samples += 1
                    names = tuple(values)
                    self._add(names, np.array([now]), np.array([list(values.values())], dtype=np.float64))

    def add(self, name: str, value: float) -> None:
        """One sample measured on this computer now (e.g. a value polled between cells)."""
        with self._lock:
            self._add((name,), np.array([self.wall()]), np.array([[value]], dtype=np.float64))

    def set_lines(self, mode: str) -> None:
        if mode not in ("off", "cell", "session"):
            raise ValueError("line plotting is 'off', 'cell' or 'session'")
        with self._lock:
            if mode != self.lines_mode:
                self._splitter.reset()
            self.lines_mode = mode

    def cell_ended(self) -> None:
        """A cell finished: line plotting switched on for that cell stops."""
        if self.lines_mode == "cell":
            self.set_lines("off")

    def _add(self, names: tuple[str, ...], t: np.ndarray, values: np.ndarray) -> None:
        n = len(t)
        rows = np.arange(self._rows, self._rows + n, dtype=np.int64)
        self._rows += n
        for column, name in enumerate(names):
            buffer = self.series.get(name)
            if buffer is None:
                buffer = self.series[name] = SeriesBuffer(self.capacity)
            v = np.ascontiguousarray(values[:, column])
            buffer.append(rows, t, v)
            for subscriber in self._subscribers:
                subscriber.accept(name, t, v)

    # Subscribers ----------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def history(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(t, value) of the samples kept for `name`, oldest first."""
        with self._lock:
            buffer = self.series.get(name)
            if buffer is None:
                return np.zeros(0), np.zeros(0)
            _, t, v = buffer.arrays()
            return t, v

    # Out ------------------------------------------------------------------------------------

    def names(self) -> list[str]:
        with self._lock:
            return list(self.series)

    def frame(self, *names: str):
        """The kept samples as a pandas DataFrame: a row per sample (an emit() call or a
        plotted line), index `time` (this computer's local time), column `t` (seconds since
        the first row), a column per series (NaN where a row has no value for it)."""
        import pandas as pd

        with self._lock:
            wanted = list(names) or list(self.series)
            unknown = [n for n in wanted if n not in self.series]
            if unknown:
                raise KeyError(f"no series {', '.join(map(repr, unknown))}; there are {', '.join(map(repr, self.series)) or 'none yet'}")
            parts = {name: self.series[name].arrays() for name in wanted}
        if not parts:
            return pd.DataFrame({"t": []}, index=pd.DatetimeIndex([], name="time"))
        all_rows = np.unique(np.concatenate([p[0] for p in parts.values()]))
        times = np.full(len(all_rows), np.nan)
        columns: dict[str, np.ndarray] = {}
        for name, (rows, t, v) in parts.items():
            at = np.searchsorted(all_rows, rows)
            times[at] = t
            column = np.full(len(all_rows), np.nan)
            column[at] = v
            columns[name] = column
        offset = time.localtime().tm_gmtoff
        index = pd.DatetimeIndex(pd.to_datetime((times + offset) * 1e9, unit="ns"), name="time")
        t0 = times[0] if len(times) else 0.0
        return pd.DataFrame({"t": times - t0, **columns}, index=index)

    def to_csv(self, path, *names: str) -> str:
        """Write the kept samples (all series, or `names`) to a CSV file; returns its path."""
        self.frame(*names).to_csv(path)
        return str(path)

    def clear(self) -> None:
        """Forget the kept samples and the counters (plots keep what they show)."""
        with self._lock:
            for buffer in self.series.values():
                buffer.clear()
            self.series.clear()
            self.timeline = records.Timeline(wall=self.wall)
            self.board_timelines.clear()
            self.line_samples = self.frames_seen = 0
            self.first_arrival = self.last_arrival = 0.0

    def summary(self) -> str:
        with self._lock:
            text = self.timeline.summary()
            if self.line_samples:
                text += f" · {self.line_samples:,} plotted lines"
            dropped = sum(b.dropped for b in self.series.values())
            if dropped:
                text += f" · oldest {dropped:,} values dropped (keeping {self.capacity:,} a series)"
            return text
