"""Files on the board: put, get, ls, rm, mkdir, df, sha256, sync — safe and fast.

The board's half (device/files_agent.py) is placed in its RAM the first time a transfer
needs it (again after a reboot). A transfer is one exec streaming the whole file:

- upload: the file, deflate-compressed when that makes it smaller and the board can
  inflate, goes on the running code's stdin with one escape byte (\\x10) for Ctrl-C and
  itself; the board acknowledges every 128 bytes it takes and the host keeps at most 256
  unacknowledged (an ESP32's console input buffer holds 260). The board writes PATH.part~,
  reads it back, checks its sha256 against the host's and only then renames it over PATH:
  a transfer that is interrupted, cut off or finds the file system full leaves PATH as it
  was.
- download: the board streams the bytes with Ctrl-D, ':' and the escape byte escaped,
  then the sha256 of what it read; the host checks it and writes LOCAL the same way
  (a temporary file renamed into place). Where the board's deflate module can compress
  (probed once per connection) and the file's first block shrinks, the bytes go deflated.

Board paths are passed as Python literals (repr), never pasted into code.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import threading
import time
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .board import Board, BoardError, DeviceError
from .device import source

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)

BLOCK = 128  # bytes the board takes per acknowledgement
WINDOW = 2 * BLOCK  # unacknowledged bytes in flight, at most
ESC = 0x10
ACK, NAK, SAME = b"\x06", b"\x15", b"="
PART_SUFFIX = ".part~"
TRANSFER_PATIENCE = 30.0  # seconds without any sign of progress before a transfer is given up
# The board's deflate window for downloads. MicroPython's compressor searches the whole
# window for every byte, so a larger one costs the board time as well as RAM: 2 KB brings
# Python source to 45% (fixed Huffman codes), 4 KB only to 41%.
DOWNLOAD_WBITS = 11
_AGENT = source("files_agent.py")


def _packed_agent() -> str:
    """The agent as a short exec of its deflated, base64 text (half the bytes on the wire)."""
    import base64

    packer = zlib.compressobj(9, zlib.DEFLATED, -12)
    packed = base64.b64encode(packer.compress(_AGENT.encode()) + packer.flush()).decode()
    return (
        "import deflate,io,binascii\n"
        f"exec(deflate.DeflateIO(io.BytesIO(binascii.a2b_base64({packed!r})),deflate.RAW,12).read())"
    )


_PACKED_AGENT = _packed_agent()
_CAPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Board → its caps()

# errno names and numbers as an ESP32 (newlib) and the unix port report them
_ERRNO_TEXT = {
    "ENOENT": "no such file or directory",
    "EEXIST": "it already exists",
    "ENOTDIR": "a part of the path is not a folder",
    "EISDIR": "it is a folder (use -r to remove a folder)",
    "ENOSPC": "the board's file system is full",
    "EACCES": "permission denied",
    "EROFS": "the file system is read-only",
    "ENOTEMPTY": "the folder is not empty (use -r)",
    "EINVAL": "invalid argument",
    "ENODEV": "no file system is mounted there",
    "EIO": "input/output error on the board's flash",
}
_ERRNO_NUMBERS = {2: "ENOENT", 17: "EEXIST", 20: "ENOTDIR", 21: "EISDIR", 28: "ENOSPC", 13: "EACCES", 30: "EROFS",
                  39: "ENOTEMPTY", 90: "ENOTEMPTY", 22: "EINVAL", 19: "ENODEV", 5: "EIO"}  # fmt: skip


# The failure's name a cell shows (Python's own exception names where there is one).
_ERRNO_FAILURES = {"ENOENT": "FileNotFoundError", "EEXIST": "FileExistsError", "ENOTDIR": "NotADirectoryError",
                   "EISDIR": "IsADirectoryError", "EACCES": "PermissionError", "EROFS": "PermissionError",
                   "ENOSPC": "FlashFull", "ENOTEMPTY": "FolderNotEmpty", "EINTR": "KeyboardInterrupt"}  # fmt: skip


class FileError(BoardError):
    """A file operation failed; the message is one line for the user."""

    def __init__(self, message: str, errno_name: str | None = None) -> None:
        super().__init__(message, _ERRNO_FAILURES.get(errno_name or ""))
        self.errno_name = errno_name


@dataclass(frozen=True)
class Entry:
    name: str
    is_dir: bool
    size: int


@dataclass(frozen=True)
class Transfer:
    path: str
    size: int  # bytes of the file
    wire: int  # bytes that crossed the link for its data
    seconds: float
    skipped: bool = False  # the board already had exactly this file
    compressed: bool = False


def quote(path: str) -> str:
    """A board path as a MicroPython string literal."""
    return repr(str(path))


def board_path(path: str) -> str:
    """A clean board path: no NUL, no empty name, '/a//b/' → '/a/b'."""
    if not path or "\x00" in path:
        raise FileError(f"{path!r} is not a board path")
    clean = posixpath.normpath(path)
    return "/" + clean.lstrip("/") if clean.startswith("//") else clean


def encode_upload(data: bytes) -> bytes:
    return data.replace(b"\x10", b"\x101").replace(b"\x03", b"\x102")


def decode_download(data: bytes) -> bytes:
    return data.replace(b"\x103", b":").replace(b"\x102", b"\x04").replace(b"\x101", b"\x10")


def _errno_of(error: DeviceError) -> str | None:
    match = re.search(r"\[Errno (\d+)\] ?(\w+)?", error.evalue) or re.fullmatch(r"(\d+)", error.evalue.strip())
    if error.ename != "OSError" or not match:
        return None
    name = match.group(2) if match.lastindex and match.lastindex >= 2 and match.group(2) else None
    return name or _ERRNO_NUMBERS.get(int(match.group(1)), f"errno {match.group(1)}")


def explain(error: DeviceError, path: str) -> FileError:
    """A board exception as one line about `path`."""
    name = _errno_of(error)
    if name:
        return FileError(f"{path}: {_ERRNO_TEXT.get(name, name)}", name)
    return FileError(f"{path}: {error.ename}: {error.evalue}" if error.evalue else f"{path}: {error.ename}")


class BoardFiles:
    """File operations on one connected Board (blocking; call them off the event loop)."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.last_download: Transfer | None = None  # what the last get_bytes moved

    # The agent --------------------------------------------------------------------------

    def _call(self, expression: str, timeout: float | None = 60):
        """The value of `_ekf.<expression>` on the board, placing the agent if missing."""
        code = f"print(repr(__import__('_ekf').{expression}))"
        for attempt in range(2):
            try:
                text = self.board.exec(code, timeout).strip()
                break
            except DeviceError as e:
                if attempt or not self._missing_agent(e):
                    raise
                self.install()
        import ast

        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text

    @staticmethod
    def _missing_agent(error: DeviceError) -> bool:
        return error.ename == "ImportError" and "_ekf" in error.evalue

    def install(self) -> None:
        """Place the board's half in its RAM (after each reboot): packed where the board can
        inflate (MicroPython ≥ 1.21), else as it is."""
        try:
            self.board.exec(_PACKED_AGENT, timeout=30)
        except DeviceError:
            self.board.exec(_AGENT, timeout=30)

    def caps(self) -> dict:
        """What this board can do: {'inflate': bool, 'deflate': bool, 'sha256': bool}; asked
        once per connection (the firmware does not change under a connected board)."""
        caps = _CAPS.get(self.board)
        if caps is None:
            caps = _CAPS[self.board] = self._call("caps()")
        return caps

    # Simple operations ------------------------------------------------------------------

    def ls(self, path: str = "/") -> list[Entry]:
        path = board_path(path)
        try:
            kind = self._call(f"kind({quote(path)})")
            if kind == "f":
                size = self._call(f"digest({quote(path)})")[1]
                return [Entry(posixpath.basename(path), False, size)]
            found = self._call(f"ls({quote(path)})")
        except DeviceError as e:
            raise explain(e, path) from None
        return sorted((Entry(n, bool(d), int(z)) for n, d, z in found), key=lambda e: (not e.is_dir, e.name))

    def kind(self, path: str) -> str:
        """'f' (file), 'd' (folder) or '' (nothing there)."""
        return self._call(f"kind({quote(board_path(path))})")

    def sha256(self, path: str) -> str | None:
        """The hex sha256 of a board file, None when there is none."""
        path = board_path(path)
        if self.kind(path) != "f":
            return None
        return self._call(f"digest({quote(path)})")[0]

    def rm(self, path: str, recursive: bool = False) -> None:
        path = board_path(path)
        if path == "/" and recursive:
            raise FileError("refusing to remove the board's whole file system; remove its files by name")
        try:
            if self.kind(path) == "":
                raise FileError(f"{path}: no such file or directory", "ENOENT")
            self._call(f"rm({quote(path)}, {bool(recursive)})")
        except DeviceError as e:
            raise explain(e, path) from None

    def mkdir(self, path: str, parents: bool = True) -> None:
        path = board_path(path)
        try:
            if parents:
                self._call(f"mkdirs({quote(path)})")
            else:
                self.board.exec(f"import os\nos.mkdir({quote(path)})")
        except DeviceError as e:
            raise explain(e, path) from None

    def df(self, path: str = "/") -> tuple[int, int]:
        """(size, free) in bytes of the file system holding `path`."""
        path = board_path(path)
        try:
            s = self.board.eval(f"__import__('os').statvfs({quote(path)})")
        except DeviceError as e:
            raise explain(e, path) from None
        return s[1] * s[2], s[0] * s[4]

    # Upload -----------------------------------------------------------------------------

    def put_bytes(self, data: bytes, remote: str, progress: Progress | None = None, *, skip_same: bool = True,
                  compress: bool | None = None) -> Transfer:  # fmt: skip
        """Write `data` to the board file `remote`, atomically and verified."""
        remote = board_path(remote)
        started = time.monotonic()
        digest = hashlib.sha256(data).hexdigest()
        payload, wbits = data, 0
        if compress is not False and len(data) > 64:
            if self.caps()["inflate"]:
                wbits = max(9, min(12, (len(data) - 1).bit_length()))
                packer = zlib.compressobj(9, zlib.DEFLATED, -wbits)
                packed = packer.compress(data) + packer.flush()
                if len(packed) < 0.95 * len(data) or compress:
                    payload = packed
                else:
                    wbits = 0
        encoded = encode_upload(payload)
        code = f"print(__import__('_ekf').put({quote(remote)}, {len(encoded)}, {digest!r}, {wbits}, {bool(skip_same)}))"
        stream = _Upload(self.board, encoded, progress, len(data))
        for attempt in range(2):
            try:
                stream.run(code)
                break
            except DeviceError as e:
                if attempt == 0 and self._missing_agent(e) and stream.sent == 0:
                    self.install()
                    stream = _Upload(self.board, encoded, progress, len(data))
                    continue
                if e.ename == "KeyboardInterrupt":
                    raise FileError(f"the transfer was stopped; {remote} on the board was not changed", "EINTR") from None
                error = explain(e, remote)
                folder = posixpath.dirname(remote)
                if error.errno_name == "ENOENT" and folder not in ("", "/") and self.kind(folder) != "d":
                    raise FileError(f"{remote}: there is no folder {folder} on the board (%mkdir {folder} makes it)", "ENOENT") from None
                if error.errno_name == "ENOSPC":
                    raise FileError(f"{remote}: the board's file system is full ({self._free_text()}); {remote} was not changed "
                                    f"(a write needs room for the new file beside the old one)", "ENOSPC") from None  # fmt: skip
                raise error from None
        return Transfer(remote, len(data), len(encoded), time.monotonic() - started, stream.same, wbits > 0)

    def _free_text(self) -> str:
        try:
            return f"{self.df('/')[1] // 1024} KB free"
        except BoardError:
            return "free space unknown"

    def put(self, local: str | os.PathLike, remote: str, progress: Progress | None = None, **options) -> Transfer:
        return self.put_bytes(Path(local).read_bytes(), remote, progress, **options)

    # Download ---------------------------------------------------------------------------

    def get_bytes(self, remote: str, progress: Progress | None = None, *, compress: bool | None = None) -> bytes:
        """The contents of the board file `remote`, checked against the board's sha256.

        Compressed on the board when its deflate module can compress (and `compress` is not
        False) and the file's first block shrinks; `last_download` tells what crossed the link."""
        remote = board_path(remote)
        started = time.monotonic()
        received = bytearray()
        total = [0]
        header: list = [None]  # (size, wbits) once the first line arrived
        wbits = DOWNLOAD_WBITS if compress is not False and self.caps()["deflate"] else 0

        def on_output(stream: str, data: bytes) -> None:
            if stream != "stdout":
                return
            received.extend(data)
            if header[0] is None and b"\n" in received:
                line, _, rest = bytes(received).partition(b"\n")
                try:
                    size, *packed = (int(word) for word in line.split())
                    header[0] = (size, packed[0] if packed else 0)
                except ValueError:
                    header[0] = (-1, 0)
                total[0] = max(0, header[0][0])
                received[:] = rest

        def done_total() -> tuple[int, int]:
            # a compressed stream's progress is a guess: text shrinks to about half
            factor = 2 if header[0] and header[0][1] else 1
            return min(total[0], len(received) * factor), total[0]

        code = f"__import__('_ekf').get({quote(remote)}, {wbits})"
        for attempt in range(2):
            received.clear()
            header[0] = None
            execution = self.board.start(code, on_output)
            _wait(self.board, execution, done_total, progress)
            if execution.error:
                error = DeviceError(execution.error)
                if attempt == 0 and self._missing_agent(error):
                    self.install()
                    continue
                if error.ename == "KeyboardInterrupt":
                    raise FileError(f"the transfer of {remote} was stopped", "EINTR") from None
                raise explain(error, remote) from None
            break
        body, mark, trailer = bytes(received).rpartition(b"\x100")
        if not mark or header[0] is None:
            raise FileError(f"{remote}: the transfer was cut short; try again")
        size, packed = header[0]
        data = decode_download(body)
        if packed:
            try:
                data = zlib.decompress(data, -15)
            except zlib.error:
                data = b""  # reported as corruption below
        if hashlib.sha256(data).hexdigest() != trailer.strip().decode(errors="replace") or len(data) != size:
            raise FileError(f"{remote}: the data was corrupted on the way (hash mismatch) — was the board printing"
                            " from a timer or thread? Try again")  # fmt: skip
        self.last_download = Transfer(remote, len(data), len(received), time.monotonic() - started, compressed=bool(packed))
        return data

    def get(self, remote: str, local: str | os.PathLike, progress: Progress | None = None) -> int:
        """Copy a board file to `local` (written beside it, then renamed into place)."""
        data = self.get_bytes(remote, progress)
        write_local(Path(local), data)
        return len(data)

    # Sync -------------------------------------------------------------------------------

    def tree(self, remote: str) -> dict[str, tuple[str, int]]:
        """{relative path: (sha256, size)} for every file under the board folder `remote`."""
        remote = board_path(remote)
        kind = self.kind(remote)
        if kind == "":
            return {}
        if kind != "d":
            raise FileError(f"{remote} on the board is a file, not a folder", "ENOTDIR")
        try:
            return {p: (h, n) for p, h, n in self._call(f"tree({quote(remote)})", timeout=300)}
        except DeviceError as e:
            raise explain(e, remote) from None

    def sync(self, local_dir: str | os.PathLike, remote_dir: str = "/", *, delete: bool = False,
             on_file: Callable[[str, str], None] | None = None, progress: Progress | None = None) -> dict[str, list[str]]:  # fmt: skip
        """Make the board folder hold the local folder's files: send what differs (by
        sha256); with `delete`, remove board files the local folder does not have."""
        local_dir = Path(local_dir)
        if not local_dir.is_dir():
            raise FileError(f"{local_dir} is not a folder on this computer")
        remote_dir = board_path(remote_dir)
        have = self.tree(remote_dir)
        wanted: dict[str, Path] = {}
        for path in sorted(local_dir.rglob("*")):
            if path.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(local_dir).parts):
                wanted[path.relative_to(local_dir).as_posix()] = path
        report: dict[str, list[str]] = {"sent": [], "same": [], "deleted": []}
        made: set[str] = set()
        for rel, path in wanted.items():
            data = path.read_bytes()
            target = posixpath.join(remote_dir, rel)
            if have.get(rel, ("", -1))[0] == hashlib.sha256(data).hexdigest():
                report["same"].append(rel)
                continue
            folder = posixpath.dirname(target)
            if folder not in made and folder not in ("", "/"):
                self.mkdir(folder)
                made.add(folder)
            if on_file:
                on_file("put", rel)
            self.put_bytes(data, target, progress, skip_same=False)
            report["sent"].append(rel)
        if delete:
            for rel in sorted(set(have) - set(wanted)):
                if on_file:
                    on_file("rm", rel)
                self.rm(posixpath.join(remote_dir, rel))
                report["deleted"].append(rel)
        return report


