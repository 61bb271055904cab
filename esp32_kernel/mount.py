"""%mount: a folder of this computer as the board's /remote, served over the board's link.

The board's half (device/mount_agent.py) is a file system object mounted at /remote whose
operations are requests framed on the running code's stdout (``\\x1eM`` OP ARG… ``\\x1f``,
each ARG base64); `MountServer.filter` takes them out of the board's output — whatever code
runs, a cell or a magic — and answers each on the board's stdin at once (from the link's
reader thread). Answers are ``\\x18``, ``"STATUS LENGTH\\n"`` and LENGTH bytes with ``\\x10``
escaping ``\\x10`` and Ctrl-C, so a raw Ctrl-C byte is always the kernel's interrupt.

Every path is confined to the mounted folder: ``..`` and symbolic links that lead out of it
are refused (EACCES), as is any change with --readonly (EROFS).
"""

from __future__ import annotations

import base64
import binascii
import errno
import os
import re
import shutil
import stat
import threading
from collections import OrderedDict
from pathlib import Path

from .board import Board, BoardError, DeviceError
from .device import source

MOUNT_POINT = "/remote"
START = b"\x1eM"
END = b"\x1f"
CHUNK = 240  # data in one answer at most (before escaping): an ESP32 console input buffer holds 260 bytes
# Files the board may hold open on the mount at once. MicroPython never closes a file that
# code forgot to close (`open(p).read()`): past this, the one unused longest is closed.
MAX_OPEN = 64
BOARD_EPOCH = 946684800  # 2000-01-01 in Unix time: an ESP32's time.time() counts from there
# OP, then base64 fields; a request longer than a write's is not one (pass it on as output)
REQUEST = re.compile(rb"[A-Z](?: [A-Za-z0-9+/=]{0,2000})*")
PARTIAL_REQUEST = re.compile(rb"(?:[A-Z](?: [A-Za-z0-9+/=]{0,2000})*)?")


_AGENT = source("mount_agent.py")


