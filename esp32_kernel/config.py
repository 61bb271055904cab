"""Which board a new kernel connects to, from the environment and config files.

First match wins:
1. ``ESP32_KERNEL_PORT`` (and ``ESP32_KERNEL_BAUD``) in the environment;
2. ``esp32_kernel.json`` in the notebook's folder (the kernel's working directory);
3. ``esp32_kernel.json`` in Jupyter's config folder (``jupyter --config-dir``);
4. the one ESP32 found by its USB bridge's VID:PID;
5. the bundled emulator.

A config file is JSON: ``{"port": "/dev/ttyUSB0", "baud": 115200}``; ``"port": "emulator"``
asks for the emulator even when a board is plugged in.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from jupyter_core.paths import jupyter_config_dir

from .link.serial_link import DEFAULT_BAUD

CONFIG_NAME = "esp32_kernel.json"
EMULATOR = "emulator"


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    port: str | None  # None: find a board, else the emulator
    baud: int
    source: str  # where the choice came from, for the user


def config_files(cwd: Path | None = None) -> list[Path]:
    return [(cwd or Path.cwd()) / CONFIG_NAME, Path(jupyter_config_dir()) / CONFIG_NAME]


def _baud(value: object, source: str) -> int:
    try:
        baud = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"baud {value!r} from {source} is not a number") from None
    if baud <= 0:
        raise ConfigError(f"baud {baud} from {source} must be positive")
    return baud


def resolve_target(environ: dict[str, str] | None = None, cwd: Path | None = None) -> Target:
    env = os.environ if environ is None else environ
    if env.get("ESP32_KERNEL_PORT"):
        return Target(env["ESP32_KERNEL_PORT"], _baud(env.get("ESP32_KERNEL_BAUD", DEFAULT_BAUD), "ESP32_KERNEL_BAUD"), "ESP32_KERNEL_PORT")
    for path in config_files(cwd):
        if not path.is_file():
            continue
        try:
            settings = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ConfigError(f"{path} is not valid JSON ({e}) — fix or delete it") from e
        if not isinstance(settings, dict):
            raise ConfigError(f"{path} must hold a JSON object like {{\"port\": \"/dev/ttyUSB0\"}}")
        if settings.get("port"):
            return Target(str(settings["port"]), _baud(settings.get("baud", DEFAULT_BAUD), str(path)), str(path))
    return Target(None, _baud(env.get("ESP32_KERNEL_BAUD", DEFAULT_BAUD), "ESP32_KERNEL_BAUD"), "auto")
