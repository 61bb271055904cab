"""The emulated board's WebREPL: MicroPython v1.24's WebSocket REPL, served by the supervisor.

On a board, webrepl.start() listens on port 8266 and attaches each accepted WebSocket to
the REPL with os.dupterm (extmod/webrepl/webrepl.py, extmod/modwebrepl.c). The unix port
has no dupterm, so the supervisor plays that part: the same handshake, the "Password: "
prompt, "\\r\\nWebREPL connected\\r\\n>>> " or "\\r\\nAccess denied\\r\\n", text frames carrying
the REPL both ways (the serial console's REPL: what the board prints goes to both), one
client at a time, and the binary GET_VER request. Files (PUT/GET) are not emulated: they
are answered with an error status.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import socket
import struct
from typing import Protocol

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PASSWORD_PROMPT = b"Password: "
CONNECTED = b"\r\nWebREPL connected\r\n>>> "
DENIED = b"\r\nAccess denied\r\n"
# What v1.24 answers a plain HTTP request with: a page that loads the WebREPL client.
HTML_PAGE = (
    b'HTTP/1.0 200 OK\r\n\r\n<base href="https://micropython.org/webrepl/"></base>\r\n'
    b'<script src="webrepl_content.js"></script>\r\n'
)
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
FILE_HEADER = struct.Struct("<2sBBQIH64s")  # modwebrepl.c's struct webrepl_file, 82 bytes
PUT_FILE, GET_FILE, GET_VER = 1, 2, 3
VERSION = bytes((1, 24, 0))  # MICROPY_VERSION_MAJOR, _MINOR, _MICRO
PASSWORD_BUFFER = 10  # modwebrepl.c keeps this many typed characters
_MAX_HEADERS = 8192
_MAX_FRAME = 1 << 20


class WebSocketError(ValueError):
    pass


def handshake_response(request: bytes) -> bytes | None:
    """The 101 answer to an HTTP upgrade request (its headers, up to the blank line), or
    None when it is not a WebSocket request (webrepl.py's server_handshake)."""
    key, upgrade, websocket = None, False, False
    for line in request.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        name, value = name.strip().lower(), value.strip()
        if name == b"sec-websocket-key":
            key = value
        elif name == b"connection" and b"upgrade" in value.lower():
            upgrade = True
        elif name == b"upgrade" and value.lower() == b"websocket":
            websocket = True
    if not (key and upgrade and websocket):
        return None
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


class UpgradeRequest:
    """An HTTP upgrade request's headers, as they arrive before the WebSocket's frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> tuple[bytes, bytes] | None:
        """(the headers, the bytes after them) once the blank line came; None before it.
        Raises WebSocketError when the headers run longer than any client's."""
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_HEADERS:
                raise WebSocketError("an upgrade request's headers too long")
            return None
        return bytes(self._buffer[:end]), bytes(self._buffer[end + 4 :])


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """A server's frame: final, unmasked."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


class FrameReader:
    """Client frames from bytes as they arrive: feed() returns the complete (opcode, payload)
    pairs; a fragmented message's pieces keep the first frame's opcode."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._message_opcode = OP_TEXT

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        frames = []
        while (frame := self._next()) is not None:
            frames.append(frame)
        return frames

    def _next(self) -> tuple[int, bytes] | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        opcode, masked, size = buf[0] & 0x0F, buf[1] & 0x80, buf[1] & 0x7F
        offset = 2
        if size == 126:
            if len(buf) < 4:
                return None
            size, offset = struct.unpack_from("!H", buf, 2)[0], 4
        elif size == 127:
            if len(buf) < 10:
                return None
            size, offset = struct.unpack_from("!Q", buf, 2)[0], 10
        if not masked:
            raise WebSocketError("a client frame must be masked (RFC 6455 5.1)")
        if size > _MAX_FRAME:
            raise WebSocketError(f"a frame of {size} bytes is more than this board takes")
        if len(buf) < offset + 4 + size:
            return None
        mask = bytes(buf[offset : offset + 4])
        start = offset + 4
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(buf[start : start + size]))
        del buf[: start + size]
        if opcode in (OP_TEXT, OP_BINARY):
            self._message_opcode = opcode
        elif opcode == OP_CONT:
            opcode = self._message_opcode
        return opcode, payload


class WebReplHost(Protocol):
    """What a WebREPL session needs from the supervisor."""

    def webrepl_password(self) -> bytes | None: ...  # None: WebREPL is not running (or no WiFi)
    def webrepl_attach(self, session: "WebReplSession") -> bool: ...  # False: another client has it
    def webrepl_detach(self, session: "WebReplSession") -> None: ...
    def webrepl_input(self, data: bytes) -> None: ...  # REPL input, as typed on the console
    def console_note(self, text: bytes) -> None: ...  # what webrepl.py prints on the console


