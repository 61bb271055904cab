"""A byte link to a board's WebREPL (ws://HOST:8266), read by a background thread.

The same interface as serial_link.SerialLink, so the Board runs its raw REPL over it:
the board's REPL travels in WebSocket text frames both ways (MicroPython's
extmod/webrepl). Before the REPL, the board asks "Password: " and answers
"WebREPL connected" or "Access denied". The password is held in a `Secret`, whose repr
hides it, and is sent to the board and nowhere else.
"""

from __future__ import annotations

import select
import ssl
import threading
from collections.abc import Callable

import websocket

from .. import redaction
from .serial_link import LinkError

SCHEMES = ("ws://", "wss://")
DEFAULT_PORT = 8266
CONNECT_TIMEOUT = 5.0  # for the TCP connection, the handshake and each prompt
_READ_TIMEOUT = 0.2  # the reader blocks on data; this only bounds how long close() waits
_FRAME_TIMEOUT = 10.0  # a frame that has started must finish within this
_PASSWORD_PROMPT = b"Password: "
_CONNECTED = b"WebREPL connected\r\n>>> "
_DENIED = b"Access denied"


def is_webrepl_url(port: str) -> bool:
    return port.lower().startswith(SCHEMES)


class Secret:
    """A password kept out of reprs, logs and tracebacks: `reveal()` is the one way in."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        redaction.remember(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class PasswordRefused(LinkError):
    """The board's WebREPL answered "Access denied"."""


class PasswordNeeded(LinkError):
    """A WebREPL link was asked for without a password."""


def _with_default_port(url: str) -> str:
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    if ":" not in host.rpartition("]")[2]:
        host = f"{host}:{DEFAULT_PORT}"
    return f"{scheme}://{host}{slash}{path}"


class WebReplLink:
    """An open WebREPL session: `write` bytes (the REPL's input); received bytes go to
    `on_data` from a reader thread, and `on_lost(message)` is called once if it goes away."""

    has_modem_lines = False  # no reset line over the network: Ctrl-C, then the user's button

    def __init__(
        self,
        url: str,
        password: Secret | None,
        *,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self.port = url
        self._on_data = on_data
        self._on_lost = on_lost
        if password is None:
            raise PasswordNeeded(
                f"WebREPL at {url} needs its password — run %connect {url} (it asks for it) or set"
                " ESP32_KERNEL_WEBREPL_PASSWORD in the kernel's environment"
            )
        self._ws = self._open(_with_default_port(url))
        self._write_lock = threading.Lock()
        self._closing = False
        try:
            greeting_rest = self._log_in(password)
        except BaseException:
            self._ws.shutdown()
            raise
        if greeting_rest:  # before the reader's bytes, which follow it
            on_data(greeting_rest)
        self._reader = threading.Thread(target=self._read_loop, name=f"link {url}", daemon=True)
        self._reader.start()

    def _open(self, url: str) -> websocket.WebSocket:
        ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
        try:
            ws.connect(url, timeout=CONNECT_TIMEOUT)
        except (websocket.WebSocketException, OSError, ValueError) as e:
            raise self._open_failure(e) from None
        return ws

    def _open_failure(self, error: Exception) -> LinkError:
        """Why the WebREPL could not be opened, and what to do about it."""
        text = str(error) or type(error).__name__
        if isinstance(error, ConnectionRefusedError) or "refused" in text.lower():
            return LinkError(
                f"nothing is listening at {self.port} — is WebREPL started on the board"
                " (import webrepl; webrepl.start()) and is this the board's address?",
                "NothingListening",
            )
        if isinstance(error, (TimeoutError, websocket.WebSocketTimeoutException)):
            return LinkError(f"no answer from {self.port} within {CONNECT_TIMEOUT:.0f} s — is the board on this network?", "TimeoutError")  # fmt: skip
        closed = (websocket.WebSocketConnectionClosedException, ConnectionResetError)
        if isinstance(error, closed) or "closed" in text.lower():
            return LinkError(
                f"{self.port} closed the connection before WebREPL answered — is WebREPL started on the"
                " board (import webrepl; webrepl.start()) and its WiFi up (a station connected or its access"
                " point active)? Only one WebREPL client at a time: close the browser tab or other tool.",
                "ConnectionClosed",
            )
        return LinkError(f"could not open WebREPL at {self.port}: {text}")

    def _log_in(self, password: Secret) -> bytes:
        """Answer the password prompt; the bytes that followed the greeting."""
        said = self._read_until(_PASSWORD_PROMPT, "ask for its password")
        self._send(password.reveal().encode() + b"\r")
        said = self._read_until(_CONNECTED, "let us in", denied=True)
        return said[said.find(_CONNECTED) + len(_CONNECTED) :]

    def _read_until(self, wanted: bytes, doing: str, denied: bool = False) -> bytes:
        said = b""
        self._ws.settimeout(CONNECT_TIMEOUT)
        while wanted not in said:
            if denied and _DENIED in said:
                raise PasswordRefused(self._refused())
            try:
                opcode, data = self._ws.recv_data()
            except (websocket.WebSocketTimeoutException, TimeoutError):
                raise LinkError(f"WebREPL at {self.port} did not {doing} within {CONNECT_TIMEOUT:.0f} s") from None
            except (websocket.WebSocketException, OSError) as e:
                if denied and _DENIED in said:
                    raise PasswordRefused(self._refused()) from None
                raise self._open_failure(e) from None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                if denied:
                    raise PasswordRefused(self._refused())
                raise self._open_failure(websocket.WebSocketConnectionClosedException("closed"))
            said += data
        return said

    def _refused(self) -> str:
        return (
            f"WebREPL at {self.port} refused the password — check it (the board's webrepl_cfg.py PASS, or the"
            f" password given to webrepl.start()) and run %connect {self.port} again"
        )

    def _send(self, data: bytes) -> None:
        self._ws.send(data, opcode=websocket.ABNF.OPCODE_TEXT)

    def write(self, data: bytes) -> None:
        if not data:
            return
        try:
            with self._write_lock:
                self._send(data)
        except (websocket.WebSocketException, OSError) as e:
            raise LinkError(f"the link to {self.port} failed while writing: {e}") from e

    def pulse_reset(self) -> None:
        raise LinkError(f"{self.port} has no reset line — press the board's reset button")

    def close(self) -> None:
        self._closing = True
        try:
            with self._write_lock:
                self._ws.send_close()
        except (websocket.WebSocketException, OSError):
            pass
        self._ws.abort()
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=2)
        self._ws.shutdown()

    def _readable(self) -> bool:
        sock = self._ws.sock
        if sock is None:
            raise websocket.WebSocketConnectionClosedException("closed")
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        return bool(select.select([sock], [], [], _READ_TIMEOUT)[0])

    def _read_loop(self) -> None:
        self._ws.settimeout(_FRAME_TIMEOUT)
        while not self._closing:
            try:
                if not self._readable():
                    continue
                opcode, data = self._ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    raise websocket.WebSocketConnectionClosedException("the board closed the WebSocket")
            except Exception as e:  # any failure of the socket means the link is gone
                if not self._closing:
                    self._closing = True
                    self._on_lost(f"the WebREPL link to {self.port} was lost ({e or type(e).__name__})")
                return
            if data and opcode == websocket.ABNF.OPCODE_TEXT:
                self._on_data(data)
