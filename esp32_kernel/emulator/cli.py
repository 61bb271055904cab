"""`python -m esp32_kernel.emulator`: serve one emulated ESP32 board until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..chip import board_profile
from .board_folder import default_board_dir
from .process import ANNOUNCE_CONTROL, ANNOUNCE_PTY, ANNOUNCE_RFC2217, ANNOUNCE_URL, ANNOUNCE_WEBSERIAL, CORE_ENV, EmulatorError, choose_core

if TYPE_CHECKING:
    from .supervisor import Supervisor


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m esp32_kernel emulator",
        description="Serve an emulated ESP32 running MicroPython at socket://HOST:PORT, "
        "reachable like a board on a serial port (mpremote, Thonny, the esp32-kernel).",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port to serve the board on (0, the default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--baud", type=int, default=None, help="pace the link as a UART of this speed (default: unpaced)")
    parser.add_argument("--board-dir", type=Path, default=None, help="the folder holding the board's flash, whose LittleFS is the board's / (see `files`; default: Jupyter data dir/esp32-kernel/boards/default)")
    parser.add_argument("--board", default=None, help="the board profile: " + ", ".join(board_profile.available()) + " (default esp32-devkitc), or a profile's JSON file")
    parser.add_argument("--pty", action="store_true", help="also serve the board on a pseudo-terminal (POSIX)")
    parser.add_argument("--rfc2217", action="store_true", help="also serve the board over RFC 2217, whose DTR/RTS reset it as a board's auto-reset circuit does (esptool)")
    parser.add_argument("--webserial", action="store_true", help="also serve the board as a WebSocket carrying the serial line and its DTR/RTS, as a browser's Web Serial port would (tests of the lab extension's 'Connect a board on this computer')")
    parser.add_argument("--webrepl-port", type=int, default=None, help="serve the board's WebREPL on this TCP port instead of the one webrepl.start() asks for (0: a free one; the control channel's status tells it)")
    parser.add_argument("--core", choices=("auto", "native", "portable"), default=None, help=f"the MicroPython that runs the board: native (the unix port: Linux x86_64, macOS arm64), portable (MicroPython for WASI on wasmtime: everywhere) or auto, the default (${CORE_ENV}, else native where it runs)")
    parser.add_argument("--air", default="default", help="the air the board's radio is in: boards in one air hear each other's ESP-NOW (default: default, this user's)")
    parser.add_argument("--exit-with-parent", action="store_true", help="exit when standard input closes (the parent holds its other end)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        raise SystemExit(bench_main(argv[1:]))  # the package entry point ignores return values
    if argv[:1] == ["files"]:
        from .files_cli import files_main

        raise SystemExit(files_main(argv[1:]))
    args = _parser().parse_args(argv)
    if args.baud is not None and args.baud <= 0:
        _parser().error(f"--baud must be a positive number, not {args.baud}")
    if args.pty and os.name != "posix":
        _parser().error("--pty needs a POSIX system (Linux, macOS): use the socket:// URL or --rfc2217 here")
    try:
        args.core = choose_core(args.core)
    except EmulatorError as error:
        print(f"esp32-kernel emulator: cannot run on this machine: {error}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.WARNING, format="esp32-kernel emulator: %(message)s")
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace) -> int:
    from .supervisor import Supervisor  # the board side, loaded only to serve a board

    try:
        supervisor = Supervisor(
            board_dir=args.board_dir or default_board_dir(), baud=args.baud,
            host=args.host, port=args.port, with_pty=args.pty, board=args.board, webrepl_port=args.webrepl_port,
            with_rfc2217=args.rfc2217, with_webserial=args.webserial, core=args.core, air=args.air,
        )  # fmt: skip
        endpoints = await supervisor.start()
    except (OSError, RuntimeError, ValueError) as error:
        print(f"esp32-kernel emulator: cannot start: {error}", file=sys.stderr)
        return 1
    # Handlers first: whoever reads the URL may stop us at once, and should see a clean exit.
    loop = asyncio.get_running_loop()
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGBREAK"):  # those this OS has
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            loop.add_signal_handler(signum, supervisor.stop)
        except NotImplementedError:  # Windows' event loop: a plain handler hands it over
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(supervisor.stop))
    print(ANNOUNCE_URL + endpoints.url)
    if endpoints.pty_path:
        print(ANNOUNCE_PTY + endpoints.pty_path)
    if endpoints.rfc2217_url:
        print(ANNOUNCE_RFC2217 + endpoints.rfc2217_url)
    if endpoints.webserial_url:
        print(ANNOUNCE_WEBSERIAL + endpoints.webserial_url)
    print(ANNOUNCE_CONTROL + endpoints.control, flush=True)
    if args.exit_with_parent:
        _stop_when_stdin_closes(loop, supervisor)
    try:
        await supervisor.wait_stopped()
    finally:
        await supervisor.close()
    return 0


def _stop_when_stdin_closes(loop: asyncio.AbstractEventLoop, supervisor: Supervisor) -> None:
    # A thread waits for the end of stdin: a pipe cannot be watched by Windows' event loop.
    def wait_for_the_end() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(supervisor.stop)

    threading.Thread(target=wait_for_the_end, name="parent watch", daemon=True).start()


def bench_main(argv: list[str]) -> int:
    """`python -m esp32_kernel emulator bench --control tcp://HOST:PORT COMMAND [ARGS…]`."""
    import json

    from .control import ControlChannel

    parser = argparse.ArgumentParser(
        prog="python -m esp32_kernel emulator bench",
        description="Drive a running emulator's bench: set_pin 4 0, set_source 34 sine 1.65 1 2, "
        "press 0, add_ap MyWiFi secret, events (streams every change as JSON lines), help.",
    )
    parser.add_argument("--control", required=True, help="the emulator's control address (tcp://127.0.0.1:PORT, as it prints it)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments")
    args = parser.parse_args(argv)
    if not args.command:
        parser.error("a command is needed (try: help)")
    lines = ControlChannel(args.control).stream(" ".join(args.command))
    try:
        reply = next(lines, None)
        print(json.dumps(reply), flush=True)
        if args.command[0] == "events":
            for line in lines:
                print(json.dumps(line), flush=True)
        return 0 if reply and reply.get("ok") else 1
    except KeyboardInterrupt:
        return 0
    except OSError as error:
        print(f"esp32-kernel emulator bench: {args.control}: {error}", file=sys.stderr)
        return 1