def _packed(code: str) -> str:
    """`code` as a short exec of its deflated, base64 text (fewer bytes on a slow line)."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, -12)
    packed = base64.b64encode(packer.compress(code.encode()) + packer.flush()).decode()
    return (
        "import deflate,io,binascii\n"
        f"exec(deflate.DeflateIO(io.BytesIO(binascii.a2b_base64({packed!r})),deflate.RAW,12).read())"
    )


_PACKED_AGENT = _packed(_AGENT)


def board_mounted(board: Board) -> bool:
    """Whether the board has /remote mounted by %mount now (a reset unmounts it)."""
    return board.eval("'_ekm' in __import__('sys').modules and __import__('_ekm').mounted()") is True


def mount(board: Board, root: str | os.PathLike, readonly: bool = False) -> MountServer:
    """Serve `root` as the board's /remote from now on, and make it the board's folder."""
    server = MountServer(board, root, readonly)
    if not board.eval("'_ekm' in __import__('sys').modules"):
        try:
            board.exec(_PACKED_AGENT, timeout=30)
        except DeviceError:  # no inflate on this board: the plain text
            board.exec(_AGENT, timeout=30)
    previous = board.stdout_filter
    board.stdout_filter = server.filter
    try:
        board.exec("__import__('_ekm').mount()", timeout=60)
    except BoardError:
        board.stdout_filter = previous
        raise
    replaced = getattr(previous, "__self__", None)
    if isinstance(replaced, MountServer):
        replaced.close()
    return server


def unmount(board: Board, server: MountServer | None) -> bool:
    """Unmount /remote (the board goes back to /); False if it was not mounted any more."""
    try:
        was = board.eval("'_ekm' in __import__('sys').modules and __import__('_ekm').umount()") is True
    finally:
        if server is not None:
            if board.stdout_filter == server.filter:
                board.stdout_filter = None
            server.close()
    return was


class MountError(Exception):
    """The folder cannot be mounted; the message says why."""


class _Refused(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class MountServer:
    """Serves one board's /remote from `root` (a folder on this computer)."""

    def __init__(self, board: Board, root: str | os.PathLike, readonly: bool = False) -> None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise MountError(f"{root} is not a folder on this computer")
        self.board = board
        self.root = path.resolve()
        self.readonly = readonly
        self.requests = 0  # answered so far (tests and %mount's status read it)
        self._files: OrderedDict[int, object] = OrderedDict()  # least recently used first
        self._next_fd = 0
        self._held = b""  # output that may be the start of a request
        self._lock = threading.Lock()

    # Taking requests out of the board's output -----------------------------------------

    def filter(self, data: bytes) -> bytes:
        """The board's stdout with the mount requests taken out (and answered)."""
        with self._lock:
            data = self._held + data
            self._held = b""
            out = bytearray()
            while data:
                at = data.find(START)
                if at < 0:
                    # keep a trailing \x1e: it may begin a request
                    if data.endswith(START[:1]):
                        out += data[:-1]
                        self._held = data[-1:]
                    else:
                        out += data
                    break
                out += data[:at]
                end = data.find(END, at)
                body = data[at + len(START) : end if end >= 0 else len(data)]
                if not (REQUEST if end >= 0 else PARTIAL_REQUEST).fullmatch(body):
                    # not a request (the board printed these bytes): pass them on
                    out += data[at : at + 1]
                    data = data[at + 1 :]
                    continue
                if end < 0:
                    self._held = data[at:]
                    break
                self._answer(body)
                data = data[end + 1 :]
            return bytes(out)

    def _answer(self, request: bytes) -> None:
        self.requests += 1
        try:
            op, *fields = request.split(b" ")
            args = [base64.b64decode(f, validate=True) for f in fields]
            status, data = self._serve(op.decode(), args)
        except _Refused as e:
            status, data = -1, e.name.encode()
        except OSError as e:
            status, data = -1, (errno.errorcode.get(e.errno or errno.EIO, "EIO")).encode()
        except (ValueError, IndexError, binascii.Error, UnicodeDecodeError):
            status, data = -1, b"EINVAL"
        encoded = data.replace(b"\x10", b"\x101").replace(b"\x03", b"\x102")
        try:
            self.board.send_input(b"\x18%d %d\n" % (status, len(encoded)) + encoded)
        except BoardError:
            pass  # the code ended or the link went: nobody is waiting for the answer

    # The operations -----------------------------------------------------------------------

    def _path(self, raw: bytes) -> Path:
        """The host path for a board path under the mount, refused if it leads outside."""
        relative = raw.decode().lstrip("/")
        if "\x00" in relative:
            raise _Refused("EINVAL")
        target = (self.root / relative).resolve()
        if target != self.root and not target.is_relative_to(self.root):
            raise _Refused("EACCES")
        return target

    def _writable(self) -> None:
        if self.readonly:
            raise _Refused("EROFS")

    def _file(self, raw: bytes):
        fd = int(raw)
        file = self._files.get(fd)
        if file is None:
            raise _Refused("EBADF")
        self._files.move_to_end(fd)
        return file

    def _serve(self, op: str, args: list[bytes]) -> tuple[int, bytes]:
        if op == "S":
            st = self._path(args[0]).stat()
            mode = 0x4000 if stat.S_ISDIR(st.st_mode) else 0x8000
            return 0, b"%d %d %d" % (mode, st.st_size, max(0, int(st.st_mtime) - BOARD_EPOCH))
        if op == "L":
            return 0, self._listing(self._path(args[0]), int(args[1]))
        if op == "O":
            return self._open(self._path(args[0]), args[1].decode()), b""
        if op == "R":
            return 0, self._file(args[0]).read(min(CHUNK, int(args[1])))
        if op == "G":
            return 0, self._file(args[0]).readline(CHUNK)
        if op == "W":
            self._writable()
            return self._file(args[0]).write(args[1]), b""
        if op == "K":
            return self._file(args[0]).seek(int(args[1]), int(args[2])), b""
        if op == "C":
            file = self._files.pop(int(args[0]), None)
            if file is not None:
                file.close()
            return 0, b""
        if op == "V":
            usage = shutil.disk_usage(self.root)
            return 0, b"%d %d %d" % (4096, usage.total // 4096, usage.free // 4096)
        self._writable()
        if op == "D":
            path = self._path(args[0])
            if path.is_dir():
                raise _Refused("EISDIR")
            path.unlink()
        elif op == "N":
            old, new = self._path(args[0]), self._path(args[1])
            if old == self.root or new == self.root:
                raise _Refused("EACCES")
            old.replace(new)
        elif op == "M":
            self._path(args[0]).mkdir()
        elif op == "X":
            path = self._path(args[0])
            if path == self.root:
                raise _Refused("EACCES")
            path.rmdir()
        else:
            raise _Refused("EINVAL")
        return 0, b""

    def _listing(self, folder: Path, start: int) -> bytes:
        """Entries from `start` on, as many as fit an answer: "d|f SIZE NAME", NUL-separated."""
        entries = []
        used = 0
        for entry in sorted(os.scandir(folder), key=lambda e: e.name)[start:]:
            try:
                is_dir = entry.is_dir()
                size = 0 if is_dir else entry.stat().st_size
            except OSError:  # a dangling link: list it, opening it fails
                is_dir, size = False, 0
            text = b"%s %d %s" % (b"d" if is_dir else b"f", size, os.fsencode(entry.name))
            if entries and used + len(text) + 1 > CHUNK:
                break
            entries.append(text)
            used += len(text) + 1
        return b"\x00".join(entries)

    def _open(self, path: Path, mode: str) -> int:
        if any(c in mode for c in "wax+"):
            self._writable()
        if path.is_dir():
            raise _Refused("EISDIR")
        if len(self._files) >= MAX_OPEN:
            self._files.popitem(last=False)[1].close()
        host_mode = mode.replace("t", "")
        if "b" not in host_mode:
            host_mode += "b"  # the board decodes text itself
        # unbuffered: what the board writes is in the file at once, closed or not
        file = open(path, host_mode, buffering=0)  # noqa: SIM115 (the board closes it)
        self._next_fd += 1
        self._files[self._next_fd] = file
        return self._next_fd

    def close(self) -> None:
        """Close what the board left open (after %umount or a reset)."""
        with self._lock:
            for file in self._files.values():
                file.close()
            self._files.clear()
            self._held = b""
