"""%%on and %boards: one cell on several boards at once (a teacher's cell on every bench).

Boards are connected under names with `%connect --name a PORT`; `default` is the board
unmarked cells run on. `%%on a b` starts the cell on each board at the same time and shows
their output as it comes, each line labelled with its board.
"""

from __future__ import annotations

import asyncio
import sys

from IPython.core.magic import cell_magic, line_magic, magics_class

from ..board import Board, BoardError
from ..cells import parse_cell, with_result
from ..errors import magic_failed, parse_exception
from ..live.api import FLUSH_CODE
from ..live.frames import Frame, OutputDemux, result_text
from ..session import DEFAULT_NAME
from .base import KernelMagics, MagicParser, MagicUsageError, failures_as_cell_errors, parse_line

_on = MagicParser(prog="on", add_help=False)
_on.add_argument("names", nargs="*")
_on.add_argument("--all", action="store_true")


@magics_class
class BoardsMagics(KernelMagics):
    @line_magic
    def boards(self, line: str) -> None:
        """%boards — the connected boards and their names."""
        sessions = self.kernel.boards
        print(f"{DEFAULT_NAME:<10} {sessions.description}  (unmarked cells run here)")
        for name, board in sessions.named.items():
            state = "connected" if board.connected else f"lost: {board.lost}"
            print(f"{name:<10} {board.port} ({board.baud} baud), {state}")
        if not sessions.named:
            print("(no named boards: %connect --name NAME PORT adds one; %%on NAME runs a cell there)")

    @cell_magic
    def on(self, line: str, cell: str) -> None:
        """%%on NAME… | --all — run the cell on each named board at once; output labelled by board,
        emit()ed series named BOARD.NAME. --all means every board connected with --name
        ('default' names the usual board). The stop button stops it on every board."""
        # A cell that starts with %%on never comes here: the kernel awaits run_on_boards
        # (cells.route_cell), so widgets stay live while it runs.
        raise MagicUsageError("%%on must be the first line of its cell")


async def run_on_boards(kernel, line: str, cell: str) -> None:
    """`%%on LINE`: run `cell` on each named board at once, streaming labelled output into
    the cell; fails the cell if any board failed."""
    boards = failures_as_cell_errors("on", _boards_named)(kernel, line)
    with kernel.interruptible():
        failures = await _run_on(kernel, boards, cell)
    if failures:
        raise magic_failed("on", "BoardsFailed", "; ".join(f"{name}: {why}" for name, why in failures.items()))


def _boards_named(kernel, line: str) -> dict[str, Board]:
    args = parse_line(_on, line)
    kernel.wait_for_start_up()
    sessions = kernel.boards
    names = list(dict.fromkeys(args.names + (list(sessions.named) if args.all else [])))
    if not names:
        raise MagicUsageError("name the boards (%%on a b) or use --all; %connect --name a PORT connects one")
    return {name: sessions.board_named(name) for name in names}


async def _run_on(kernel, boards: dict[str, Board], cell: str) -> dict[str, str]:
    """Run `cell` on every board at once: text as labelled lines, data frames to the live
    plots as that board's series; {name: why} of the boards that failed."""
    loop = asyncio.get_running_loop()
    feed: asyncio.Queue = asyncio.Queue()
    out = _LabelledLines(boards)
    code = with_result(cell, parse_cell(cell))
    executions, failures, results = {}, {}, {}
    demuxes = {name: OutputDemux() for name in boards}

    def callbacks(name: str):
        return (lambda stream, data: loop.call_soon_threadsafe(feed.put_nowait, (name, stream, data)),
                lambda _: loop.call_soon_threadsafe(feed.put_nowait, (name, None, None)))  # fmt: skip

    for name, board in boards.items():
        try:
            executions[name] = board.start(code, *callbacks(name))
        except BoardError as e:
            failures[name] = str(e)
            out.write(name, f"{e}\n", end=True)
    running = dict(executions)  # each board's execution now: its cell, then maybe a flush
    sent_data: set[str] = set()  # boards that emit()ted: their last batch is flushed at the end
    flushed: set[str] = set()
    stopped = False
    while running:
        try:
            name, stream, data = await feed.get()
        except asyncio.CancelledError:  # the stop button: stop it on every board, then hear them end
            stopped = True
            await asyncio.gather(*(asyncio.to_thread(boards[n].stop, e) for n, e in running.items()))
            continue
        if stream is None:
            pieces = demuxes[name].flush()
        elif stream == "stdout":
            pieces = demuxes[name].feed(data)
        else:
            continue  # stderr: the traceback, shown once the board is done
        for piece in pieces:
            if not isinstance(piece, Frame):
                out.write(name, piece)
            elif piece.kind == "R":
                results[name] = result_text(piece)
            else:
                sent_data.add(name)
                kernel.dispatch_frame(piece, source=name)
        if stream is None:
            out.write(name, "", end=True)
            running.pop(name)
            cell_run = executions[name]
            if name in sent_data and name not in flushed and not (stopped or cell_run.lost or cell_run.rebooted):
                flushed.add(name)
                try:  # samples emitted in the cell's last milliseconds wait in nb's batch
                    running[name] = boards[name].start(FLUSH_CODE, *callbacks(name))
                except BoardError:
                    pass
    for name, execution in executions.items():
        if execution.lost:
            failures[name] = f"LinkLost: {execution.lost}"
        elif execution.rebooted:
            failures[name] = f"BoardReset: the board rebooted ({execution.rebooted})"
        elif execution.error:
            out.write(name, execution.error, end=True)
            ename, evalue = parse_exception(execution.error)
            failures[name] = f"{ename}: {evalue}" if evalue else ename
        elif name in results:
            out.write(name, f"Out: {results[name]}", end=True)
    return failures


class _LabelledLines:
    """Each board's text as whole lines on this cell's stdout, each starting with [NAME]."""

    def __init__(self, names) -> None:
        width = max(len(name) for name in names)
        self.labels = {name: f"[{name}]".ljust(width + 2) + " " for name in names}
        self.partial = {name: "" for name in names}

    def write(self, name: str, text: str, end: bool = False) -> None:
        text = self.partial[name] + text.replace("\r\n", "\n")
        *lines, self.partial[name] = text.split("\n")
        if end and self.partial[name]:
            lines.append(self.partial[name])
            self.partial[name] = ""
        for line in lines:
            sys.stdout.write(self.labels[name] + line + "\n")
