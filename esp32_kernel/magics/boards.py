"""%%on and %boards: one cell on several boards at once (a teacher's cell on every bench).

Boards are connected under names with `%connect --name a PORT`; `default` is the board
unmarked cells run on. `%%on a b` starts the cell on each board at the same time and shows
their output as it comes, each line labelled with its board.
"""

from __future__ import annotations

import queue
import sys
import threading

from IPython.core.magic import cell_magic, line_magic, magics_class

from ..board import BoardError
from ..errors import magic_failed, parse_exception
from ..cells import with_result
from ..live.frames import Frame, OutputDemux, result_text
from ..session import DEFAULT_NAME
from .base import KernelMagics, MagicParser, MagicUsageError, parse_line

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
        """%%on NAME… | --all — run the cell on each named board at once; output labelled by board.
        --all means every board connected with --name ('default' names the usual board)."""
        args = parse_line(_on, line)
        self.kernel.wait_for_start_up()
        sessions = self.kernel.boards
        names = list(dict.fromkeys(args.names + (list(sessions.named) if args.all else [])))
        if not names:
            raise MagicUsageError("name the boards (%%on a b) or use --all; %connect --name a PORT connects one")
        boards = {name: sessions.board_named(name) for name in names}
        failures = run_on(boards, cell)
        if failures:
            raise magic_failed("on", "BoardsFailed", "; ".join(f"{name}: {why}" for name, why in failures.items()))


def run_on(boards: dict, cell: str, out=None) -> dict[str, str]:
    """Run `cell` on every board at once, printing labelled output; {name: why} of those that failed."""
    out = out or sys.stdout
    width = max(len(name) for name in boards)
    labels = {name: f"[{name}]".ljust(width + 2) + " " for name in boards}
    feed: queue.Queue = queue.Queue()
    code = with_result(cell)
    executions, failures, results = {}, {}, {}
    demuxes = {name: OutputDemux() for name in boards}
    partial = {name: "" for name in boards}

    def write(name: str, text: str, end: bool = False) -> None:
        text = partial[name] + text.replace("\r\n", "\n")
        *lines, partial[name] = text.split("\n")
        if end and partial[name]:
            lines.append(partial[name])
            partial[name] = ""
        for text_line in lines:
            out.write(labels[name] + text_line + "\n")

    for name, board in boards.items():
        try:
            executions[name] = board.start(
                code,
                lambda stream, data, n=name: feed.put((n, stream, data)),
                lambda _, n=name: feed.put((n, None, None)),
            )  # fmt: skip
        except BoardError as e:
            failures[name] = str(e)
            write(name, f"{e}\n")
    pending = set(executions)
    while pending:
        try:
            try:
                name, stream, data = feed.get(timeout=0.1)
            except queue.Empty:
                continue
        except KeyboardInterrupt:  # Jupyter's stop button: stop every board
            for name in pending:
                threading.Thread(target=boards[name].stop, args=(executions[name],), daemon=True).start()
            continue
        if stream is None:
            pending.discard(name)
            pieces = demuxes[name].flush()
        elif stream == "stdout":
            pieces = demuxes[name].feed(data)
        else:
            continue  # stderr: the traceback, shown once the board is done
        for piece in pieces:
            if isinstance(piece, Frame):
                if piece.kind == "R":
                    results[name] = result_text(piece)
            else:
                write(name, piece)
        if stream is None:
            write(name, "", end=True)
            out.flush()
    for name, execution in executions.items():
        if execution.lost:
            failures[name] = f"LinkLost: {execution.lost}"
        elif execution.rebooted:
            failures[name] = f"BoardReset: the board rebooted ({execution.rebooted})"
        elif execution.error:
            write(name, execution.error, end=True)
            ename, evalue = parse_exception(execution.error)
            failures[name] = f"{ename}: {evalue}" if evalue else ename
        elif name in results:
            write(name, f"Out: {results[name]}", end=True)
    out.flush()
    return failures
