"""MicroPython's own test suite against the emulated ESP32, run as against a real board.

    .venv/bin/python bench/bench_conformance.py --micropython ~/src/micropython [--dirs basics float]

PATH is a checkout of the micropython repository (v1.24.x: its tests/ and tools/pyboard.py).
This starts an emulator with a pty, runs `tests/run-tests.py --target esp32 --device PTY`
(run-tests.py talks to it through pyboard.py and the raw REPL, as to a board on a serial port;
expected outputs come from CPython, this interpreter, or the tests' .exp files), and prints
passed / failed / skipped per directory, then each failure with what we know of it. Not a
test: it needs the checkout, and takes a few minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from esp32_kernel.emulator import launch  # noqa: E402

# The directories run-tests.py runs for --target esp32, and the port's own tests.
DEFAULT_DIRS = ("basics", "micropython", "misc", "extmod", "float", "stress", "thread", "ports/esp32")

# Why the failures seen so far fail (MicroPython v1.24.1's tests, this emulator). Kinds:
#   board     - a real ESP32 fails it too (the test expects the unix port or CPython)
#   unix      - the unix port underneath: a newer MicroPython (1.29), 64-bit doubles, its
#               modules and limits; a v1.24 ESP32 passes or skips it
#   host      - this machine: the test needs the internet
#   emulator  - a fidelity gap of ours: the emulated board differs from an ESP32 here
_WRITABLE_SYS = (
    "emulator",
    "sys is a Python module: unknown attributes can be set (a board's raises AttributeError)",
)
_NO_GIL = ("unix", "the unix port's _thread has no GIL (_thread='unsafe'); an ESP32's has one")
KNOWN_FAILURES: dict[str, tuple[str, str]] = {
    "basics/builtin_help.py": (
        "emulator",
        "help(micropython) lists a Python module's entries, in another order than the ROM table",
    ),
    "basics/module2.py": _WRITABLE_SYS,
    "basics/sys_tracebacklimit.py": (
        "emulator",
        "sys.tracebacklimit = N is accepted (v1.24's ESP32 has none: AttributeError, the test skips)",
    ),
    "basics/op_error.py": (
        "emulator",
        "from sys import <missing> raises AttributeError (our module __getattr__), not ImportError",
    ),
    "basics/string_crlf_conversion.py": (
        "unix",
        "the unix port's stdin turns \\n into \\r: a \\r\\n inside a string arrives as two newlines",
    ),
    "basics/string_endswith_upy.py": (
        "unix",
        "MicroPython 1.29 takes a tuple in endswith(); v1.24 raised TypeError",
    ),
    "basics/string_startswith_upy.py": (
        "unix",
        "MicroPython 1.29 takes a tuple in startswith(); v1.24 raised TypeError",
    ),
    "basics/int_bytes.py": (
        "unix",
        "1.29's to_bytes() refuses negatives unless signed=True; v1.24 took them",
    ),
    "basics/int_bytes_int64.py": ("unix", "as int_bytes.py"),
    "basics/int_bytes_intbig.py": ("unix", "as int_bytes.py"),
    "misc/non_compliant.py": (
        "unix",
        "1.29 implements bytearray slice assignment from a list; v1.24 raised NotImplementedError",
    ),
    "micropython/const_error.py": ("unix", "1.29's compiler accepts two constructs v1.24 refused"),
    "float/string_format_modulo3.py": (
        "unix",
        "'%.1g' rounding: the .exp is single precision's, the host's doubles print -1e+01",
    ),
    "extmod/deflate_compress.py": (
        "emulator",
        "on a deflate_compress board profile only: our compressor runs out of heap at wbits=15",
    ),
    "extmod/deflate_stream_error.py": (
        "emulator",
        "on a deflate_compress board profile only: our compressor reports stream errors differently",
    ),
    "extmod/select_poll_fd.py": (
        "unix",
        "a unix-port test (polls 6000 file descriptors); no .exp and CPython cannot run it",
    ),
    "extmod/vfs_blockdev_invalid.py": (
        "unix",
        "1.29's VfsFat raises TypeError for a str from readblocks; v1.24 gave OSError",
    ),
    "extmod/vfs_lfs_mtime.py": (
        "emulator",
        "VfsLfs2 stamps files with the host's 1970 clock, time.time_ns() is the board's 2000 epoch",
    ),
    "stress/recursive_iternext.py": (
        "unix",
        "the host's 8 MB C stack: the recursion never reaches RuntimeError as on an ESP32",
    ),
    "thread/disable_irq.py": ("emulator", "machine.disable_irq() does not hold other threads off"),
    "thread/thread_coop.py": (
        "emulator",
        "sleep_ms beside a busy thread overshoots more than the 30 ms allowed on an ESP32 (host load)",
    ),
    "thread/mutate_bytearray.py": _NO_GIL,
    "thread/mutate_dict.py": _NO_GIL,
    "thread/mutate_instance.py": _NO_GIL,
    "thread/mutate_list.py": _NO_GIL,
    "thread/mutate_set.py": _NO_GIL,
    "thread/stress_schedule.py": _NO_GIL,
    "ports/esp32/resolve_on_connect.py": (
        "host",
        "connects to micropython.org: with no internet (DNS) here, a board's OSError -2, and the "
        "expectation is CPython's gaierror",
    ),
    "extmod/socket_tcp_basic.py": (
        "unix",
        "compares with errno.ENOTCONN, which the unix port's compiler folds to Linux's 107; the "
        "socket raises the board's 128",
    ),
}

_RESULT_LINE = re.compile(r"^(pass|FAIL|skip)\s+(\S+)$")


def run_suite(
    micropython: Path, dirs: list[str], result_dir: Path, log, board: str | None = None
) -> tuple[dict[str, Counter], list[str], float]:
    """Run run-tests.py against a fresh emulator; counts per directory, failures, seconds."""
    tests_dir = micropython / "tests"
    counts: dict[str, Counter] = {d: Counter() for d in dirs}
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as board_dir, launch(board_dir, pty=True, board=board) as emu:
        command = [
            sys.executable, "run-tests.py", "--target", "esp32", "--device", emu.pty_path,
            "-r", str(result_dir), "-d", *dirs,
        ]  # fmt: skip
        env = dict(os.environ, CPYTHON3=sys.executable)  # expectations from this CPython
        started = time.monotonic()
        with subprocess.Popen(
            command, cwd=tests_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as run:
            for line in run.stdout:
                log.write(line)
                match = _RESULT_LINE.match(line.strip())
                if not match:
                    continue
                outcome, test = match.groups()
                longest_first = sorted(dirs, key=len, reverse=True)  # ports/esp32 before ports
                directory = next((d for d in longest_first if test.startswith(d + "/")), test.split("/")[0])
                counts.setdefault(directory, Counter())[outcome] += 1
                if outcome == "FAIL":
                    failures.append(test)
        seconds = time.monotonic() - started
    return counts, failures, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--micropython", required=True, type=Path, help="a checkout of the micropython repository (v1.24.x)"
    )
    parser.add_argument("--dirs", nargs="+", default=list(DEFAULT_DIRS), help="test directories under tests/")
    parser.add_argument("--board", help="a board profile: a name or a JSON file (default: esp32-devkitc)")
    parser.add_argument("--results", type=Path, help="keep run-tests.py's .exp/.out of failures here")
    args = parser.parse_args()
    run_tests = args.micropython / "tests" / "run-tests.py"
    if not run_tests.is_file() or not (args.micropython / "tools" / "pyboard.py").is_file():
        parser.error(
            f"{args.micropython} is not a micropython checkout (needs tests/run-tests.py, tools/pyboard.py)"
        )

    with tempfile.TemporaryDirectory() as scratch:
        result_dir = args.results or Path(scratch) / "results"
        with open(Path(scratch) / "run-tests.log", "w") as log:
            counts, failures, seconds = run_suite(
                args.micropython.resolve(), args.dirs, result_dir.resolve(), log, args.board
            )

    print(f"MicroPython's tests on the emulated ESP32 ({seconds:.0f} s)\n")
    print(f"{'directory':<14}{'passed':>8}{'failed':>8}{'skipped':>9}")
    total = Counter()
    for directory, count in counts.items():
        print(f"{directory:<14}{count['pass']:>8}{count['FAIL']:>8}{count['skip']:>9}")
        total += count
    print(f"{'total':<14}{total['pass']:>8}{total['FAIL']:>8}{total['skip']:>9}")

    kinds = Counter()
    print("\nfailures:")
    for test in failures:
        kind, why = KNOWN_FAILURES.get(test, ("NEW", "not triaged: see its .exp/.out (--results DIR)"))
        kinds[kind] += 1
        print(f"  {test:<48} {kind:<9} {why}")
    print("\nby kind: " + ", ".join(f"{kind} {n}" for kind, n in kinds.most_common()))
    print("  board: a real ESP32 fails it too; unix: the unix port underneath;")
    print("  host: this machine (no internet); emulator: a fidelity gap of ours")


if __name__ == "__main__":
    main()
