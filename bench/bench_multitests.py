"""MicroPython's multi-instance tests against emulated ESP32s: two boards in one air of their
own, driven by MicroPython's tests/run-multitests.py as it drives two real boards on serial
ports (pyboard.py and the raw REPL, over each emulator's pty).

    .venv/bin/python bench/bench_multitests.py --micropython ~/src/micropython [--dirs multi_espnow multi_bluetooth]
    .venv/bin/python bench/bench_multitests.py --micropython ~/src/micropython \
        --lib ~/src/micropython-lib/micropython/bluetooth/aioble/aioble \
        --dirs ~/src/micropython-lib/micropython/bluetooth/aioble/multitests     # aioble's own

PATH is a checkout of the micropython repository (v1.24.x: tests/ and tools/pyboard.py).
--lib copies a package folder onto both boards first (with mpremote, as onto real boards).
Prints run-multitests.py's verdict per test and the summary; exits 1 if one failed. Not a
test: it needs the checkout.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from esp32_kernel.emulator import launch  # noqa: E402

DEFAULT_DIRS = ("multi_espnow", "multi_bluetooth")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--micropython", type=Path, required=True, help="a micropython checkout (v1.24.x)")
    parser.add_argument("--dirs", nargs="+", default=list(DEFAULT_DIRS), help="test directories under tests/, or elsewhere")
    parser.add_argument("--lib", type=Path, action="append", default=[], help="a package folder to copy onto both boards")
    args = parser.parse_args()
    tests_dir = args.micropython / "tests"
    files = [str(path) for d in args.dirs for path in sorted((tests_dir / d).glob("*.py"))]
    if not files:
        print(f"no tests in {', '.join(args.dirs)} under {tests_dir}", file=sys.stderr)
        return 1
    air = f"multitests-{uuid.uuid4().hex[:8]}"  # no other board hears these two
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        with launch(board_dir=first, air=air, pty=True) as a, launch(board_dir=second, air=air, pty=True) as b:
            for lib in args.lib:
                for board in (a, b):
                    subprocess.run([sys.executable, "-m", "mpremote", "connect", board.pty_path, "fs", "cp", "-r", str(lib), ":"],
                                   check=True, capture_output=True)  # fmt: skip
            run = subprocess.run(
                [sys.executable, "run-multitests.py", "-i", f"pyb:{a.pty_path}", "-i", f"pyb:{b.pty_path}", *files],
                cwd=tests_dir, capture_output=True, text=True,
            )  # fmt: skip
    verdicts = [line for line in run.stdout.splitlines() if line.endswith((": pass", ": FAIL", ": SKIP"))]
    print("\n".join(verdicts))
    print("\n".join(line for line in run.stdout.splitlines() if line[:1].isdigit()))  # "9 tests performed" …
    if run.returncode:
        print(run.stdout[-4000:], run.stderr[-2000:], sep="\n")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
