"""`webserial://`: a serial port on the computer of the browser showing the notebook, for a
kernel that runs elsewhere (a JupyterHub, a lab server).

pyserial finds this module by the URL's scheme (`serial.protocol_handler_packages`), so the
board's link, esptool (%flash) and the reset magics open it as they open any port, and its
DTR/RTS drive the board's auto-reset circuit through Web Serial's `setSignals`.

The bytes travel: board ⇄ browser (Web Serial, the lab extension) ⇄ WebSocket behind
Jupyter's authentication (esp32_kernel.server_extension) ⇄ a loopback TCP "bridge" this port
listens on. Opening one asks the browser (`front_end`, set by the kernel's lab comm) to open
its port and connect to the bridge; the first message on the bridge must carry the one-time
token given with that request.

On the bridge each message is a frame: a kind byte (b"D" bytes of the serial line, b"C" a JSON
control message), a 4-byte big-endian length, the payload. The server turns WebSocket binary
messages into D frames and text messages into C frames, and back. Control messages:
  browser → kernel: {"token"}, then {"opened": port info} or {"error": why}; {"lost": why};
                    {"pong": n}
  kernel → browser: {"signals": {"dataTerminalReady", "requestToSend"}}, {"baud": n}, {"ping": n}
"""

from __future__ import annotations

import json
import secrets
import select
import socket
import struct
import threading
import time
from collections.abc import Callable

import serial

SCHEME = "webserial://"
OPEN_TIMEOUT = 120.0  # the user picks the port in the browser's chooser
TOKEN_TIMEOUT = 5.0  # a connection to the bridge must say its token within this
PING_INTERVAL = 0.5
SILENCE_LIMIT = 1.5  # no word from the browser this long: the tab or the network is gone
_HEADER = struct.Struct(">cI")
MAX_FRAME = 1 << 20

# How this kernel asks its browser to open a port: set by the lab comm (esp32_kernel.lab.comm).
# It is given the request ({"bridge": port, "token", "baud", "signals"}) and raises
# serial.SerialException when no browser can take it.
front_end: Callable[[dict], None] | None = None

NO_FRONT_END = (
    "webserial: needs this notebook open in JupyterLab with esp32-kernel's extension, in a browser"
    " with Web Serial (Chrome or Edge) — there the board panel's 'Connect a board on this computer'"
    " does the same"
)


def is_webserial_url(port: str) -> bool:
    return port.lower().startswith("webserial:")


def pack(kind: bytes, payload: bytes) -> bytes:
    return _HEADER.pack(kind, len(payload)) + payload


def pack_control(message: dict) -> bytes:
    return pack(b"C", json.dumps(message).encode())


