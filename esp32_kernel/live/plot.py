"""Live Bokeh plots: a figure that follows the board's series while cells run and after.

A `LivePlot` subscribes to the kernel's `LiveData`; samples are decimated (min/max per
bucket, so peaks stay visible) as they arrive, on whichever thread brings them, and queued.
The `Renderer`, on the kernel's event loop, streams what is queued into the figure's data
sources a few times a second. Every ``ColumnDataSource.stream`` becomes three comm messages
(plain lists, not numpy arrays, so no binary buffers): the renderer keeps the total under
`MESSAGE_BUDGET` a second, well below jupyter_server's iopub limit (1000/s), by slowing down
when many series move at once.
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
import threading
import time
from collections.abc import Iterable

import numpy as np

from .hub import LiveData
from .store import Decimator

log = logging.getLogger(__name__)

MAX_RATE = 30.0  # renders a second: more is wasted on a browser
MESSAGES_PER_STREAM = 3  # jupyter_bokeh sends a patch as header, metadata, content
MESSAGE_BUDGET = 300  # comm messages a second, for all live plots together
STATUS_INTERVAL = 0.5  # seconds between updates of the text under a plot
MAX_LIVE_PLOTS = 6  # a newer plot stops the oldest one beyond this many


def _bokeh_loaded() -> None:
    """BokehJS must be in the page before a BokehModel can show: load it once, inline."""
    global _BOKEH_LOADED
    if not _BOKEH_LOADED:
        from bokeh.io import output_notebook
        from bokeh.resources import INLINE

        output_notebook(resources=INLINE, hide_banner=True)
        _BOKEH_LOADED = True


_BOKEH_LOADED = False


def parse_window(text: str | float | int) -> float:
    """Seconds from '10', '10s', '500ms', '2min'."""
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        t = text.strip().lower()
        for unit, scale in (("ms", 1e-3), ("min", 60.0), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
            if t.endswith(unit):
                seconds = float(t[: -len(unit)]) * scale
                break
        else:
            seconds = float(t)
    if not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"a window is a positive duration such as 10s or 500ms, not {text!r}")
    return seconds


class LivePlot:
    """A live line plot of some (or all) series. Show `.widget`; `.frame()` has its data."""

    def __init__(
        self,
        data: LiveData,
        names: Iterable[str] = (),
        *,
        window: float | str | None = 10.0,
        points: int | None = None,
        max_points: int = 2000,
        title: str | None = None,
        height: int = 300,
    ) -> None:
        from bokeh.layouts import column
        from bokeh.models import DataRange1d, Div
        from bokeh.palettes import Category10_10
        from bokeh.plotting import figure

        from .figure_widget import FigureWidget

        self.data = data
        self.names = list(names)
        self.max_points = max(30, int(max_points))
        self.points = int(points) if points else None
        self.window = None if self.points else parse_window(window if window is not None else 10.0)
        if self.points:
            self.rollover = min(self.points, self.max_points)
            self._bucket = {"count": 1 if self.points <= self.max_points else math.ceil(3 * self.points / self.max_points)}
        else:
            self.rollover = self.max_points
            self._bucket = {"width": self.window / (self.max_points / 3)}
        self._palette = Category10_10
        self._offset = time.localtime().tm_gmtoff  # the axis shows local time
        x_range = DataRange1d(follow="end", range_padding=0)
        if self.window:
            x_range.follow_interval = self.window * 1000
        self.figure = figure(
            title=title,
            height=height,
            sizing_mode="stretch_width",
            x_axis_type="datetime",
            x_range=x_range,
            tools="pan,xwheel_zoom,box_zoom,reset,save",
        )
        self.figure.xaxis.axis_label = "time (board clock)"
        self.status = Div(text="waiting for data…", styles={"font-size": "12px", "color": "#555"})
        self.layout = column(self.figure, self.status, sizing_mode="stretch_width")
        self.widget = FigureWidget(self.layout)  # its state is the figure now: views made later show it
        self.sources: dict = {}
        self._decimators: dict[str, Decimator] = {}
        self._pending: dict[str, tuple[list[float], list[float]]] = {}
        self._pushed: set[str] = set()  # series that got samples since the last render
        self._lock = threading.Lock()
        self._status_text = ""
        self._status_at = 0.0
        self.streamed = 0  # points sent to the figure
        self.stopped = False
        self._seed()
        data.subscribe(self)

    # Data in (any thread, LiveData's lock held) -------------------------------------------

    def accept(self, name: str, t: np.ndarray, v: np.ndarray) -> None:
        if self.stopped or (self.names and name not in self.names):
            return
        with self._lock:
            self._take(name, t, v)

    def _take(self, name: str, t: np.ndarray, v: np.ndarray) -> None:
        self._pushed.add(name)
        decimator = self._decimators.get(name)
        if decimator is None:
            decimator = self._decimators[name] = Decimator(**self._bucket)
        if self._bucket.get("count") == 1:
            out_t, out_v = t.tolist(), v.tolist()
        else:
            out_t, out_v = decimator.push(t, v)
        if out_t:
            pending = self._pending.setdefault(name, ([], []))
            pending[0].extend(out_t)
            pending[1].extend(out_v)
            if len(pending[0]) > 2 * self.rollover:  # the figure would drop them anyway
                del pending[0][: -self.rollover], pending[1][: -self.rollover]

    def _seed(self) -> None:
        """Start with the recent samples the kernel already holds."""
        for name in self.names or self.data.names():
            t, v = self.data.history(name)
            if self.window and len(t):
                keep = t >= t[-1] - self.window
                t, v = t[keep], v[keep]
            elif self.points:
                t, v = t[-self.points :], v[-self.points :]
            if len(t):
                with self._lock:
                    self._take(name, t, v)

    # Figure out (the event loop) ----------------------------------------------------------

    def pending_series(self) -> int:
        with self._lock:
            return len(self._pending)

    def render(self) -> int:
        """Stream what is queued into the figure; returns the number of stream calls."""
        with self._lock:
            # A series that went quiet shows its last bucket's peaks now, not when it resumes.
            for name, decimator in self._decimators.items():
                if name not in self._pushed:
                    out_t, out_v = decimator.flush()
                    if out_t:
                        pending = self._pending.setdefault(name, ([], []))
                        pending[0].extend(out_t)
                        pending[1].extend(out_v)
            self._pushed = set()
            taken, self._pending = self._pending, {}
        for name, (t, v) in taken.items():
            source = self.sources.get(name) or self._add_series(name)
            x = [(s + self._offset) * 1000.0 for s in t]
            y = [None if not math.isfinite(value) else value for value in v]
            source.stream({"x": x, "y": y}, rollover=self.rollover)
            self.streamed += len(x)
        self._update_status()
        return len(taken)

    def _add_series(self, name: str):
        from bokeh.models import ColumnDataSource

        source = ColumnDataSource({"x": [], "y": []}, name=name)
        colour = self._palette[len(self.sources) % len(self._palette)]
        self.figure.line("x", "y", source=source, legend_label=name, color=colour, line_width=1.5)
        self.figure.legend.location = "top_left"
        self.figure.legend.click_policy = "hide"
        self.sources[name] = source
        return source

    def _update_status(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._status_at < STATUS_INTERVAL:
            return
        self._status_at = now
        text = self.data.summary()
        if self.stopped:
            text += " · this plot is stopped"
        if text != self._status_text:
            self._status_text = text
            colour = "#c00" if self.data.timeline.lost or self.data.timeline.corrupt else "#555"
            self.status.text = f'<span style="color:{colour}">{html.escape(text)}</span>'

    def stop(self) -> None:
        """Stop following the data (the figure keeps what it shows)."""
        self.stopped = True
        self.data.unsubscribe(self)
        self._update_status(force=True)

    # The data behind it --------------------------------------------------------------------

    def frame(self):
        """This plot's series, as kept by the kernel (not decimated), as a DataFrame."""
        names = self.names or list(self.sources) or self.data.names()
        return self.data.frame(*[n for n in names if n in self.data.series])

    def to_csv(self, path) -> str:
        self.frame().to_csv(path)
        return str(path)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class Renderer:
    """Renders every live plot on the kernel's event loop, at most `rate` times a second."""

    def __init__(self, loop: asyncio.AbstractEventLoop, rate: float = 20.0) -> None:
        self.loop = loop
        self.rate = min(MAX_RATE, max(1.0, rate))
        self.plots: list[LivePlot] = []
        self._handle: asyncio.TimerHandle | None = None
        self.ticks = 0

    def add(self, plot: LivePlot) -> None:
        self.plots.append(plot)
        while len([p for p in self.plots if not p.stopped]) > MAX_LIVE_PLOTS:
            oldest = next(p for p in self.plots if not p.stopped)
            oldest.stop()
        self.plots = [p for p in self.plots if not p.stopped]
        if self._handle is None:
            self._handle = self.loop.call_soon_threadsafe(self._tick)

    def stop_all(self) -> int:
        plots, self.plots = self.plots, []
        for plot in plots:
            plot.render()
            plot.stop()
        return len(plots)

    def _tick(self) -> None:
        self._handle = None
        streams = 0
        for plot in list(self.plots):
            try:
                streams += plot.render()
            except Exception:  # one broken plot must not stop the others
                log.exception("live plot render failed")
                plot.stop()
        self.plots = [p for p in self.plots if not p.stopped]
        self.ticks += 1
        if not self.plots:
            return
        # Slow down when many series move: stay within the message budget.
        interval = max(1.0 / self.rate, streams * MESSAGES_PER_STREAM / MESSAGE_BUDGET)
        self._handle = self.loop.call_later(interval, self._tick)
