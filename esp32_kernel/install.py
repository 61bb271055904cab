"""python -m esp32_kernel install [--user | --sys-prefix | --prefix DIR]: register the kernel.

pip already installs the kernel spec into the environment (share/jupyter/kernels/esp32);
this command is for other places, e.g. a user's own kernels folder.
"""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files

from jupyter_client.kernelspec import KernelSpecManager

KERNEL_NAME = "esp32"


def install(*, user: bool = False, prefix: str | None = None) -> str:
    spec_dir = files("esp32_kernel") / "kernelspec"
    return KernelSpecManager().install_kernel_spec(str(spec_dir), KERNEL_NAME, user=user, prefix=prefix)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m esp32_kernel install", description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="into your own Jupyter data folder")
    where.add_argument("--sys-prefix", action="store_true", help=f"into this Python environment ({sys.prefix})")
    where.add_argument("--prefix", help="into PREFIX/share/jupyter/kernels")
    args = parser.parse_args(argv)
    prefix = sys.prefix if args.sys_prefix else args.prefix
    path = install(user=args.user or (prefix is None), prefix=prefix)
    print(f"Installed the ESP32 (MicroPython) kernel spec in {path}")
