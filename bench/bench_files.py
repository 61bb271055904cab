"""Issue 5's file-transfer figures: upload and download of a 20 KB text file and a 20 KB
random binary through esp32_kernel.files (downloads also with board-side compression off), on the emulator paced at 115200 baud and unpaced,
beside mpremote's `cp` (its transport in this process: the sha256 check `cp` makes, then
fs_writefile / fs_readfile) in the same run. Prints medians; asserts nothing.

    .venv/bin/python bench/bench_files.py [--rounds N]

Each upload replaces a file of the same size with different content (the common case of
saving main.py again), so neither tool can skip it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from esp32_kernel.board import Board
from esp32_kernel.chip.board_profile import write_variant
from esp32_kernel.emulator.process import launch
from esp32_kernel.files import BoardFiles

BAUD = 115200
SIZE = 20 * 1024
GOALS = {"text": 0.9, "binary": 1.95}  # seconds at 115200 (issue 5)


def text_sample() -> bytes:
    """20 KB of real MicroPython-style source: this project's own Python, cut to size."""
    root = Path(__file__).resolve().parent.parent / "esp32_kernel"
    text = b"".join(p.read_bytes() for p in sorted(root.glob("*.py")))
    return text[:SIZE]


def variants(data: bytes) -> list[bytes]:
    """Two files of the same size and kind that differ (rounds alternate between them)."""
    if data.isascii():
        return [data, data.replace(b"board", b"Board")]
    return [data, os.urandom(len(data))]


def line_time(nbytes: int, baud: int = BAUD) -> float:
    return nbytes * 10 / baud


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def bench_ours(url: str, baud: int, samples: dict[str, bytes], rounds: int) -> dict[str, list[float]]:
    board = Board(url, baud)
    board.connect()
    files = BoardFiles(board)
    files.install()
    times: dict[str, list[float]] = {}
    try:
        for kind, data in samples.items():
            pair = variants(data)
            files.put_bytes(pair[1], f"/{kind}.dat")
            for i in range(rounds):
                start = time.perf_counter()
                done = files.put_bytes(pair[i % 2], f"/{kind}.dat")
                times.setdefault(f"{kind} up", []).append(time.perf_counter() - start)
                assert not done.skipped
                start = time.perf_counter()
                got = files.get_bytes(f"/{kind}.dat")
                times.setdefault(f"{kind} down", []).append(time.perf_counter() - start)
                assert got == pair[i % 2]
                down_wire = files.last_download.wire
                # the same download without board-side compression: the figure before it
                start = time.perf_counter()
                got = files.get_bytes(f"/{kind}.dat", compress=False)
                times.setdefault(f"{kind} down raw", []).append(time.perf_counter() - start)
                assert got == pair[i % 2]
            times[f"{kind} wire"] = [done.wire]
            times[f"{kind} down wire"] = [down_wire]
    finally:
        board.close()
    return times


def bench_mpremote(url: str, baud: int, samples: dict[str, bytes], rounds: int) -> dict[str, list[float]]:
    from mpremote.transport_serial import SerialTransport

    transport = SerialTransport(url, baudrate=baud)
    transport.enter_raw_repl(soft_reset=False)
    times: dict[str, list[float]] = {}
    try:
        for kind, data in samples.items():
            pair = variants(data)
            transport.fs_writefile(f"/{kind}.mp", pair[1])
            for i in range(rounds):
                start = time.perf_counter()
                transport.fs_hashfile(f"/{kind}.mp", "sha256")  # what `cp` checks before it writes
                transport.fs_writefile(f"/{kind}.mp", pair[i % 2])
                times.setdefault(f"{kind} up", []).append(time.perf_counter() - start)
                start = time.perf_counter()
                got = transport.fs_readfile(f"/{kind}.mp")
                times.setdefault(f"{kind} down", []).append(time.perf_counter() - start)
                assert got == pair[i % 2]
    finally:
        transport.exit_raw_repl()
        transport.close()
    return times


def compressing_firmware(folder: Path) -> str:
    """A DevKitC whose firmware has deflate's compressor (MICROPY_PY_DEFLATE_COMPRESS), which
    stock v1.24 ESP32 builds leave out: 'down' uses it, 'down raw' is what stock firmware gets."""
    return str(write_variant(folder / "esp32-deflate.json", deflate_compress=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-mpremote", action="store_true", help="skip the mpremote baseline")
    args = parser.parse_args()
    samples = {"text": text_sample(), "binary": os.urandom(SIZE)}
    print(f"file transfer, {SIZE // 1024} KB files, medians of {args.rounds} rounds; line time at {BAUD}: "
          f"{line_time(SIZE):.2f} s")  # fmt: skip
    for baud in (BAUD, None):
        with tempfile.TemporaryDirectory() as tmp, launch(board_dir=Path(tmp) / "board", baud=baud, board=compressing_firmware(Path(tmp))) as emulator:
            label = f"paced at {baud} baud" if baud else "unpaced"
            ours = bench_ours(emulator.url, baud or BAUD, samples, args.rounds)
            theirs = None if args.no_mpremote else bench_mpremote(emulator.url, baud or BAUD, samples, max(1, args.rounds // 2 if baud else args.rounds))
        print(f"\n{label}")
        print(f"  {'':<16} {'esp32-kernel':>13} {'mpremote cp':>12} {'speed-up':>9}  {'goal':>6}")
        for kind in samples:
            for way in ("up", "down", "down raw"):
                key = f"{kind} {way}"
                mine = median(ours[key])
                peer = median(theirs[key.removesuffix(" raw")]) if theirs else None
                goal = f"≤ {GOALS[kind]:.2f}" if baud and way != "down raw" else ""
                cells = f"{mine:11.3f} s {peer:10.3f} s {peer / mine:8.1f}×" if peer else f"{mine:11.3f} s"
                print(f"  {key:<16} {cells}  {goal:>6}")
            for way in ("upload", "download"):
                wire = ours[f"{kind} wire" if way == "upload" else f"{kind} down wire"][0]
                note = f", {line_time(wire):.2f} s of line time" if baud else ""
                print(f"  {'':<16} ({kind} {way}: {wire} bytes on the wire for {SIZE}{note})")
    print("\nGoals (issue 5) are for 115200. 'down' compresses on the board (firmware built with deflate's"
          " compressor); 'down raw' is the same download uncompressed: what stock v1.24 firmware gets.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
