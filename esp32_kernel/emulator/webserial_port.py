"""The emulated board's UART as a WebSocket (`--webserial`): what a browser's Web Serial port
would give the lab extension, for tests and demos where no USB port can reach the browser.

Binary messages carry the serial line both ways; a text message {"signals":
{"dataTerminalReady": bool, "requestToSend": bool}} sets the bridge's DTR/RTS as Web Serial's
`setSignals` does (a key left out keeps its line), and those reach EN and GPIO0 through the
DevKitC's auto-reset circuit (rfc2217_link.auto_reset_pins). Closing the WebSocket is pulling
the USB cable: both lines drop.
"""

from __future__ import annotations

import asyncio
import json
import socket

from .webrepl_server import (OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameReader, UpgradeRequest, WebSocketError,
                             encode_frame, handshake_response)  # fmt: skip

_SIGNALS = {"dataTerminalReady": 0, "requestToSend": 1}


class WebSerialClient(asyncio.Protocol):
    """One WebSocket client of the supervisor, in place of a plain TCP one."""

    def __init__(self, supervisor) -> None:
        self._supervisor = supervisor
        self._request = UpgradeRequest()
        self._frames: FrameReader | None = None  # after the handshake
        self._accepted = False
        self._lines = [False, False]  # DTR, RTS

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = f"webserial {host}:{port}"

    def data_received(self, data: bytes) -> None:
        if self._frames is None:
            try:
                request = self._request.feed(data)
            except WebSocketError:
                self.transport.close()
                return
            if request is None:
                return
            headers, data = request
            answer = handshake_response(headers)
            if answer is None:
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\nthis is a WebSocket serial port\r\n")
                self.transport.close()
                return
            self._frames = FrameReader()
            self.transport.write(answer)
            self._accepted = self._supervisor._client_connected(self)
        try:
            frames = self._frames.feed(data)
        except WebSocketError:
            self.transport.close()
            return
        for opcode, payload in frames:
            self._frame(opcode, payload)

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_CLOSE:  # the port is closed: free the board now, for its next opening
            self._let_go()
            self.transport.write(encode_frame(OP_CLOSE, payload[:2]))
            self.transport.close()
        elif opcode == OP_PING:
            self.transport.write(encode_frame(OP_PONG, payload))
        elif not self._accepted:
            return
        elif opcode == OP_BINARY and payload:
            self._supervisor._client_sends(payload)
        elif opcode == OP_TEXT:
            self._control(payload)

    def _control(self, payload: bytes) -> None:
        try:
            signals = json.loads(payload).get("signals", {})
        except (ValueError, AttributeError):
            return  # not a control message this port knows
        for name, line in _SIGNALS.items():
            if name in signals:
                self._lines[line] = bool(signals[name])
        self._supervisor.set_modem_lines(*self._lines)

    def send(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(encode_frame(OP_BINARY, data))

    def refuse(self, message: bytes) -> None:
        self.send(message)
        asyncio.get_running_loop().call_later(2.0, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._let_go()

    def _let_go(self) -> None:
        if self._accepted:
            self._accepted = False
            self._supervisor.set_modem_lines(False, False)  # the cable is out: no line is driven
            self._supervisor._client_disconnected(self)
