"""The board's files, from the host: the LittleFS on its flash image's `vfs` partition.

What the board mounts at `/` (firmware/_esp32_files.py; the partition as
board_profile.partition_table lays it out), read and written here with
littlefs-python in the geometry MicroPython v1.24's VfsLfs2 gives it on an ESP32: 4 KiB
blocks, read/prog size 32, a 128-byte cache, 32 bytes of lookahead, 100 block cycles. Files
written here carry the modification time MicroPython keeps (attribute 1: nanoseconds since
1970), so os.stat() on the board shows it.

    files = FlashFiles(board_dir)
    files.write("main.py", "print('hi')\\n"); files.read("boot.py"); files.ls("/")

Each call mounts the image afresh, so it sees what the board last committed. Changes made
while the board runs bump `.esp32/vfs-changes`, which makes the board remount before its next
file operation; don't change files while the running program is writing files: two
writers at once on one LittleFS can corrupt it.
"""

from __future__ import annotations

import os
import struct
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from littlefs import LittleFS, LittleFSError, UserContext

from ..chip import board_profile
from . import storage

BLOCK_SIZE = 4096
DEFAULT_FLASH_SIZE = 0x400000
_MTIME_ATTR = 1  # vfs_lfs.c: LFS_ATTR_MTIME
CHANGES_FILE = "vfs-changes"


class FlashFilesError(OSError):
    """A host-side file operation on the board failed: the message says what and why."""


@dataclass(frozen=True)
class Entry:
    name: str
    is_dir: bool
    size: int


class _FlashContext(UserContext):
    """littlefs-python's block device: the vfs partition of the flash image (storage.FlashImage)."""

    def __init__(self, flash: storage.FlashImage, offset: int):
        self._flash = flash
        self._offset = offset

    def read(self, cfg, block, off, size):
        return bytearray(self._flash.read(self._offset + block * BLOCK_SIZE + off, size))

    def prog(self, cfg, block, off, data):
        self._flash.write(self._offset + block * BLOCK_SIZE + off, bytes(data))
        return 0

    def erase(self, cfg, block):
        self._flash.erase(self._offset + block * BLOCK_SIZE, BLOCK_SIZE)
        return 0

    def sync(self, cfg):
        return 0


def flash_size_of(board_dir: Path) -> int:
    """The board's flash size: its image's, once one exists (profiles differ only there)."""
    image = Path(board_dir) / storage.HIDDEN_DIR / "flash.bin"
    return image.stat().st_size if image.exists() else DEFAULT_FLASH_SIZE


