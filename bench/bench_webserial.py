"""Figures for the Web Serial link (webserial://, issue 18): a short cell and a 5 KB cell
(raw-paste) through the kernel's Board, over the page's port relayed by a real Jupyter
server, at simulated network round trips; the same emulated board's socket:// console is the
baseline in the same run. Also how long a lost link takes to end a running cell: an unplugged
board (the page says so) and a network that goes silent (the kernel's ping times out).

The page's part is played in Python (tests/webserial_harness.py), so the browser's own hop is
not in these figures (the browser test runs the real page). Prints medians; not a test.

    .venv/bin/python bench/bench_webserial.py [--runs 60]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from kernel_harness import isolated_env  # noqa: E402
from lab_fixtures import LabServer, free_port, stop, wait_until_serving  # noqa: E402
from webserial_harness import StandInBrowser  # noqa: E402

from esp32_kernel.board import Board  # noqa: E402
from esp32_kernel.emulator import launch  # noqa: E402
from esp32_kernel.emulator.control import ControlChannel  # noqa: E402
from esp32_kernel.link import protocol_webserial  # noqa: E402

SHORT = "print(1)"
LONG = "x = 0\n" + "x += 1  # a comment to make the cell longer\n" * 120  # ~5 KB: raw-paste
ROUND_TRIPS_MS = (0, 20, 80)  # a LAN, a campus network, a home connection far from the hub


def jupyter_server(tmp: Path) -> LabServer:
    """A plain Jupyter server with the esp32-kernel server extension: the relay."""
    port, token = free_port(), secrets.token_hex(16)
    command = [str(Path(sys.executable).with_name("jupyter")), "server", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={tmp}"]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--ServerApp.allow_root=True")
    log_path = tmp / "jupyter-server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=isolated_env(tmp), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = LabServer(f"http://127.0.0.1:{port}", token, tmp, log_path, process)
    wait_until_serving(server)
    return server


def cell_times(board: Board, code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        board.exec(code)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_to_loss(board: Board, cut) -> float:
    """Seconds from `cut()` to the board's link being declared lost, while a cell runs."""
    lost = threading.Event()
    board.on_lost = lambda message: lost.set()
    board.start("import time\nwhile True:\n    time.sleep_ms(10)")
    time.sleep(0.2)  # the loop is running
    start = time.perf_counter()
    cut()
    if not lost.wait(30):
        raise SystemExit("the lost link was not noticed within 30 s")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        server = jupyter_server(tmp)
        emu = launch(board_dir=tmp / "board", webserial=True)
        try:
            console = Board(emu.url)
            console.connect()
            baseline = (cell_times(console, SHORT, args.runs), cell_times(console, LONG, max(5, args.runs // 5)))
            console.close()
            rows = []
            for rtt in ROUND_TRIPS_MS:
                browser = StandInBrowser(server.url, server.token, emu.webserial_url, round_trip=rtt / 1000)
                protocol_webserial.front_end = browser.serve
                board = Board("webserial://")
                board.connect()
                runs = args.runs if rtt < 50 else max(10, args.runs // 4)
                rows.append((rtt, cell_times(board, SHORT, runs), cell_times(board, LONG, max(5, runs // 5))))
                board.close()
                browser.close()
            control = ControlChannel(emu.control_address)
            losses = []
            for what, cut in (("unplugged (the page says so)", lambda: control.exchange(["drop_client"])),
                              ("network silent (no pong)", None)):  # fmt: skip
                browser = StandInBrowser(server.url, server.token, emu.webserial_url)
                protocol_webserial.front_end = browser.serve
                board = Board("webserial://")
                board.connect()
                losses.append((what, time_to_loss(board, cut or (lambda: setattr(browser, "silent", True)))))
                board.close()
                browser.close()
        finally:
            emu.stop()
            stop(server.process)
    print(f"| link | round trip | `{SHORT}` median | 5 KB cell median | short cell − baseline, in round trips |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| socket:// (baseline) | — | {baseline[0]:.2f} ms | {baseline[1]:.1f} ms | — |")
    for rtt, short, long in rows:
        trips = f"{(short - baseline[0]) / rtt:.1f}" if rtt else "—"
        print(f"| webserial:// | {rtt} ms | {short:.2f} ms | {long:.1f} ms | {trips} |")
    print()
    for what, seconds in losses:
        print(f"a lost link ends the running cell: {what}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