def write_local(path: Path, data: bytes) -> None:
    """Write a host file through a temporary name renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + PART_SUFFIX)
    try:
        part.write_bytes(data)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def _wait(board: Board, execution, done_total: Callable[[], tuple[int, int]], progress: Progress | None,
          on_interrupt: Callable[[], bool] | None = None) -> None:  # fmt: skip
    """Wait for `execution`, reporting progress; stop it if nothing moves for a long time.
    A KeyboardInterrupt here (the kernel's interrupt) stops the transfer cleanly."""
    last, moved = -1, time.monotonic()
    interrupted = False
    while True:
        try:
            if execution.done.wait(0.1):
                break
            done, total = done_total()
            if progress:
                progress(done, total)
            if done != last:
                last, moved = done, time.monotonic()
            elif time.monotonic() - moved > TRANSFER_PATIENCE:
                board.stop(execution)
                raise FileError(f"the board stopped answering for {TRANSFER_PATIENCE:.0f} s; the transfer was stopped")
        except KeyboardInterrupt:
            if interrupted:  # a second press while the abort is under way: stop hard
                board.stop(execution)
                continue
            interrupted = True
            if not (on_interrupt and on_interrupt()):
                board.stop(execution)
    if progress:
        progress(*done_total())
    if execution.lost:
        raise FileError(f"{execution.lost} — the board's file was not changed if the transfer had not finished")
    if execution.rebooted:
        raise FileError(f"the board rebooted during the transfer ({execution.rebooted})")
    if interrupted and not execution.error:
        raise FileError("the transfer was stopped", "EINTR")


class _Upload:
    """One upload exec: sends `encoded` on the board's stdin as the board grants credit."""

    def __init__(self, board: Board, encoded: bytes, progress: Progress | None, size: int) -> None:
        self.board = board
        self.encoded = encoded
        self.progress = progress
        self.size = size
        self.sent = 0
        self.acks = 0
        self.same = False
        self.aborted = False
        self.failed = False  # the board said a write failed
        self._lock = threading.Lock()
        self._execution = None

    def run(self, code: str) -> None:
        self._execution = execution = self.board.start(code, self._on_output, collect=True)
        scale = self.size / max(1, len(self.encoded))
        _wait(self.board, execution, lambda: (int(self.sent * scale), self.size), self.progress, self.abort)
        if execution.error:
            raise DeviceError(execution.error)

    def _on_output(self, stream: str, data: bytes) -> None:
        if stream != "stdout":
            return
        if SAME in data and self.acks == 0:
            self.same = True
        self.acks += data.count(ACK)
        if NAK in data:
            self.failed = True
            self.abort()
            return
        self._pump()

    def _pump(self) -> None:
        with self._lock:
            if not self.acks:
                return
            allowed = min(len(self.encoded), BLOCK * (self.acks + 1))
            if allowed > self.sent:
                chunk = self.encoded[self.sent : allowed]
                self.sent = allowed
                try:
                    self.board.send_input(chunk)
                except BoardError:
                    pass  # the execution reports the loss or its end

    def abort(self) -> bool:
        """Ask the board to stop, in band: the rest of the stream becomes the abort mark
        padded to the end of its block, sent under credit as data is. False when the board
        has not started reading (a Ctrl-C is clean then)."""
        with self._lock:
            if self.aborted:
                return True
            if not self.acks:
                return False
            self.aborted = True
            if len(self.encoded) - self.sent >= 2:  # else it is too late to abort: finish
                end = min(len(self.encoded), -(-(self.sent + 2) // BLOCK) * BLOCK)
                self.encoded = self.encoded[: self.sent] + b"\x109" + bytes(end - self.sent - 2)
        self._pump()
        return True