class FrameReader:
    """Frames out of a byte stream, as they complete."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= _HEADER.size:
            kind, length = _HEADER.unpack_from(self._buffer)
            if kind not in (b"D", b"C") or length > MAX_FRAME:
                raise ValueError(f"not a bridge frame (kind {kind!r}, {length} bytes)")
            end = _HEADER.size + length
            if len(self._buffer) < end:
                break
            frames.append((kind, bytes(self._buffer[_HEADER.size : end])))
            del self._buffer[:end]
        return frames


class Serial(serial.SerialBase):
    """A port in the browser, as pyserial's Serial: read, write, in_waiting, dtr, rts, baudrate."""

    def open(self) -> None:
        if self.is_open:
            raise serial.SerialException("webserial: the port is already open")
        if front_end is None:
            raise serial.SerialException(NO_FRONT_END)
        self._buffer = bytearray()
        self._ready = threading.Condition()
        self._lost: str | None = None
        self._send_lock = threading.Lock()
        listener = socket.create_server(("127.0.0.1", 0))
        try:
            token = secrets.token_urlsafe(18)
            front_end({
                "bridge": listener.getsockname()[1], "token": token, "baud": self._baudrate,
                "signals": self._signals(),
            })  # fmt: skip
            self._sock, self.info, self._frames, early = _accept_browser(listener, token)
        finally:
            listener.close()
        self.is_open = True
        self._heard = time.monotonic()
        self._take(early)
        threading.Thread(target=self._pump, name="webserial bridge", daemon=True).start()

    def _signals(self) -> dict:
        return {"dataTerminalReady": bool(self._dtr_state), "requestToSend": bool(self._rts_state)}

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            _close_socket(self._sock)
            with self._ready:
                self._ready.notify_all()

    # The serial line --------------------------------------------------------------------

    @property
    def in_waiting(self) -> int:
        return len(self._buffer)

    def read(self, size: int = 1) -> bytes:
        if not self.is_open:
            raise serial.PortNotOpenError()
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        with self._ready:
            while len(self._buffer) < size and self._lost is None and self.is_open:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._ready.wait(left)
            if not self._buffer and self._lost is not None:
                raise serial.SerialException(self._lost)
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
        return data

    def write(self, data) -> int:
        if not self.is_open:
            raise serial.PortNotOpenError()
        data = bytes(data)
        self._send(pack(b"D", data))
        return len(data)

    def reset_input_buffer(self) -> None:
        with self._ready:
            self._buffer.clear()

    def reset_output_buffer(self) -> None:
        pass  # nothing is held on this side

    def flush(self) -> None:
        pass

    # The lines and settings: control messages to the browser ----------------------------

    def _update_dtr_state(self) -> None:
        self._send_control({"signals": {"dataTerminalReady": bool(self._dtr_state)}})

    def _update_rts_state(self) -> None:
        self._send_control({"signals": {"requestToSend": bool(self._rts_state)}})

    def _reconfigure_port(self, force_update: bool = False) -> None:
        if self.is_open:
            self._send_control({"baud": self._baudrate})  # the browser reopens its port at it

    def _update_break_state(self) -> None:
        raise serial.SerialException("webserial: Web Serial cannot send a break")

    @property
    def cts(self) -> bool:
        return False

    dsr = ri = cd = cts

    def _send_control(self, message: dict) -> None:
        if self.is_open:
            self._send(pack_control(message))

    def _send(self, frame: bytes) -> None:
        if self._lost is not None:
            raise serial.SerialException(self._lost)
        try:
            with self._send_lock:
                self._sock.sendall(frame)
        except OSError as e:
            self._lose(f"the browser's link broke ({e})")
            raise serial.SerialException(self._lost) from None

    # The bridge: frames in, pings out ----------------------------------------------------

    def _pump(self) -> None:
        pinged = 0
        while self.is_open and self._lost is None:
            now = time.monotonic()
            if now - self._heard > SILENCE_LIMIT:
                self._lose(f"no word from the browser for {SILENCE_LIMIT:.1f} s — was its tab closed, the computer put to sleep or the network lost?")  # fmt: skip
                return
            if now - pinged >= PING_INTERVAL:
                pinged = now
                try:
                    self._send_control({"ping": round(now, 3)})
                except serial.SerialException:
                    return
            try:
                if not select.select([self._sock], [], [], PING_INTERVAL / 2)[0]:
                    continue
                data = self._sock.recv(65536)
                if not data:
                    self._lose("the browser closed the link (its tab was closed or reloaded, or the network dropped)")
                    return
                received = self._frames.feed(data)
            except (OSError, ValueError) as e:
                if self.is_open:
                    self._lose(f"the browser's link broke ({e})")
                return
            self._heard = time.monotonic()
            self._take(received)

    def _take(self, frames: list[tuple[bytes, bytes]]) -> None:
        for kind, payload in frames:
            if kind == b"D":
                with self._ready:
                    self._buffer += payload
                    self._ready.notify_all()
            elif "lost" in (message := json.loads(payload)):
                self._lose(str(message["lost"]))
                return

    def _lose(self, why: str) -> None:
        with self._ready:
            if self._lost is None:
                self._lost = f"webserial: {why}"
            self._ready.notify_all()
        _close_socket(self._sock)


def _accept_browser(listener: socket.socket, token: str) -> tuple[socket.socket, dict, FrameReader, list]:
    """The browser's connection to the bridge, once it has said the token and opened its port:
    the socket, the port's info, its frame reader and the frames that came with the opening."""
    deadline = time.monotonic() + OPEN_TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise serial.SerialException(
                f"webserial: the browser did not open a port within {OPEN_TIMEOUT:.0f} s — choose the board's port"
                " in the browser's prompt (Chrome or Edge), then try again"
            )
        if not select.select([listener], [], [], min(left, 0.2))[0]:
            continue  # a short wait, so Ctrl-C (KeyboardInterrupt) stops it
        sock, _ = listener.accept()
        frames = FrameReader()
        try:
            message, early = _first_messages(sock, frames, token, deadline)
        except (OSError, ValueError):
            _close_socket(sock)  # not our browser, or it broke off: wait for the next
            continue
        if "error" in message:
            _close_socket(sock)
            raise serial.SerialException(f"webserial: {message['error']}")
        return sock, message.get("opened") or {}, frames, early


def _first_messages(sock: socket.socket, frames: FrameReader, token: str, deadline: float) -> tuple[dict, list]:
    """The token, then the browser's {"opened"} or {"error"} and the frames after it: raise
    ValueError on a wrong token."""
    token_by = time.monotonic() + TOKEN_TIMEOUT
    seen_token = False
    while True:
        limit = deadline if seen_token else min(token_by, deadline)
        left = limit - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            raise ValueError("no token in time")
        data = sock.recv(65536)
        if not data:
            raise ValueError("closed before opening")
        received = frames.feed(data)
        for at, (kind, payload) in enumerate(received):
            message = json.loads(payload) if kind == b"C" else {}
            if not seen_token:
                if not secrets.compare_digest(str(message.get("token", "")), token):
                    raise ValueError("wrong token")
                seen_token = True
            elif "opened" in message or "error" in message:
                return message, received[at + 1 :]


def _close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
