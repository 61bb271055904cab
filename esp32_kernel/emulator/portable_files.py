"""The portable core's file system, kept on the host: the same LittleFS on the same flash
image as the native core's, mounted here with littlefs-python (flash_files.py's geometry).

MicroPython for WASI has no VfsLfs2, so the board's / is a Python VFS
(firmware/_esp32_hostfs.py) whose every operation is one request to this class:
``[op, args…]`` in, ``[value]`` or ``[None, "ENOENT"]`` out (JSON: errors by name, as
the two sides number them differently). Files the board opens are
handles here until it closes them. Changes made from the host meanwhile (flash_files.py,
which bumps `.esp32/vfs-changes`) are seen by remounting when no file is open.
"""

from __future__ import annotations

import errno
import json
import stat
import struct
import time
from pathlib import Path

from littlefs import LittleFSError

from . import flash_files, storage

_SECONDS_1970_TO_2000 = 946684800
_MTIME_ATTR = 1  # vfs_lfs.c: LFS_ATTR_MTIME, ns since 1970


class BoardFiles:
    def __init__(self, board_dir: Path, flash_size: int):
        self._files = flash_files.FlashFiles(board_dir, flash_size)
        self._changes = storage.hidden_dir(Path(board_dir)) / flash_files.CHANGES_FILE
        self._fs = None
        self._seen = b""
        self._handles: dict[int, object] = {}
        self._next_handle = 1

    def request(self, payload: str) -> str:
        op, *args = json.loads(payload)
        try:
            if op not in ("mount", "mkfs") and self._fs is None:
                raise OSError(errno.ENODEV, "not mounted")
            if not self._handles and op not in ("mount", "mkfs"):
                self._remount_if_changed()
            value = getattr(self, "_op_" + op)(*args)
        except (LittleFSError, OSError) as error:
            return json.dumps([None, _errno(error)])
        return json.dumps([value])

    def close(self) -> None:
        for handle in list(self._handles.values()):
            try:
                handle.close()
            except (OSError, LittleFSError):
                pass
        self._handles.clear()
        if self._fs is not None:
            try:
                self._fs.unmount()
            except LittleFSError:
                pass
            self._fs = None

    def _read_changes(self) -> bytes:
        try:
            return self._changes.read_bytes()
        except OSError:
            return b""

    def _remount_if_changed(self) -> None:
        now = self._read_changes()
        if now != self._seen:
            self._seen = now
            self._fs.unmount()
            self._fs = self._files._fs()

    # -- operations (what VfsLfs2 offers the VFS)

    def _op_mount(self) -> bool:
        self._seen = self._read_changes()
        self._fs = self._files._fs()  # LittleFSError: no LittleFS (the board formats it)
        return True

    def _op_mkfs(self) -> bool:
        self._files._fs(mount=False).format()
        return True

    def _op_open(self, path: str, mode: str) -> int:
        flags = mode.replace("t", "")
        if "b" not in flags:
            flags += "b"
        handle = self._fs.open(path, flags)
        if "w" in mode or "a" in mode or "x" in mode:
            self._stamp(path)
        number = self._next_handle
        self._next_handle += 1
        self._handles[number] = handle
        return number

    def _handle(self, number: int):
        try:
            return self._handles[number]
        except KeyError:
            raise OSError(errno.EBADF, "file closed") from None

    def _op_read(self, number: int, size: int) -> str:
        return self._handle(number).read(size).hex()

    def _op_write(self, number: int, data: str) -> int:
        return self._handle(number).write(bytes.fromhex(data))

    def _op_seek(self, number: int, offset: int, whence: int) -> int:
        return self._handle(number).seek(offset, whence)

    def _op_flush(self, number: int) -> None:
        self._handle(number).flush()

    def _op_close(self, number: int) -> None:
        handle = self._handles.pop(number, None)
        if handle is not None:
            handle.close()

    def _op_ilistdir(self, path: str) -> list:
        return [[e.name, 0x4000 if e.type == 2 else 0x8000, 0, e.size] for e in self._fs.scandir(path)]

    def _op_stat(self, path: str) -> list:
        st = self._fs.stat(path)
        mode = stat.S_IFDIR if st.type == 2 else stat.S_IFREG
        mtime = 0
        try:
            (ns,) = struct.unpack("<Q", self._fs.getattr(path, _MTIME_ATTR))
            mtime = ns // 1_000_000_000 - _SECONDS_1970_TO_2000
        except (LittleFSError, struct.error):
            pass
        return [mode, 0, 0, 0, 0, 0, st.size, mtime, mtime, mtime]

    def _op_statvfs(self) -> list:
        free = self._files.block_count - self._fs.used_block_count
        size = flash_files.BLOCK_SIZE
        return [size, size, self._files.block_count, free, free, 0, 0, 0, 0, 255]

    def _op_mkdir(self, path: str) -> None:
        self._fs.mkdir(path)

    def _op_rmdir(self, path: str) -> None:
        if self._fs.stat(path).type != 2:
            raise OSError(errno.ENOTDIR, path)
        self._fs.remove(path)

    def _op_remove(self, path: str) -> None:
        if self._fs.stat(path).type == 2:
            raise OSError(errno.EISDIR, path)
        self._fs.remove(path)

    def _op_rename(self, old: str, new: str) -> None:
        self._fs.rename(old, new)

    def _stamp(self, path: str) -> None:
        self._fs.setattr(path, _MTIME_ATTR, struct.pack("<Q", time.time_ns()))


def _errno(error: Exception) -> str:
    """The name of the errno a board's VfsLfs2 raises for a LittleFS error (-code), or of the OSError's own."""
    source = error if isinstance(error, LittleFSError) else error.__cause__
    code = getattr(source, "code", None)
    if not (isinstance(code, int) and code < 0):
        code = -(getattr(error, "errno", None) or errno.EIO)
    return errno.errorcode.get(-code, "EIO")
