"""%reset [--hard] and %safe: restarting the board, and rescuing one whose main.py won't stop.

IPython's own %reset (clearing the host namespace) stays reachable as %host_reset.
"""

from __future__ import annotations

import time

from IPython.core.magic import line_magic, magics_class

from ..board import BoardError
from ..link.serial_link import DEFAULT_BAUD
from ..recovery import DISABLED_NAME, RecoveryError, safe_boot
from .base import KernelMagics, MagicParser, MagicUsageError, parse_line

RESET_PATIENCE = 15.0  # seconds for a board to come back after a hard reset
MARKER = "__ek_before_reset__"

_reset = MagicParser(prog="reset", add_help=False)
_reset.add_argument("--hard", action="store_true")
_safe = MagicParser(prog="safe", add_help=False)
_safe.add_argument("port", nargs="?")
_safe.add_argument("--baud", type=int, default=None)
_safe.add_argument("--rename", action="store_true")


@magics_class
class ResetMagics(KernelMagics):
    def __init__(self, shell, kernel) -> None:
        super().__init__(shell, kernel)
        from IPython.core.magics.namespace import NamespaceMagics  # IPython loads it lazily

        namespace = shell.magics_manager.registry.get("NamespaceMagics") or NamespaceMagics(shell)
        shell.register_magic_function(namespace.reset, "line", "host_reset")
        self._last: tuple[str, int] | None = None  # the port %safe rescues when no board is connected

    @line_magic
    def reset(self, line: str) -> None:
        """%reset [--hard] — soft reset (MicroPython restarts, boot.py runs; RAM is cleared), or
        --hard: reset the chip (RTS/EN, the emulator's reset, else machine.reset()), main.py runs.
        Reconnects afterwards. (IPython's %reset of the host namespace is %host_reset.)"""
        args = parse_line(_reset, line)
        self.kernel.wait_for_start_up()
        if args.hard:
            how = self._hard_reset()
            print(f"Hard reset ({how}): the board rebooted, ran boot.py and main.py, and is back at its prompt.")
        else:
            self.kernel.boards.current().soft_reset()
            print("Soft reset: MicroPython restarted (boot.py ran again; the board's variables are gone).")
        self.kernel.show_notices()  # what it printed while booting

    def _hard_reset(self) -> str:
        sessions = self.kernel.boards
        board = sessions.current()
        board.exec(f"{MARKER} = 1")  # gone once the board has really restarted
        try:
            board.hard_reset()
            how = "the emulator's reset line" if sessions.emulator else "RTS on the EN pin"
        except BoardError:
            board.start("import machine\nmachine.reset()")
            how = "machine.reset(), as the link has no reset line"
        deadline = time.monotonic() + RESET_PATIENCE
        while True:
            try:
                if sessions.current(timeout=2).eval(f"{MARKER!r} in globals()", timeout=5) is False:
                    return how
            except BoardError:
                pass  # rebooting, or the link is coming back (a native-USB board re-enumerates)
            if time.monotonic() > deadline:
                raise BoardError(f"the board did not come back within {RESET_PATIENCE:.0f} s of the reset — try %safe")
            time.sleep(0.1)

    @line_magic
    def safe(self, line: str) -> None:
        """%safe [PORT] [--rename] [--baud N] — stop a main.py that loops or crashes at boot: reset the
        board and interrupt it while it boots; --rename also renames main.py to main.py.disabled."""
        args = parse_line(_safe, line)
        self.kernel.wait_for_start_up()
        self.kernel.show_notices()  # what the board printed before the rescue (a reboot loop, a traceback)
        sessions = self.kernel.boards
        board = sessions.board
        if board is not None:
            self._last = (board.port, board.baud)
        elif sessions.emulator is not None:
            self._last = (sessions.emulator.url, self._last[1] if self._last else DEFAULT_BAUD)
        port = args.port or (self._last[0] if self._last else None)
        if port is None:
            raise MagicUsageError("which board? %safe PORT (see %ports)")
        baud = args.baud or (self._last[1] if self._last and self._last[0] == port else DEFAULT_BAUD)
        self._last = (port, baud)
        emulated = sessions.emulator is not None and sessions.emulator.url == port
        hard_reset = sessions.emulator.hard_reset if emulated else None
        if board is not None and board.port == port:
            sessions.release()
        error = None
        try:
            result = safe_boot(port, baud, hard_reset, rename=args.rename, ask_for_button=print)
        except RecoveryError as e:
            error = e
        try:
            message = sessions.connect(port, baud, hard_reset=hard_reset)
        except BoardError as e:
            if error is None:
                raise
            message = f"Could not reconnect: {e}"
        if error is not None:
            print(message)
            raise error
        said = [s.strip() for s in result.said.replace("\r", "").split("\n")]
        said = [s for s in said if s and s != ">>>" and not s.startswith(("MicroPython v", 'Type "help()"'))]
        print("Stopped the board while it booted" + (f" (its last words: {said[-1]})" if said else "") + ".")
        if result.renamed:
            print(f"Renamed main.py to {DISABLED_NAME}: it will not run at the next boot (rename it back to re-enable it).")
        elif result.renamed is False:
            print("There was no main.py to rename.")
        print(message)
