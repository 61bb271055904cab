"""Figures for flashing: esptool (as an outside client) writing, verifying and reading a
MicroPython-sized image (1.5 MB) on the emulated ESP32's ROM bootloader over socket://.
Beside them, the baseline a real board sets: the time its UART needs for the same bytes at
esptool's 460800 baud (the deflated image for a write, the raw one for a read). Medians of
a few runs; not a test.

    .venv/bin/python bench/bench_flash.py [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from esp32_kernel.chip import esp_image  # noqa: E402
from esp32_kernel.emulator import launch  # noqa: E402

BAUD = 460800
BITS_PER_BYTE = 10


def firmware_like_image() -> bytes:
    """1.5 MB that deflates about as MicroPython's firmware does (to ~60 %)."""
    noise = hashlib.shake_256(b"code").digest(850_000)
    text = b"".join(b"qstr_%06d\0" % i for i in range(60_000))
    return esp_image.build([(0x3F400020, esp_image.app_description() + text), (0x400D0020, noise)], 0x40081000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    image = firmware_like_image()
    deflated = len(zlib.compress(image, 9))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "firmware.bin"
        path.write_bytes(image)
        emulator = launch(Path(tmp) / "board")
        try:
            rows = []
            for name, command, line_bytes in (
                ("write-flash", ["write-flash", "0x10000", str(path)], deflated),
                ("verify-flash", ["verify-flash", "0x10000", str(path)], 0),
                ("read-flash", ["read-flash", "0x10000", str(len(image)), str(Path(tmp) / "back.bin")], len(image)),
            ):
                times = []
                for _ in range(args.runs):
                    emulator.enter_download_mode()
                    start = time.perf_counter()
                    run = subprocess.run(
                        [sys.executable, "-m", "esptool", "--port", emulator.url, "--after", "no-reset", *command],
                        capture_output=True, text=True,
                    )  # fmt: skip
                    times.append(time.perf_counter() - start)
                    if run.returncode:
                        print(run.stdout + run.stderr)
                        return 1
                line = line_bytes * BITS_PER_BYTE / BAUD
                rows.append((name, statistics.median(times), max(times) - min(times), line))
        finally:
            emulator.stop()
    print(f"image {len(image)} bytes ({deflated} deflated); esptool over socket://, {args.runs} runs each\n")
    print(f"{'command':<14}{'median s':>10}{'spread s':>10}{'UART @460800 s':>16}{'ratio':>8}")
    for name, median, spread, line in rows:
        ratio = f"{median / line:.2f}" if line else "-"
        print(f"{name:<14}{median:>10.2f}{spread:>10.2f}{line:>16.2f}{ratio:>8}")
    print("\n(esptool's own process start and chip detection are in every figure; read-flash is bound by")
    print("esptool's byte-by-byte SLIP reader, not by the emulator)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
