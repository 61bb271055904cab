"""Figures for the emulated ESP32: memory and idle CPU per board, bench-control round trip
while a loop runs, and Pin.value()/ADC.read() calls per second. Prints figures; not a test."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from esp32_kernel.board import Board  # noqa: E402
from esp32_kernel.emulator import launch  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for child in _children(pid):
        pids += _tree(child)
    return pids


def _cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLK_TCK


def _rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, launch(board_dir=folder) as emu:
        board = Board(emu.url)
        board.connect()
        try:
            board.exec("from machine import Pin, ADC\np = Pin(4, Pin.IN)\na = ADC(Pin(34), atten=ADC.ATTN_11DB)")
            emu.set_source(34, "sine", 1.65, 1.0, 2)
            time.sleep(1.0)
            pids = _tree(emu.pid)
            rss = _rss_kb(pids)
            cpu0 = _cpu_s(pids)
            time.sleep(5.0)
            idle_cpu = (_cpu_s(pids) - cpu0) / 5.0 * 100
            print(f"emulated board: {rss / 1024:.1f} MB RSS (supervisor + MicroPython, {len(pids)} processes), idle CPU {idle_cpu:.2f} %")

            for name, expr in (("Pin.value()", "p.value()"), ("ADC.read()", "a.read()")):
                out = board.exec(
                    "import time\nn = 0\nt = time.ticks_ms()\n"
                    f"while time.ticks_diff(time.ticks_ms(), t) < 1000:\n    {expr}\n    n += 1\nprint(n)",
                    timeout=30,
                )
                print(f"{name}: {int(out.strip()):,} calls/s from a MicroPython loop")

            execution = board.start("n = 0\nwhile True:\n    p.value()\n    n += 1", collect=True)
            time.sleep(0.2)
            times = []
            for i in range(200):
                t = time.perf_counter()
                emu.set_pin(4, i % 2)
                times.append((time.perf_counter() - t) * 1000)
            board.interrupt()
            execution.done.wait(10)
            print(
                f"bench control round trip (set_pin, new connection each) while a Pin.value() loop runs: "
                f"median {statistics.median(times):.2f} ms, p95 {sorted(times)[int(len(times) * 0.95)]:.2f} ms"
            )
        finally:
            board.close()


if __name__ == "__main__":
    main()
