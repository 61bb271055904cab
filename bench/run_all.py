"""Every figure in one run: `make bench` (or `.venv/bin/python bench/run_all.py`).

Runs each bench script in turn and prints its table; a script that fails is reported and
the rest still run. Figures are medians with their spread, beside the baselines measured in
the same run (mpremote, jupyter_micropython_kernel, the line rate, plain ipykernel).
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ("kernel: cells, interrupt, start (issue 2)", "bench_kernel.py", []),
    ("files: upload and download (issue 5)", "bench_files.py", []),
    ("live data: records to plots (issue 4)", "bench_live.py", ["--minutes", "1"]),
    ("emulator: memory, idle CPU, bench round trip (issue 3)", "bench_emulator.py", []),
    ("emulator cores: native and portable side by side (issue 12)", "bench_cores.py", []),
    ("a class: 30 kernels streaming at once", "bench_load.py", []),
    ("a class on JupyterHub: 30 students starting at once (issue 17)", "bench_hub.py", []),
    ("WebREPL: cells over ws:// beside socket://", "bench_webrepl.py", []),
    ("Web Serial: cells over the browser's port beside socket:// (issue 18)", "bench_webserial.py", []),
    ("flashing: esptool on the emulated ROM bootloader", "bench_flash.py", []),
]


def main() -> int:
    print(f"esp32-kernel figures — {time.strftime('%Y-%m-%d %H:%M')} — {platform.platform()},"
          f" {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    failed = []
    for title, script, args in SCRIPTS:
        print(f"\n# {title}\n", flush=True)
        run = subprocess.run([sys.executable, str(HERE / script), *args])
        if run.returncode:
            failed.append(script)
            print(f"({script} failed with exit code {run.returncode})")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
