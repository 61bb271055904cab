"""A class on one machine: N kernels, each with its own emulated ESP32, all running a
streaming cell at once. Reports whether any stalled, and memory and CPU per board.

    .venv/bin/python bench/bench_load.py [--kernels 30] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from kernel_harness import run_cell, start_kernel  # noqa: E402

STREAM_CELL = "import time\nfor i in range({n}):\n    print('sample', i)\n    time.sleep(0.05)\nprint('done')"


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def _rss_and_cpu(pids: list[int]) -> tuple[int, float]:
    """Resident bytes and CPU seconds used so far by `pids`."""
    rss, cpu = 0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            rss += int(open(f"/proc/{pid}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return rss, cpu


def run_class(kernels: int, seconds: float, tmp: Path) -> dict:
    """Start `kernels` kernels; run a streaming cell on all at once; collect the results."""
    with ThreadPoolExecutor(max_workers=kernels) as pool:
        # IPC channels: thirty kernels started at once would race for TCP ports
        started = list(pool.map(lambda i: start_kernel(tmp / f"k{i}", transport="ipc"), range(kernels)))
        list(pool.map(lambda kmc: run_cell(kmc[1], "pass", timeout=120), started))
        pids = [p for km, _ in started for p in _tree(km.provisioner.pid)]
        rss_before, cpu_before = _rss_and_cpu(pids)
        n = int(seconds / 0.05)
        t0 = time.monotonic()
        runs = list(pool.map(lambda kmc: run_cell(kmc[1], STREAM_CELL.format(n=n), timeout=seconds * 20 + 60), started))
        wall = time.monotonic() - t0
        rss_after, cpu_after = _rss_and_cpu(pids)
        idle_start = _rss_and_cpu(pids)[1]
        time.sleep(2)
        idle_cpu = (_rss_and_cpu(pids)[1] - idle_start) / 2
        for km, kc in started:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    complete = sum(r.status == "ok" and r.stdout.count("sample") == n and r.stdout.endswith("done\n") for r in runs)
    return {
        "kernels": kernels,
        "complete": complete,
        "wall": wall,
        "expected": n * 0.05,
        "rss_per_board": rss_after / kernels,
        "cpu_share_while_streaming": (cpu_after - cpu_before) / wall,
        "idle_cpu_share": idle_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = run_class(args.kernels, args.seconds, Path(tmp))
    print(f"{r['kernels']} kernels, each with its own emulated ESP32, streaming {args.seconds:.0f} s at once")
    print(f"  cells complete with every line:   {r['complete']} / {r['kernels']}")
    print(f"  wall time of the streaming cells: {r['wall']:.1f} s (each alone: {r['expected']:.1f} s)")
    print(f"  memory per kernel + board:        {r['rss_per_board'] / 2**20:.0f} MiB")
    print(f"  CPU while streaming:              {r['cpu_share_while_streaming']:.2f} cores")
    print(f"  CPU when idle:                    {r['idle_cpu_share']:.3f} cores")


if __name__ == "__main__":
    main()
