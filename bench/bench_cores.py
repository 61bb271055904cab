"""The emulator's two MicroPython cores side by side (issue 12): native (the unix port) and
portable (MicroPython for WASI on wasmtime). For each: boot to the first prompt, an idle
board's CPU and memory, `for i in range(200000): pass`, a 5 KB cell, Pin.value() calls per
second. Medians of several runs, the portable core's ratio to the native one, and the goals:
the portable core boots in ≤ 1 s and an idle portable board costs < 1 % of a core.

    .venv/bin/python bench/bench_cores.py [--runs 7]

Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_emulator import _cpu_s, _rss_kb, _tree  # noqa: E402

from esp32_kernel.board import Board  # noqa: E402
from esp32_kernel.emulator import launch  # noqa: E402
from esp32_kernel.emulator.process import EmulatorError, choose_core  # noqa: E402

LOOP = "for i in range(200000):\n    pass"
# ~5 KB of ordinary code: definitions and a little work, as a lab cell has
CELL = "\n".join(f"def f{i}(x, y=2):\n    '''helper {i}'''\n    return [x * y + {i} for _ in range(3)]\n" for i in range(60))
CELL += "\nprint(sum(f0(1)))"





def measure(core: str, runs: int) -> dict[str, float]:
    figures: dict[str, list[float]] = {"boot": [], "loop": [], "cell": []}
    idle_cpu = rss = pins = 0.0
    for run in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            with launch(board_dir=folder, core=core) as emu:
                board = Board(emu.url)
                board.connect()  # the first prompt
                figures["boot"].append(time.perf_counter() - started)
                try:
                    for name, code in (("loop", LOOP), ("cell", CELL)):
                        for _ in range(3):
                            t = time.perf_counter()
                            board.exec(code, timeout=120)
                            figures[name].append(time.perf_counter() - t)
                    if run == 0:
                        time.sleep(1.0)
                        pids = _tree(emu.pid)
                        rss = _rss_kb(pids) / 1024
                        cpu0 = _cpu_s(pids)
                        time.sleep(5.0)
                        idle_cpu = (_cpu_s(pids) - cpu0) / 5.0 * 100
                        board.exec("from machine import Pin\np = Pin(4, Pin.IN)")
                        pins = int(board.exec(
                            "import time\nn = 0\nt = time.ticks_ms()\n"
                            "while time.ticks_diff(time.ticks_ms(), t) < 1000:\n    p.value()\n    n += 1\nprint(n)",
                            timeout=30,
                        ).strip())  # fmt: skip
                finally:
                    board.close()
    return {**{k: statistics.median(v) for k, v in figures.items()}, "idle_cpu": idle_cpu, "rss": rss, "pins": pins}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cores = []
    for core in ("native", "portable"):
        try:
            choose_core(core)
            cores.append(core)
        except EmulatorError as error:
            print(f"{core} core: not here ({error})")
    results = {core: measure(core, args.runs) for core in cores}
    print(f"\n{'':34}" + "".join(f"{core:>14}" for core in cores) + ("   portable / native" if len(cores) == 2 else ""))
    rows = [
        ("boot to the first prompt", "boot", lambda v: f"{v * 1000:11.0f} ms"),
        ("for i in range(200000): pass", "loop", lambda v: f"{v * 1000:11.1f} ms"),
        ("a 5 KB cell (60 definitions)", "cell", lambda v: f"{v * 1000:11.1f} ms"),
        ("Pin.value() calls per second", "pins", lambda v: f"{v:14,.0f}"),
        ("idle board: CPU (% of a core)", "idle_cpu", lambda v: f"{v:12.2f} %"),
        ("idle board: memory (RSS)", "rss", lambda v: f"{v:11.1f} MB"),
    ]
    for title, key, shown in rows:
        line = f"{title:34}" + "".join(shown(results[core][key]) for core in cores)
        if len(cores) == 2 and results["native"][key]:
            line += f"   {results['portable'][key] / results['native'][key]:8.2f}×"
        print(line)
    if "portable" in results:
        portable = results["portable"]
        print(f"\ngoal: the portable core boots in ≤ 1 s: {portable['boot']:.2f} s — {'met' if portable['boot'] <= 1 else 'MISSED'}")
        print(f"goal: an idle portable board costs < 1 % of a core: {portable['idle_cpu']:.2f} % — "
              f"{'met' if portable['idle_cpu'] < 1 else 'MISSED'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
