"""%connect, %disconnect, %ports: choosing the board the cells run on."""

from __future__ import annotations

from dataclasses import replace

from IPython.core.magic import cell_magic, line_magic, magics_class

from ..board import AccessDenied
from ..config import EMULATOR, resolve_target
from ..link import ports
from ..link.serial_link import DEFAULT_BAUD
from ..link.webrepl_link import Secret, is_webrepl_url
from .base import KernelMagics, MagicParser, MagicUsageError, parse_line


_connect = MagicParser(prog="connect", add_help=False)
_connect.add_argument("port", nargs="?", default=None,
                      help="a serial port (/dev/ttyUSB0, COM3), a URL (socket://, rfc2217://, ws:// for WebREPL) or 'emulator';"
                           " none: the board this kernel is configured for (ESP32_KERNEL_PORT, esp32_kernel.json, the one plugged in)")
_connect.add_argument("--baud", type=int, default=None)
_connect.add_argument("--name", default=None, help="connect another board under this name, for %%on")
_connect.add_argument("--air", default=None, help="emulator only: the air its radio is in (boards in one air hear each other's ESP-NOW)")
_disconnect = MagicParser(prog="disconnect", add_help=False)
_disconnect.add_argument("--name", default=None)


@magics_class
class ConnectionMagics(KernelMagics):
    @line_magic
    def connect(self, line: str) -> None:
        """%connect [PORT|URL|emulator] [--baud N] [--name NAME] [--air AIR] — run the next cells on
        that board; with no port, on the board this kernel is configured for (as at its start: a
        hub's assigned board, esp32_kernel.json, the one plugged in, else the emulator); with
        --name, connect another board under that name (%%on NAME runs a cell there: `%connect
        --name b emulator` starts a second emulated board). --air puts emulated boards in that
        air: boards in one air hear each other's ESP-NOW (the kernel's boards share one)."""
        args = parse_line(_connect, line)
        if args.port is None and args.name is not None:
            raise MagicUsageError("--name needs a port or URL: %connect --name bench1 rfc2217://lab-server:4001")
        if args.baud is not None and args.baud <= 0:
            raise MagicUsageError("--baud must be a positive number such as 115200")
        if args.name is not None and (not args.name.isidentifier() or args.name == "default"):
            raise MagicUsageError("--name takes a short name such as bench1 (not 'default')")
        if args.air is not None and args.port != EMULATOR:
            raise MagicUsageError("--air is for emulated boards: %connect emulator --air lab2")
        # The start-up connection may still be under way; let it land before replacing it.
        self.kernel.wait_for_start_up()
        self.kernel.show_notices()  # about the board being left (the start-up's choice), said before it goes
        sessions = self.kernel.boards
        if args.name is None:
            self.kernel.password_wanted = None  # the configured WebREPL's password is not asked for now
        if args.port is None:
            target = resolve_target()
            print(sessions.connect_target(replace(target, baud=args.baud) if args.baud else target))
            return
        if args.port == EMULATOR:
            print(sessions.connect_emulator(args.baud, name=args.name, air=args.air))
            return
        password, source = self._password_for(args.port)
        try:
            print(sessions.connect(args.port, args.baud or DEFAULT_BAUD, name=args.name, password=password))
        except AccessDenied as e:
            if source in ("", "typed"):
                raise
            raise AccessDenied(f"{e} (the password came from {source})") from None

    def _password_for(self, port: str) -> tuple[Secret | None, str]:
        return self.kernel.webrepl_password(port) if is_webrepl_url(port) else (None, "")

    @cell_magic
    def host(self, line: str, cell: str) -> None:
        """%%host — the cell runs as Python on this computer (IPython), not on the board.

        The kernel routes such cells before magics run; this makes `%%host?` and
        `%lsmagic` show it, and runs the code when the magic is called directly."""
        self.shell.run_cell(cell, store_history=False)

    @line_magic
    def disconnect(self, line: str) -> None:
        """%disconnect [--name NAME] — close the link (and stop the emulator if it was ours)."""
        args = parse_line(_disconnect, line)
        if args.name is None:
            self.kernel.password_wanted = None
        print(self.kernel.boards.disconnect(args.name))

    @line_magic
    def ports(self, line: str) -> None:
        """%ports — serial ports on this computer; likely ESP32 boards first."""
        found = ports.list_serial_ports()
        if not found:
            print("No serial ports found. %connect emulator runs the emulated ESP32.")
        for port in found:
            mark = f"ESP32? ({port.bridge})" if port.bridge else ""
            print(f"{port.device:<20} {port.vid_pid:<10} {port.description}  {mark}".rstrip())
        print(f"Now: {self.kernel.boards.description}")