class _State(enum.Enum):
    HANDSHAKE = enum.auto()
    PASSWORD = enum.auto()
    CONNECTED = enum.auto()
    CLOSED = enum.auto()


class WebReplSession(asyncio.Protocol):
    """One TCP connection to port 8266: handshake, password, then the REPL."""

    def __init__(self, host: WebReplHost) -> None:
        self._host = host
        self._state = _State.HANDSHAKE
        self._request = UpgradeRequest()
        self._frames = FrameReader()
        self._typed = bytearray()  # the password as typed, up to PASSWORD_BUFFER characters
        self._header = bytearray()  # a binary request's header, as it arrives
        self._skip = 0  # bytes of a PUT_FILE we do not store
        self.peer = "?"

    @property
    def connected(self) -> bool:
        return self._state is _State.CONNECTED

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:  # each board write is a frame: Nagle would hold a second one ~40 ms
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        self.peer = repr(tuple(peer[:2])) if peer else "?"
        if self._host.webrepl_password() is None:  # not started, or the WiFi is down: unreachable
            self._close()

    def data_received(self, data: bytes) -> None:
        if self._state is _State.HANDSHAKE:
            try:
                request = self._request.feed(data)
            except WebSocketError:
                self._close()
                return
            if request is None or not self._handshake(request[0]):
                return
            data = request[1]
        try:
            frames = self._frames.feed(data)
        except WebSocketError:
            self._close()
            return
        for opcode, payload in frames:
            if self._state is _State.CLOSED:
                return
            self._frame(opcode, payload)

    def _handshake(self, request: bytes) -> bool:
        answer = handshake_response(request)
        if answer is None:
            self.transport.write(HTML_PAGE)
            self._close()
            return False
        if not self._host.webrepl_attach(self):
            note = f"\r\nConcurrent WebREPL connection from {self.peer} rejected\r\n"
            self._host.console_note(note.encode())
            self._close()
            return False
        self._host.console_note(f"\r\nWebREPL connection from: {self.peer}\r\n".encode())
        self.transport.write(answer)
        self.transport.write(encode_frame(OP_TEXT, PASSWORD_PROMPT))
        self._state = _State.PASSWORD
        return True

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_CLOSE:
            self.transport.write(encode_frame(OP_CLOSE, payload[:2]))
            self._close()
        elif opcode == OP_PING:
            self.transport.write(encode_frame(OP_PONG, payload))
        elif opcode == OP_TEXT and self._state is _State.PASSWORD:
            self._password(payload)
        elif opcode == OP_TEXT:
            self._host.webrepl_input(payload)
        elif opcode == OP_BINARY and self._state is _State.CONNECTED:
            self._binary(payload)

    def _password(self, payload: bytes) -> None:
        for i, char in enumerate(payload):
            if char not in (0x0D, 0x0A):
                if len(self._typed) < PASSWORD_BUFFER:
                    self._typed.append(char)
                continue
            typed, self._typed = bytes(self._typed), bytearray()
            if typed != self._host.webrepl_password():
                self.transport.write(encode_frame(OP_TEXT, DENIED))
                self._close()
                return
            self._state = _State.CONNECTED
            self.transport.write(encode_frame(OP_TEXT, CONNECTED))
            if payload[i + 1 :]:
                self._host.webrepl_input(payload[i + 1 :])
            return

    def _binary(self, payload: bytes) -> None:
        while payload:
            if self._skip:
                taken = min(self._skip, len(payload))
                self._skip -= taken
                payload = payload[taken:]
                continue
            need = FILE_HEADER.size - len(self._header)
            self._header += payload[:need]
            payload = payload[need:]
            if len(self._header) < FILE_HEADER.size:
                return
            _sig, kind, _flags, _offset, size, _name_len, _name = FILE_HEADER.unpack(bytes(self._header))
            self._header.clear()
            if kind == GET_VER:
                self.transport.write(encode_frame(OP_BINARY, VERSION))
            else:  # file transfers are not emulated: status 1 (an error) to webrepl_cli
                self.transport.write(encode_frame(OP_BINARY, b"WB\x01\x00"))
                self._skip = size if kind == PUT_FILE else 0

    def send(self, data: bytes) -> None:
        """The board's output, once the password was right (as modwebrepl.c's write)."""
        if self._state is _State.CONNECTED and data and not self.transport.is_closing():
            self.transport.write(encode_frame(OP_TEXT, data))

    def close(self) -> None:
        """The board dropped the connection (a reset, webrepl.stop(), WiFi off)."""
        self._close()

    def _close(self) -> None:
        if self._state is not _State.CLOSED:
            self._state = _State.CLOSED
            self._host.webrepl_detach(self)
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._state is not _State.CLOSED:
            self._state = _State.CLOSED
            self._host.webrepl_detach(self)