class FlashFiles:
    def __init__(self, board_dir: str | os.PathLike, flash_size: int | None = None):
        self.board_dir = Path(board_dir)
        if not self.board_dir.is_dir():
            raise FlashFilesError(f"{self.board_dir} is not a board folder (no such folder)")
        self.flash_size = flash_size or flash_size_of(self.board_dir)
        vfs = [p for p in board_profile.partition_table(self.flash_size) if p[4] == "vfs" and p[3] > 0]
        if not vfs:
            raise FlashFilesError(
                f"a {self.flash_size}-byte flash has no vfs partition (MicroPython's file system)"
            )
        self.vfs_offset, vfs_size = vfs[0][2], vfs[0][3]
        self.flash = storage.FlashImage(self.board_dir, self.flash_size)
        self.block_count = vfs_size // BLOCK_SIZE

    # -- the file system

    def _fs(self, mount: bool = True) -> LittleFS:
        fs = LittleFS(
            context=_FlashContext(self.flash, self.vfs_offset), mount=False,
            block_size=BLOCK_SIZE, block_count=self.block_count,
            read_size=32, prog_size=32, cache_size=128, lookahead_size=32, block_cycles=100,
        )  # fmt: skip
        if mount:
            fs.mount()  # raises on no LittleFS (LittleFS(mount=True) would format it instead)
        return fs

    @contextmanager
    def _mounted(self, what: str, changes: bool = False):
        try:
            fs = self._fs()
        except LittleFSError as error:
            raise FlashFilesError(
                f"{what}: the board's vfs partition holds no LittleFS ({error}); "
                "the board formats an erased one at its next boot"
            ) from None
        try:
            yield fs
        except (LittleFSError, OSError) as error:
            if isinstance(error, FlashFilesError):
                raise
            raise _os_error(error, what) from None
        finally:
            try:
                fs.unmount()
            finally:
                if changes:
                    self._mark_changed()

    def has_filesystem(self) -> bool:
        try:
            self._fs().unmount()
            return True
        except LittleFSError:
            return False

    def format(self) -> None:
        """An empty LittleFS, as VfsLfs2.mkfs makes it (the board writes no boot.py then)."""
        fs = self._fs(mount=False)
        fs.format()
        self._mark_changed()

    def _mark_changed(self) -> None:
        # rewritten in place: the board holds this file open
        path = storage.hidden_dir(self.board_dir) / CHANGES_FILE
        stamp = str(time.time_ns()).encode()
        with open(path, "r+b" if path.exists() else "wb") as f:
            f.write(stamp.ljust(32))

    # -- reading

    def ls(self, path: str = "/") -> list[Entry]:
        with self._mounted(f"ls {path}") as fs:
            entries = [Entry(e.name, e.type == 2, e.size) for e in fs.scandir(_board_path(path))]
        return sorted(entries, key=lambda e: e.name)

    def walk(self, path: str = "/") -> list[str]:
        """Every file's path under path (folders not listed), sorted."""
        found = []
        with self._mounted(f"walk {path}") as fs:
            for root, _dirs, files in fs.walk(_board_path(path)):
                found += ["/" + f"{root.strip('/')}/{name}".lstrip("/") for name in files]
        return sorted(found)

    def exists(self, path: str) -> bool:
        with self._mounted(f"stat {path}") as fs:
            try:
                fs.stat(_board_path(path))
                return True
            except LittleFSError:
                return False

    def is_dir(self, path: str) -> bool:
        with self._mounted(f"stat {path}") as fs:
            try:
                return fs.stat(_board_path(path)).type == 2
            except LittleFSError:
                return False

    def size(self, path: str) -> int:
        with self._mounted(f"stat {path}") as fs:
            return fs.stat(_board_path(path)).size

    def read(self, path: str) -> bytes:
        with self._mounted(f"read {path}") as fs:
            with fs.open(_board_path(path), "rb") as f:
                return f.read()

    def read_text(self, path: str) -> str:
        return self.read(path).decode()

    def statvfs(self) -> tuple:
        """What os.statvfs('/') says on the board."""
        with self._mounted("statvfs") as fs:
            free = self.block_count - fs.used_block_count
        return (BLOCK_SIZE, BLOCK_SIZE, self.block_count, free, free, 0, 0, 0, 0, 255)

    # -- writing

    def write(self, path: str, data: bytes | str) -> None:
        """Create or replace a file (its folder must exist, as on the board)."""
        if isinstance(data, str):
            data = data.encode()
        target = _board_path(path)
        with self._mounted(f"write {path}", changes=True) as fs:
            with fs.open(target, "wb") as f:
                f.write(data)
            fs.setattr(target, _MTIME_ATTR, struct.pack("<Q", time.time_ns()))

    def write_text(self, path: str, text: str) -> None:
        self.write(path, text)

    def mkdir(self, path: str, parents: bool = False) -> None:
        with self._mounted(f"mkdir {path}", changes=True) as fs:
            if parents:
                fs.makedirs(_board_path(path), exist_ok=True)
            else:
                fs.mkdir(_board_path(path))

    def remove(self, path: str, recursive: bool = False) -> None:
        with self._mounted(f"rm {path}", changes=True) as fs:
            fs.remove(_board_path(path), recursive=recursive)

    def rename(self, old: str, new: str) -> None:
        with self._mounted(f"rename {old}", changes=True) as fs:
            fs.rename(_board_path(old), _board_path(new))

    def put_tree(self, source: Path, target: str = "/") -> int:
        """Copy a host folder's files (not names starting with '.') under target; returns the count."""
        source = Path(source)
        count = 0
        with self._mounted(f"put {source}", changes=True) as fs:
            stamp = struct.pack("<Q", time.time_ns())
            for folder, dirs, files in os.walk(source):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                relative = Path(folder).relative_to(source).as_posix()
                base = _board_path(target if relative == "." else f"{target.rstrip('/')}/{relative}")
                fs.makedirs(base, exist_ok=True)
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    path = f"{base.rstrip('/')}/{name}"
                    with fs.open(path, "wb") as f:
                        f.write((Path(folder) / name).read_bytes())
                    fs.setattr(path, _MTIME_ATTR, stamp)
                    count += 1
        return count


