"""`live` in `%%host` cells: the board's live data, plots, and board calls between cells.

>>> p = live.plot("adc", window="10s")     # a live plot (shown when it is a cell's value)
>>> live.frame()                           # every series kept, as a pandas DataFrame
>>> live.to_csv("run.csv")
>>> live.lines("session")                  # plot printed `name:value` lines from now on
>>> live.summary()                         # samples, lost samples, gaps, restarts
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..board import BoardError
from .frames import DATA_KIND, Frame, OutputDemux, result_text

if TYPE_CHECKING:  # numpy, pandas and bokeh load with the first data or plot, not with the kernel
    from .hub import LiveData
    from .plot import LivePlot, Renderer

log = logging.getLogger(__name__)
FLUSH_CODE = "import nb\nnb.flush()"
BETWEEN_CELLS_TIMEOUT = 5.0


class BoardBusyNow(BoardError):
    """A cell is running on the board: nothing was sent."""


class Live:
    def __init__(self, kernel) -> None:
        self.kernel = kernel
        self._data: LiveData | None = None
        self._data_lock = threading.Lock()
        kernel.frame_handlers[DATA_KIND] = lambda frame, source: self.data.on_frame(frame, source)
        kernel.text_handlers.append(self._on_text)
        kernel.cells.subscribe(ended=self._after_cell)
        self._renderer: Renderer | None = None
        self._queue: list[tuple[str, Callable[[], object]]] = []
        self._queue_lock = threading.Lock()
        self.plots: list[LivePlot] = []
        self.rate = 20.0

    @property
    def data(self) -> LiveData:
        """The series, made at the first data frame or use: a kernel that never plots never
        loads numpy (a class's thirty kernels start that much sooner)."""
        if self._data is None:
            with self._data_lock:
                if self._data is None:
                    from .hub import LiveData

                    self._data = LiveData()
        return self._data

    def _on_text(self, text: str) -> None:
        if self._data is not None:  # no series yet: line plotting was never turned on
            self._data.on_text(text)

    # Plots ----------------------------------------------------------------------------------

    def plot(
        self,
        *names: str,
        window: float | str | None = 10.0,
        points: int | None = None,
        max_points: int = 2000,
        title: str | None = None,
        height: int = 300,
        lines: str | None = None,
    ) -> LivePlot:
        """A live plot of `names` (all series if none): a rolling `window` (seconds, or a
        text like '500ms', '2min') or the last `points` samples. `lines='cell'` or
        'session' also plots printed numeric lines (`temp:21.5,hum:40`, bare numbers)."""
        from .plot import LivePlot, _bokeh_loaded

        _bokeh_loaded()
        if lines:
            self.lines(lines)
        plot = LivePlot(self.data, names, window=window, points=points, max_points=max_points, title=title, height=height)
        self._renderer_now().add(plot)
        self.plots = [p for p in self.plots if not p.stopped] + [plot]
        return plot

    def _renderer_now(self) -> Renderer:
        if self._renderer is None:
            from .plot import Renderer

            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = asyncio.get_event_loop()
            self._renderer = Renderer(loop, self.rate)
        return self._renderer

    def stop(self) -> int:
        """Stop every live plot (each keeps what it shows); returns how many were stopped."""
        return self._renderer.stop_all() if self._renderer else 0

    def lines(self, mode: str = "session") -> str:
        """Plot printed numeric lines: 'cell' (until this cell ends), 'session', or 'off'."""
        self.data.set_lines(mode)
        return mode

    # The data -------------------------------------------------------------------------------

    def frame(self, *names: str):
        return self.data.frame(*names)

    def to_csv(self, path, *names: str) -> str:
        return self.data.to_csv(path, *names)

    def names(self) -> list[str]:
        return self.data.names()

    def summary(self) -> str:
        return self.data.summary()

    def clear(self) -> None:
        self.data.clear()

    def __repr__(self) -> str:
        names = ", ".join(self.data.names()) or "no series yet"
        return f"<live data: {names}; {self.summary()}>"

    # The board, between cells ---------------------------------------------------------------

    def cell_running(self) -> bool:
        """A cell's device code holds the board now (a `%%host` cell leaves it free)."""
        board = self.kernel.boards.board
        return self.kernel.device_code_running or bool(board and board.busy)

    def board_call(self, code: str, timeout: float = BETWEEN_CELLS_TIMEOUT) -> str | None:
        """Run `code` on the board now, between cells; the repr its `__r__(value)` call
        showed, if any. Data frames in its output feed the plots, text goes where the
        board's between-cells text goes. Raises BoardBusyNow while a cell runs."""
        if self.cell_running():
            raise BoardBusyNow("a cell is running on the board")
        board = self.kernel.boards.current(timeout=0.5)
        demux = OutputDemux()
        result: list[str] = []

        def on_output(stream: str, data: bytes) -> None:
            if stream != "stdout":
                return
            for piece in demux.feed(data):
                self._route(piece, result)

        try:
            board.run(code, on_output, timeout)
        finally:
            for piece in demux.flush():
                self._route(piece, result)
        return result[-1] if result else None

    def _route(self, piece, result: list[str]) -> None:
        if isinstance(piece, Frame):
            if piece.kind == "R":
                result.append(result_text(piece))
            else:
                self.kernel.dispatch_frame(piece)
        else:
            self.kernel._on_unsolicited(piece.encode())

    def when_free(self, description: str, action: Callable[[], object]) -> str | None:
        """Run `action` (which calls the board) now, or after the running cell if there is
        one. Returns None if it ran, else a message saying it is queued."""
        if not self.cell_running():
            try:
                action()
                return None
            except BoardBusyNow:  # a cell started meanwhile
                pass
        with self._queue_lock:
            self._queue.append((description, action))
            waiting = len(self._queue)
        return f"queued until the running cell ends: {description}" + (f" ({waiting} waiting)" if waiting > 1 else "")

    def _after_cell(self) -> None:
        data = self._data  # None: no data yet, so nothing to end or flush
        if data is not None:
            data.cell_ended()
        with self._queue_lock:
            queue, self._queue = self._queue, []
        for description, action in queue:
            try:
                action()
            except Exception as e:  # noqa: BLE001 - a widget action must not break the cell
                log.warning("queued board action %r failed: %s", description, e)
        if data is not None and data.frames_seen and not self.cell_running():
            # Samples emitted in the cell's last milliseconds wait in nb's batch: send them.
            board = self.kernel.boards.board
            if board is not None and board.connected:
                try:
                    self.board_call(FLUSH_CODE, timeout=2.0)
                except Exception as e:  # noqa: BLE001 - the data is late, not wrong
                    log.debug("nb.flush() after the cell failed: %s", e)
