"""The portable core's / : the board's LittleFS, kept by the host (portable_files.py).

MicroPython for WASI has no VfsLfs2. This VFS asks the host for each operation, on the same
flash image the native core mounts itself, so both cores see the same files. It reads as a
board's: vfs.mount() lists it as <VfsLfs2>, os.stat() times count from 2000.
"""

import io
import json

import _esp32_host
import _esp32_errno


def _fs(*request):
    answer = json.loads(_esp32_host.call("fs", json.dumps(request)))
    if len(answer) == 2:
        raise _esp32_host.os_error(answer[1])
    return answer[0]


class FileIO(io.IOBase):
    """An open file on the board (binary; TextIOWrapper below for text)."""

    def __init__(self, handle, name):
        self._handle = handle
        self._name = name

    def read(self, n=-1):
        if self._handle is None:
            raise OSError(_esp32_errno.EBADF)
        if n is None or n < 0:
            chunks = []
            while True:
                chunk = FileIO.read(self, 400)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        from binascii import unhexlify

        return unhexlify(_fs("read", self._handle, n))

    def readinto(self, buf, n=None):
        data = FileIO.read(self, len(buf) if n is None else n)
        buf[: len(data)] = data
        return len(data)

    def readline(self):
        # a piece at a time, giving back what follows the line's end: two host calls a line
        line = b""
        while True:
            piece = FileIO.read(self, 120)
            end = piece.find(b"\n")
            if end >= 0:
                self.seek(end + 1 - len(piece), 1)
                return line + piece[: end + 1]
            line += piece
            if len(piece) < 120:
                return line

    def readlines(self):
        return list(self)  # (MicroPython's iter() takes no sentinel)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def write(self, data, a=None, b=None):
        if self._handle is None:
            raise OSError(_esp32_errno.EBADF)
        if a is not None:
            data = memoryview(data)[:a] if b is None else memoryview(data)[a : a + b]
        from binascii import hexlify

        return _fs("write", self._handle, hexlify(data).decode())

    def seek(self, offset, whence=0):
        return _fs("seek", self._handle, offset, whence)

    def tell(self):
        return self.seek(0, 1)

    def flush(self):
        if self._handle is not None:
            _fs("flush", self._handle)

    def close(self):
        if self._handle is not None:
            handle, self._handle = self._handle, None
            _fs("close", handle)

    def ioctl(self, request, arg):
        # the stream protocol's (import reads files through it): 1 flush, 2 seek, 4 close
        if request == 4:
            self.close()
        elif request == 1:
            self.flush()
        return 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        return "<io.FileIO>"


class TextIOWrapper(FileIO):
    def read(self, n=-1):
        # n counts characters: a character cut at the end is read whole
        data = FileIO.read(self, n)
        for _ in range(3):
            try:
                return data.decode()
            except UnicodeError:
                more = FileIO.read(self, 1)
                if not more:
                    break
                data += more
        return data.decode()

    def readline(self):
        return FileIO.readline(self).decode()

    def write(self, text):
        data = text.encode() if isinstance(text, str) else text
        FileIO.write(self, data)
        return len(text)

    def __repr__(self):
        return "<io.TextIOWrapper>"


class HostLfs:
    def __init__(self):
        self._cwd = "/"

    def _path(self, path):
        if not path.startswith("/"):
            path = self._cwd.rstrip("/") + "/" + path
        parts = []
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        return "/" + "/".join(parts)

    def __repr__(self):
        return "<VfsLfs2>"

    def mount(self, readonly, mkfs):
        _fs("mount")

    def umount(self):
        pass

    def open(self, path, mode):
        handle = _fs("open", self._path(path), mode)
        return (FileIO if "b" in mode else TextIOWrapper)(handle, path)

    def ilistdir(self, path):
        for entry in _fs("ilistdir", self._path(path)):
            yield tuple(entry)

    def stat(self, path):
        return tuple(_fs("stat", self._path(path)))

    def statvfs(self, path):
        return tuple(_fs("statvfs"))

    def mkdir(self, path):
        _fs("mkdir", self._path(path))

    def rmdir(self, path):
        _fs("rmdir", self._path(path))

    def remove(self, path):
        _fs("remove", self._path(path))

    def rename(self, old, new):
        _fs("rename", self._path(old), self._path(new))

    def chdir(self, path):
        path = self._path(path)
        if not self.stat(path)[0] & 0x4000:
            raise OSError(_esp32_errno.ENOTDIR)
        self._cwd = path

    def getcwd(self):
        return self._cwd


def mkfs():
    _fs("mkfs")
