"""%plot, %gpio, %adc, %bench, %wifi: live data from the board, as plots and widgets."""

from __future__ import annotations

import argparse

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from ..live.api import Live
from .connection import _parse, _Parser

_plot = _Parser(prog="plot", add_help=False)
_plot.add_argument("names", nargs="*", help="series to plot (all if none)")
_plot.add_argument("--window", default="10s", help="rolling window: 10s, 500ms, 2min")
_plot.add_argument("--points", type=int, default=None, help="show the last N samples instead of a time window")
_plot.add_argument("--max-points", type=int, default=2000, help="points drawn per series at most (min/max decimation)")
_plot.add_argument("--lines", nargs="?", const="cell", choices=["cell", "session", "off"],
                   help="also plot printed numeric lines (temp:21.5,hum:40 or bare numbers): this cell or the session")
_plot.add_argument("--title", default=None)
_plot.add_argument("--height", type=int, default=300)
_plot.add_argument("--stop", action="store_true", help="stop every live plot")
_plot.add_argument("--csv", metavar="FILE", default=None, help="save the series kept (all, or NAMEs) to FILE")
_plot.add_argument("--summary", action="store_true", help="samples received, lost, gaps, restarts")


@magics_class
class LiveMagics(Magics):
    def __init__(self, shell, kernel) -> None:
        super().__init__(shell)
        self.kernel = kernel
        self.live = Live(kernel)
        shell.user_ns["live"] = self.live
        kernel.live = self.live

    @line_magic
    def plot(self, line: str) -> None:
        """%plot [NAME…] [--window 10s | --points N] [--lines [cell|session]] — a live plot of the
        board's series (from `from nb import emit; emit(name=value)`), updated while cells run.

        --max-points N   points drawn per series at most; peaks survive decimation
        --title T, --height PX
        --stop           stop every live plot;  --csv FILE [NAME…]  save the data;  --summary
        In %%host cells: live.plot(...), live.frame() (a DataFrame), live.to_csv(path).
        """
        args = _parse(_plot, line)
        if args is None:
            return
        live = self.live
        if args.stop:
            print(f"Stopped {live.stop()} live plot(s).")
            return
        if args.csv:
            try:
                path = live.to_csv(args.csv, *args.names)
            except KeyError as e:
                print(f"%plot: {e.args[0]}")
                return
            print(f"Saved {len(live.frame(*args.names)):,} rows to {path}.")
            return
        if args.summary:
            print(live.summary())
            return
        if args.lines == "off":
            live.lines("off")
        try:
            plot = live.plot(
                *args.names,
                window=None if args.points else args.window,
                points=args.points,
                max_points=args.max_points,
                title=args.title,
                height=args.height,
                lines=args.lines if args.lines != "off" else None,
            )
        except ValueError as e:
            print(f"%plot: {e}")
            return
        display(plot.widget)
