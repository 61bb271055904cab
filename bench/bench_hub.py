"""A class on one JupyterHub: N students start their servers at once; each opens a kernel
through the hub and runs the first lab's first five code cells on an emulated ESP32 of
their own. Prints the time from each student's start request to their first result and to
the fifth, the memory and CPU-seconds per student, and the CPU the whole class uses while it
sits idle; the baseline, in the same run, is the same class
with Jupyter's own Python kernel (ipykernel) running five cells: what the hub and Jupyter
cost without us.

    .venv/bin/python bench/bench_hub.py [--students 30]

Needs jupyterhub and configurable-http-proxy (make test installs both).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from bench_emulator import _cpu_s, _rss_kb  # noqa: E402
from bench_load import _tree  # noqa: E402
from hub_harness import Hub, KernelThroughHub  # noqa: E402

FIRST_LAB = HERE.parent / "notebooks" / "01-first-steps.ipynb"
PYTHON_CELLS = ["import sys\nsys.implementation", "sys.platform", "print('tick')", "2 * 3.14", "round(6.28, 1)"]
PATIENCE_S = 480  # a hang guard: thirty servers on two cores take minutes
IDLE_S = 20  # how long the class sits idle while its CPU is measured


def lab_cells(n: int) -> list[str]:
    cells = [c for c in json.loads(FIRST_LAB.read_text())["cells"] if c["cell_type"] == "code"]
    return ["".join(c["source"]) for c in cells[:n]]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def one_class(students: int, kernel: str, cells: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        hub = Hub(Path(folder), patience=PATIENCE_S)
        baseline_pids = set(_tree(hub.process.pid))  # the hub and its proxy
        try:

            def student(name: str) -> tuple[float, float] | str:
                started = time.monotonic()
                try:
                    hub.start_server(name)
                    hub.wait(lambda: hub.server_ready(name), f"{name}'s server")
                    session = KernelThroughHub(hub, name, kernel)
                    times = []
                    for code in cells:
                        status, printed = session.run(code)
                        if status != "ok":
                            return f"{name}'s cell failed: {printed}"
                        times.append(time.monotonic() - started)
                except Exception as e:  # a failed student is reported, and the class goes on
                    return f"{name}: {e}"
                return times[0], times[-1]

            with ThreadPoolExecutor(students) as pool:
                results = list(pool.map(student, [f"student{i:02d}" for i in range(students)]))
            students_pids = [p for p in _tree(hub.process.pid) if p not in baseline_pids]
            memory = _rss_kb(students_pids) / 1024 / students
            started_cpu = _cpu_s(students_pids)  # servers, kernels and boards, from their start to now
            time.sleep(IDLE_S)
            idle_cores = (_cpu_s(students_pids) - started_cpu) / IDLE_S
        finally:
            hub.stop()
    done = [r for r in results if isinstance(r, tuple)]
    failed = [r for r in results if isinstance(r, str)]
    first, last = [r[0] for r in done], [r[1] for r in done]
    return {"kernel": kernel, "first": first, "last": last, "memory": memory, "failed": failed,
            "cpu_s": started_cpu / students, "idle": idle_cores}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    args = parser.parse_args()
    rows = [one_class(args.students, "esp32", lab_cells(5)), one_class(args.students, "python3", PYTHON_CELLS)]
    print(f"{args.students} students starting at once, five cells each (seconds from the start request)")
    print(f"{'kernel':<10} {'done':>5} {'first result median':>20} {'p95':>6} {'fifth result median':>20} {'p95':>6}"
          f" {'MB per student':>15} {'CPU-s per student':>18} {'idle, % of a core':>18}")  # fmt: skip
    for row in rows:
        print(f"{row['kernel']:<10} {len(row['first']):>5} {statistics.median(row['first']):>20.1f} {p95(row['first']):>6.1f}"
              f" {statistics.median(row['last']):>20.1f} {p95(row['last']):>6.1f} {row['memory']:>15.0f}"
              f" {row['cpu_s']:>18.1f} {100 * row['idle']:>18.1f}")  # fmt: skip
    for row in rows:
        for failure in row["failed"]:
            print(f"failed ({row['kernel']}): {failure}")
    ours, baseline = rows
    print(f"esp32 / python3: first result {statistics.median(ours['first']) / statistics.median(baseline['first']):.2f}x,"
          f" memory {ours['memory'] / baseline['memory']:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
