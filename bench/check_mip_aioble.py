"""`%mip install aioble` from a loopback index, through the real kernel, onto its emulated board;
then aioble, unchanged, finds the bench's Bluetooth sensor, connects and reads its temperature.

micropython-lib is on no registry reachable here, so this needs a checkout of it and is not
part of `make test`; the index is built from the checkout's aioble package (mip's v2 layout,
.py sources) and served on 127.0.0.1. Prints each step; exits 1 if one failed.

    .venv/bin/python bench/check_mip_aioble.py --micropython-lib ~/src/micropython-lib
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from kernel_harness import run_cell, start_kernel  # noqa: E402
from test_packages import build_index, serve  # noqa: E402

SENSOR = "%%host\nget_ipython().kernel.boards.emulator.bench('ble_sensor', 'porch', 18.25, 60)"
CENTRAL = """import asyncio, aioble, bluetooth
async def main():
    async with aioble.scan(2000, interval_us=30000, window_us=30000, active=True) as scanner:
        async for result in scanner:
            if result.name() == 'porch':
                device = result.device
                break
    connection = await device.connect(timeout_ms=3000)
    async with connection:
        service = await connection.service(bluetooth.UUID(0x181A))
        temperature = await service.characteristic(bluetooth.UUID(0x2A6E))
        print('porch', int.from_bytes(await temperature.read(timeout_ms=3000), 'little') / 100, 'C')
asyncio.run(main())"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--micropython-lib", type=Path, required=True, help="a micropython-lib checkout")
    args = parser.parse_args()
    package = args.micropython_lib / "micropython" / "bluetooth" / "aioble"
    version = re.search(r'version="([^"]+)"', (package / "manifest.py").read_text()).group(1)
    sources = {f"aioble/{path.name}": path.read_bytes() for path in sorted((package / "aioble").glob("*.py"))}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        build_index(tmp / "index", {"py"}, {"aioble": (version, sources, [])})
        index = serve(tmp / "index")
        km, kc = start_kernel(tmp)
        failed = False
        try:
            for what, code in (("%mip install", f"%mip install aioble --index {index.url} --no-mpy"),
                               ("the bench's sensor", SENSOR), ("aioble as a central", CENTRAL)):  # fmt: skip
                run = run_cell(kc, code, timeout=120)
                print(f"{what}: {run.status}\n{run.stdout.strip()}")
                if run.status != "ok":
                    print(run.reply["content"].get("evalue", ""))
                    failed = True
                    break
            failed = failed or "porch 18.25 C" not in run.stdout
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            index.shutdown()
    print("FAILED" if failed else f"aioble {version}: installed by %mip from a loopback index, and it works unchanged")
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
