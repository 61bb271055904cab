"""Where an emulated board keeps its files: a host folder that is the whole of its `/`."""

from __future__ import annotations

import hashlib
from pathlib import Path

# What MicroPython v1.24's first boot on an ESP32 writes (ports/esp32/modules/inisetup.py).
FIRST_BOOT_PY = """\
# This file is executed on every boot (including wake-boot from deepsleep)
#import esp
#esp.osdebug(None)
#import webrepl
#webrepl.start()
"""

_ESPRESSIF_OUI = bytes.fromhex("240ac4")


def default_board_dir() -> Path:
    """The default board's folder, under Jupyter's data directory; created if missing."""
    from jupyter_core.paths import jupyter_data_dir

    folder = Path(jupyter_data_dir()) / "esp32-kernel" / "boards" / "default"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def prepare_board_dir(folder: Path) -> Path:
    """Create the folder if needed; an empty one gets boot.py, as a freshly flashed ESP32 does."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if not any(p.name != ".esp32" for p in folder.iterdir()):  # .esp32/: its NVS and flash (storage.py)
        (folder / "boot.py").write_text(FIRST_BOOT_PY)
    return folder


def unique_id(folder: Path) -> bytes:
    """A MAC address for the board, stable for its folder (what machine.unique_id() returns)."""
    digest = hashlib.sha256(str(Path(folder).resolve()).encode()).digest()
    return _ESPRESSIF_OUI + digest[:3]
