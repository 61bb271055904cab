"""The emulated board's flash, kept in its folder (hidden from the board: `.esp32/`).

- NVS (esp32.NVS): namespaces of typed keys in `.esp32/nvs.json`, written at each change,
  as ESP-IDF writes each value to flash at once. Limits as ESP-IDF 5's: keys and namespace
  names of at most 15 characters, a 24 KiB partition (0x6000: 6 pages of 126 32-byte entries,
  one page kept free), blobs of at most one page's worth per chunk.
- An SD card (machine.SDCard): `sdcard.img` in the board folder itself, a plain disk image
  (512-byte blocks) a user can copy off or replace with a real card's image; inserted while
  the file is there, unless ejected from the bench.
- The flash image (esp.flash_*, esp32.Partition): `.esp32/flash.bin`, a sparse file of the
  board's flash size holding each byte inverted, so never-written flash reads 0xFF (erased)
  at no disk cost. Writes only clear bits, as NOR flash does; erases are 4 KiB sectors.
  Its `vfs` partition holds the board's LittleFS (firmware/_esp32_files.py, which reads and
  writes this file directly; flash_files.py from the host).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

HIDDEN_DIR = ".esp32"
SECTOR = 4096

# ESP-IDF error codes (esp_err.h, nvs.h)
ESP_ERR_INVALID_ARG = 0x102
ESP_ERR_INVALID_SIZE = 0x104
ESP_ERR_NVS_NOT_FOUND = 0x1102
ESP_ERR_NVS_NOT_ENOUGH_SPACE = 0x1105
ESP_ERR_NVS_KEY_TOO_LONG = 0x1109
ESP_ERR_NVS_VALUE_TOO_LONG = 0x110E

_INVERT = bytes(255 - i for i in range(256))  # flash.bin holds each byte inverted

_MAX_KEY = 15
_ENTRY = 32
_ENTRIES_PER_PAGE = 126
_NVS_PAGES = 0x6000 // SECTOR
_NVS_CAPACITY = (_NVS_PAGES - 1) * _ENTRIES_PER_PAGE  # entries: one page is kept for garbage collection
_BLOB_CHUNK = (_ENTRIES_PER_PAGE - 1) * _ENTRY  # data bytes one page can hold of a blob
_BLOB_MAX = (_NVS_PAGES - 1) * _BLOB_CHUNK


def hidden_dir(board_dir: Path) -> Path:
    folder = Path(board_dir) / HIDDEN_DIR
    folder.mkdir(exist_ok=True)
    return folder


class Nvs:
    def __init__(self, board_dir: Path):
        self._board_dir = Path(board_dir)
        self._path = self._board_dir / HIDDEN_DIR / "nvs.json"
        self._data: dict[str, dict[str, list]] | None = None

    def _load(self) -> dict:
        if self._data is None:
            try:
                self._data = json.loads(self._path.read_text())
            except (OSError, ValueError):
                self._data = {}
        return self._data

    def _save(self) -> None:
        hidden_dir(self._board_dir)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._data, sort_keys=True))
        os.replace(tmp, self._path)

    @staticmethod
    def _entries(kind: str, value) -> int:
        if kind == "i32":
            return 1
        size = len(bytes.fromhex(value))
        chunks = max(1, -(-size // _BLOB_CHUNK))
        return 1 + chunks + -(-size // _ENTRY)  # the blob index, a header per chunk, the data

    def _used(self) -> int:
        data = self._load()
        return sum(1 + sum(self._entries(k, v) for k, v in keys.values()) for keys in data.values())

    def open(self, namespace: str) -> int:
        data = self._load()
        if namespace[:_MAX_KEY] in {n[:_MAX_KEY] for n in data}:
            return 0
        if len(namespace) > _MAX_KEY:
            return ESP_ERR_NVS_KEY_TOO_LONG
        if self._used() + 1 > _NVS_CAPACITY:
            return ESP_ERR_NVS_NOT_ENOUGH_SPACE
        data[namespace] = {}
        self._save()
        return 0

    def _namespace(self, namespace: str) -> dict:
        data = self._load()
        for name in data:
            if name[:_MAX_KEY] == namespace[:_MAX_KEY]:
                return data[name]
        return data.setdefault(namespace, {})

    def set(self, namespace: str, key: str, kind: str, value) -> int:
        if len(key) > _MAX_KEY:
            return ESP_ERR_NVS_KEY_TOO_LONG
        if kind == "blob" and len(bytes.fromhex(value)) > _BLOB_MAX:
            return ESP_ERR_NVS_VALUE_TOO_LONG
        keys = self._namespace(namespace)
        old = keys.get(key)
        freed = self._entries(*old) if old else 0
        if self._used() - freed + self._entries(kind, value) > _NVS_CAPACITY:
            return ESP_ERR_NVS_NOT_ENOUGH_SPACE
        keys[key] = [kind, value]
        self._save()
        return 0

    def get(self, namespace: str, key: str, kind: str) -> list:
        item = self._namespace(namespace).get(key)
        if item is None or item[0] != kind:  # ESP-IDF looks a key up by name and type
            return [ESP_ERR_NVS_NOT_FOUND, None]
        return [0, item[1]]

    def erase(self, namespace: str, key: str) -> int:
        keys = self._namespace(namespace)
        if key not in keys:
            return ESP_ERR_NVS_NOT_FOUND
        del keys[key]
        self._save()
        return 0


class FlashImage:
    def __init__(self, board_dir: Path, size: int):
        self._board_dir = Path(board_dir)
        self._path = self._board_dir / HIDDEN_DIR / "flash.bin"
        self.size = size

    def ensure(self) -> None:
        """Create the image (all erased) if there is none yet, so the board can open it."""
        self._open().close()

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ValueError(f"flash access 0x{offset:x}+{length} beyond the flash's {self.size} bytes")

    def _open(self):
        hidden_dir(self._board_dir)
        if not self._path.exists() or self._path.stat().st_size != self.size:
            with open(self._path, "ab") as f:
                f.truncate(self.size)
        return open(self._path, "r+b")

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        if not self._path.exists():
            return b"\xff" * length
        with self._open() as f:
            f.seek(offset)
            stored = f.read(length).ljust(length, b"\0")
        return stored.translate(_INVERT)

    def write(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data))
        with self._open() as f:
            f.seek(offset)
            stored = f.read(len(data)).ljust(len(data), b"\0")
            # NOR flash: a write can only turn 1s into 0s (stored inverted: only set bits)
            f.seek(offset)
            cleared = int.from_bytes(bytes(data).translate(_INVERT), "little")
            f.write((int.from_bytes(stored, "little") | cleared).to_bytes(len(data), "little"))

    def erase(self, offset: int, length: int) -> None:
        self._check(offset, length)
        if offset % SECTOR or length % SECTOR:
            raise ValueError("flash erases whole 4 KiB sectors")
        with self._open() as f:
            f.seek(offset)
            f.write(b"\0" * length)


class SdCardImage:
    """The card in the board's SD slot: `sdcard.img` in the board folder."""

    BLOCK = 512
    NAME = "sdcard.img"

    def __init__(self, board_dir: Path) -> None:
        self.path = Path(board_dir) / self.NAME
        self.ejected = False

    @property
    def inserted(self) -> bool:
        return not self.ejected and self.path.is_file()

    def insert(self, megabytes: int = 32) -> dict:
        """A card in the slot: the image there, else a new blank one (sparse: no disk cost)."""
        if not self.path.exists():
            if not 1 <= megabytes <= 32768:
                raise ValueError("an SD card of 1 to 32768 MB (SDHC)")
            with open(self.path, "wb") as image:
                image.truncate(megabytes * 1024 * 1024)
        self.ejected = False
        return self.describe()

    def eject(self) -> dict:
        self.ejected = True
        return self.describe()

    def describe(self) -> dict:
        size = self.path.stat().st_size if self.inserted else 0
        return {"inserted": self.inserted, "path": str(self.path), "bytes": size}

    def blocks(self) -> list | None:
        """[block count, blank (block 0 all zeros: a card never formatted)], or None: no card."""
        if not self.inserted:
            return None
        with open(self.path, "rb") as image:
            first = image.read(self.BLOCK)
        return [self.path.stat().st_size // self.BLOCK, not any(first)]

    def read(self, block: int, count: int) -> bytes | None:
        if not self.inserted or block < 0 or block + count > self.path.stat().st_size // self.BLOCK:
            return None
        with open(self.path, "rb") as image:
            image.seek(block * self.BLOCK)
            return image.read(count * self.BLOCK)

    def write(self, block: int, data: bytes) -> bool:
        if not self.inserted or block < 0 or block * self.BLOCK + len(data) > self.path.stat().st_size:
            return False
        with open(self.path, "r+b") as image:
            image.seek(block * self.BLOCK)
            image.write(data)
        return True
