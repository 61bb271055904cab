"""Figures for WebREPL links (ws://): a short cell and a 5 KB cell (raw-paste) through the
kernel's Board, over WebREPL and, as the baseline in the same run, over the same emulated
board's socket:// console. Prints medians and the ratio; not a test."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from esp32_kernel.board import Board  # noqa: E402
from esp32_kernel.emulator import launch  # noqa: E402
from esp32_kernel.link.webrepl_link import Secret  # noqa: E402

SHORT = "print(1)"
LONG = "x = 0\n" + "x += 1  # a comment to make the cell longer\n" * 120  # ~5 KB: raw-paste


def medians(board: Board, runs: int) -> tuple[float, float, float, float]:
    """(short median ms, its IQR, 5 KB median ms, its IQR)."""
    figures = []
    for code, n in ((SHORT, runs), (LONG, max(5, runs // 5))):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            board.exec(code)
            times.append((time.perf_counter() - start) * 1000)
        q = statistics.quantiles(times, n=4)
        figures += [statistics.median(times), q[2] - q[0]]
    return tuple(figures)  # type: ignore[return-value]


def main(runs: int = 100) -> None:
    with tempfile.TemporaryDirectory() as folder, launch(board_dir=folder, webrepl_port=0) as emu:
        console = Board(emu.url)
        console.connect()
        console.exec("import network\nnetwork.WLAN(network.AP_IF).active(True)\nimport webrepl\nwebrepl.start(password='bench1')")
        serial = medians(console, runs)
        console.close()
        ws = Board(emu.webrepl_url(), password=Secret("bench1"))
        ws.connect()
        webrepl = medians(ws, runs)
        ws.close()
    print(f"| link | `{SHORT}` median (IQR) | 5 KB cell median (IQR) |")
    print("| --- | --- | --- |")
    for name, f in (("socket:// (baseline)", serial), ("ws:// WebREPL", webrepl)):
        print(f"| {name} | {f[0]:.2f} ms ({f[1]:.2f}) | {f[2]:.1f} ms ({f[3]:.1f}) |")
    print(f"\nWebREPL / socket://: short cell ×{webrepl[0] / serial[0]:.2f}, 5 KB cell ×{webrepl[2] / serial[2]:.2f}")


if __name__ == "__main__":
    main()
