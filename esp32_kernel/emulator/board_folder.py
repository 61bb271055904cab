"""Where an emulated board keeps its state: a host folder holding its flash (`.esp32/`).

The board's files live in the LittleFS on its flash image; flash_files.py reaches them from
the host."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from . import flash_files, storage

_ESPRESSIF_OUI = bytes.fromhex("240ac4")


def default_board_dir() -> Path:
    """The default board's folder, under Jupyter's data directory; created if missing."""
    from jupyter_core.paths import jupyter_data_dir

    folder = Path(jupyter_data_dir()) / "esp32-kernel" / "boards" / "default"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def prepare_board_dir(folder: Path, flash_size: int = 0x400000) -> Path:
    """Create the folder and its flash image if needed (the board formats a blank one at boot).

    A folder from an older version, whose plain files were the board's /, has them copied
    into the flash's LittleFS once (flash_files.import_plain_files), and is told so."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    storage.FlashImage(folder, flash_size).ensure()
    done = flash_files.import_plain_files(folder, flash_size)
    if done:
        logging.getLogger(__name__).warning(done)
    return folder


def unique_id(folder: Path) -> bytes:
    """A MAC address for the board, stable for its folder (what machine.unique_id() returns)."""
    digest = hashlib.sha256(str(Path(folder).resolve()).encode()).digest()
    return _ESPRESSIF_OUI + digest[:3]
