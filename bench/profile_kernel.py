"""Where a cell's time goes inside the kernel: py-spy samples the kernel process while a client
runs one cell over and over against an unpaced emulated board, then the top entries are
printed — each thread's share, and the kernel's main thread by function (inclusive and self).

    .venv/bin/pip install py-spy      # once; py-spy is not a dependency of the kernel
    .venv/bin/python bench/profile_kernel.py [--cell 'print(1+1)' | --cell 5kb] [--seconds 6]

Sampling slows the kernel a little; compare profiles with each other, and take times from
bench_kernel.py.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from esp32_kernel.emulator.process import launch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernel import FIVE_KB, cell_round_trip

FRAME = re.compile(r"(.*) \((.*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """`function file` with site-packages and the standard library's prefix cut off."""
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match.group(2).split("site-packages/")[-1].split("/lib/python3.")[-1]
    return f"{match.group(1)}  {path}"


def report(samples_file: Path, cells: int, top: int) -> None:
    threads: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for line in samples_file.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        thread, n = re.sub(r"\(\d+\): ", "", frames[0]), int(count)
        threads[thread] += n
        if "MainThread" not in thread:
            continue
        for name in {frame_name(f) for f in frames[1:]}:
            inclusive[name] += n
        own[frame_name(frames[-1])] += n
    total = sum(threads.values())
    print(f"{total} samples over {cells} cells; per thread:")
    for thread, n in threads.most_common():
        print(f"  {n / cells:7.2f} samples/cell  {thread}")
    print("\nthe kernel's main thread, inclusive (samples per cell; its entry frames left out):")
    entry = max(inclusive.values(), default=0)  # the frames every sample of the loop is under
    shown = [(name, n) for name, n in inclusive.most_common() if n < entry]
    for name, n in shown[:top]:
        print(f"  {n / cells:7.2f}  {name}")
    print("\nthe kernel's main thread, self (samples per cell):")
    for name, n in own.most_common(top // 2):
        print(f"  {n / cells:7.2f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="print(1+1)", help="the cell to run; '5kb' for bench_kernel's 5 KB cell")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rate", type=int, default=2000, help="samples per second")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    py_spy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if py_spy is None:
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    code = FIVE_KB if args.cell == "5kb" else args.cell
    with tempfile.TemporaryDirectory() as tmp, launch(board_dir=Path(tmp) / "board", pty=True) as emulator:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ESP32_KERNEL_")}
        env.update(ESP32_KERNEL_PORT=emulator.url, JUPYTER_CONFIG_DIR=tmp, IPYTHONDIR=str(Path(tmp) / "ipython"))
        km, kc = start_new_kernel(kernel_name="esp32", env=env)
        try:
            for _ in range(20):  # warm up: imports, the board's helpers
                cell_round_trip(kc, code)
            samples = Path(tmp) / "samples.txt"
            spy = subprocess.Popen(
                [py_spy, "record", "--pid", str(km.provisioner.pid), "--rate", str(args.rate), "--format", "raw",
                 "--output", str(samples), "--threads", "--nonblocking", "--duration", str(int(args.seconds) + 2)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1.0)  # py-spy attaching: the cells below are all sampled
            cells, end = 0, time.monotonic() + args.seconds
            while time.monotonic() < end:
                cell_round_trip(kc, code)
                cells += 1
            if spy.wait() != 0 or not samples.exists():
                sys.exit("py-spy failed: on Linux it needs ptrace rights (root, or kernel.yama.ptrace_scope=0)")
            print(f"cell {args.cell!r}: {cells} cells in {args.seconds:.0f} s, {args.seconds / cells * 1000:.2f} ms each while sampled\n")
            report(samples, cells, args.top)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