def _board_path(path: str) -> str:
    path = "/" + str(path).strip().lstrip("/")
    return path.rstrip("/") or "/"


_LFS_ERRORS = {
    -2: (FileNotFoundError, "no such file or folder on the board"),
    -17: (FileExistsError, "it exists already on the board"),
    -20: (NotADirectoryError, "a part of the path is a file, not a folder"),
    -21: (IsADirectoryError, "it is a folder"),
    -39: (OSError, "the folder is not empty (remove it recursively)"),
    -28: (OSError, "no space left on the board's flash (ENOSPC); remove files first"),
    -36: (OSError, "a name is longer than LittleFS's 255 characters"),
    -84: (OSError, "the board's file system is corrupted; erase the vfs partition to start afresh"),
}


def _os_error(error: Exception, what: str) -> OSError:
    """littlefs-python's error (LittleFSError, or an OSError raised from one) as an OSError of the
    matching kind and errno, whose message says what failed and why."""
    source = error if isinstance(error, LittleFSError) else error.__cause__
    code = getattr(source, "code", None)
    if code is None:
        return FlashFilesError(f"{what}: {error}")
    kind, text = _LFS_ERRORS.get(code, (OSError, str(source)))
    return kind(-code, f"{what}: {text}")


# -- board folders from before the flash held a LittleFS

IMPORTED_DIR = "files-before-littlefs"


def import_plain_files(board_dir: Path, flash_size: int) -> str | None:
    """Copy a board folder's plain files (what older versions used as the board's /) into a
    fresh LittleFS, once: when the vfs partition holds none yet. The originals move to
    `.esp32/files-before-littlefs/`. Returns what was done, for the log, or None."""
    board_dir = Path(board_dir)
    plain = [p for p in board_dir.iterdir() if p.name not in (storage.HIDDEN_DIR, storage.SdCardImage.NAME)]
    if not plain:
        return None
    files = FlashFiles(board_dir, flash_size)
    if files.has_filesystem():
        return None
    files.format()
    try:
        count = files.put_tree(board_dir)
    except OSError as error:
        files.flash.erase(files.vfs_offset, 2 * BLOCK_SIZE)  # no half-imported file system stays
        raise FlashFilesError(
            f"{board_dir}: could not copy this folder's files into the board's flash ({error}); "
            "they are untouched: make them fit in the vfs partition, or use another --board-dir"
        ) from None
    kept = storage.hidden_dir(board_dir) / IMPORTED_DIR
    kept.mkdir(exist_ok=True)
    for path in plain:
        os.replace(path, kept / path.name)
    return (
        f"{board_dir}: copied {count} file(s) of this board folder into the board's flash (LittleFS, "
        f"as MicroPython keeps them); the originals are kept in {kept}. "
        f"Use `esp32-emulator files {board_dir} ls|get|put|rm` to reach the board's files now."
    )
