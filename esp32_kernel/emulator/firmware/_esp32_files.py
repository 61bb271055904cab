"""The board's file system: its host folder, mounted as the whole of `/`.

A stand-in for the ESP32's LittleFS partition (v1.24's 4 MB layout: the `vfs` partition,
2 MiB of 4 KiB blocks). BoardFolder wraps a VfsPosix rather than subclassing it, where the
unix port differs from a board:

- a Python subclass of VfsPosix inherits its C import_stat hook, which then reads the
  subclass instance as a VfsPosix and fails every import by absolute path ('/lib' on
  sys.path); a wrapper has no such hook, so imports go through stat() as they should;
- VfsPosix's rename builds both host paths in one buffer, so a rename whose two paths are
  absolute renames the new path onto itself (ENOENT): absolute paths are made relative;
- listings carry sizes (a board's LittleFS gives them; mpremote's `fs ls` shows them);
- statvfs() is a LittleFS partition's: block counts from the files, not the host's disk,
  and writes past the partition's size fail with ENOSPC as on a full board.
"""

import io
import os
import vfs

_DIRECTORY = 0x4000
_HIDDEN = ".esp32"
ENOSPC = 28

# v1.24 ESP32 (partitions-4MiB.csv): vfs at 0x200000, 0x200000 bytes; LittleFS v2 with
# VfsLfs2's defaults (read/prog size 32: a 128-byte cache, so files up to 128 bytes are
# inlined in their directory's metadata and take no block of their own).
BLOCK_SIZE = 4096
BLOCK_COUNT = 0x200000 // BLOCK_SIZE
_INLINE_MAX = 128
_NAME_MAX = 255


def _file_blocks(size):
    return 0 if size <= _INLINE_MAX else (size + BLOCK_SIZE - 1) // BLOCK_SIZE


class BoardFolder:
    def __init__(self, folder):
        self._fs = vfs.VfsPosix(folder)

    # -- what the VFS calls

    def mount(self, readonly, mkfs):
        return self._fs.mount(readonly, mkfs)

    def umount(self):
        return self._fs.umount()

    def chdir(self, path):
        return self._fs.chdir(path)

    def getcwd(self):
        return self._fs.getcwd()

    def mkdir(self, path):
        if self._free_blocks() < 2:  # a directory is a metadata pair
            raise OSError(ENOSPC)
        return self._fs.mkdir(path)

    def remove(self, path):
        return self._fs.remove(path)

    def rmdir(self, path):
        return self._fs.rmdir(path)

    def stat(self, path):
        return self._fs.stat(path)

    def rename(self, old, new):
        return self._fs.rename(self._relative(old), self._relative(new))

    def open(self, path, mode):
        file = self._fs.open(path, mode)
        if "r" in mode and "+" not in mode:
            return file
        return _SizedFile(file, self, path)

    def ilistdir(self, path):
        at_root = path in ("", "/") and self._fs.getcwd() == "/" or path == "/"
        for entry in self._fs.ilistdir(path):
            name, kind, inode = entry[0], entry[1], entry[2]
            if at_root and name == _HIDDEN:
                continue  # the board's NVS and flash image, not part of its file system
            size = 0
            if kind != _DIRECTORY:
                # path is absolute within this file system, or "" for its current folder
                size = self._fs.stat(path.rstrip("/") + "/" + name if path else name)[6]
            yield (name, kind, inode, size)

    def statvfs(self, path):
        free = self._free_blocks()
        return (BLOCK_SIZE, BLOCK_SIZE, BLOCK_COUNT, free, free, 0, 0, 0, 0, _NAME_MAX)

    # -- helpers

    def _relative(self, path):
        """An absolute path as one relative to the current folder (the host's cwd)."""
        if path[:1] != "/":
            return path
        depth = len([part for part in self._fs.getcwd().split("/") if part])
        return "../" * depth + path.lstrip("/") or "."

    def _used_blocks(self, exclude=None):
        used = 2  # the root directory's metadata pair (superblock)
        stack = ["/"]
        while stack:
            folder = stack.pop()
            for entry in self._fs.ilistdir(folder):
                name, kind = entry[0], entry[1]
                if folder == "/" and name == _HIDDEN:
                    continue
                full = folder + name if folder == "/" else folder + "/" + name
                if kind == _DIRECTORY:
                    used += 2
                    stack.append(full)
                elif full != exclude:
                    try:
                        used += _file_blocks(self._fs.stat(full)[6])
                    except OSError:
                        pass
        return used

    def _free_blocks(self, exclude=None):
        return max(0, BLOCK_COUNT - self._used_blocks(exclude))


class _SizedFile(io.IOBase):
    """A file open for writing: its writes fail with ENOSPC once the partition is full."""

    def __init__(self, file, folder, path):
        self._file = file
        # blocks this file may grow to: the free ones, and those it holds already
        absolute = path if path[:1] == "/" else _join(folder.getcwd(), path)
        self._limit = folder._free_blocks(exclude=absolute) * BLOCK_SIZE

    def write(self, data):
        file = self._file
        end = file.tell() + len(data if not isinstance(data, str) else data.encode())
        if end > self._limit and end > _INLINE_MAX and end > _size(file):
            raise OSError(ENOSPC)
        return file.write(data)

    def read(self, *args):
        return self._file.read(*args)

    def readinto(self, *args):
        return self._file.readinto(*args)

    def readline(self, *args):
        return self._file.readline(*args)

    def readlines(self, *args):
        return self._file.readlines(*args)

    def seek(self, *args):
        return self._file.seek(*args)

    def tell(self):
        return self._file.tell()

    def flush(self):
        return self._file.flush()

    def fileno(self):
        return self._file.fileno()

    def close(self):
        return self._file.close()

    def __iter__(self):
        return iter(self._file)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()

    def __repr__(self):
        return repr(self._file)


def _size(file):
    here = file.tell()
    end = file.seek(0, 2)
    file.seek(here)
    return end


def _join(folder, name):
    return folder.rstrip("/") + "/" + name


def mount_board_folder(folder):
    """Make `folder` the whole of `/`: host files are out of reach from then on."""
    os.mount(BoardFolder(folder), "/")
    os.chdir("/")
