"""The page's part of a Web Serial link, played in Python for kernel tests and benches: what
labextension/src/webserial.ts does, with the emulator's `--webserial` WebSocket as the port.
The browser test (test_lab_webserial.py) runs the real page; this lets tests drive the
kernel, the Jupyter server's relay and the board without a browser, and fail on purpose
(a silent network, a refused prompt).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from functools import partial

import websocket


class _OneWay:
    """One direction of a network: each message is delivered `delay` seconds after it was
    sent, in order (0: at once)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._queue: queue.Queue = queue.Queue()
        if delay:
            threading.Thread(target=self._deliver, daemon=True).start()

    def send(self, deliver, *args) -> None:
        if self.delay:
            self._queue.put((time.monotonic() + self.delay, deliver, args))
        else:
            _quietly(deliver, *args)

    def _deliver(self) -> None:
        while True:
            due, deliver, args = self._queue.get()
            time.sleep(max(0.0, due - time.monotonic()))  # the network's latency, simulated
            _quietly(deliver, *args)


def _quietly(deliver, *args) -> None:
    try:
        deliver(*args)
    except (websocket.WebSocketException, OSError):
        pass  # that end has gone: so has the message


class StandInBrowser:
    def __init__(self, server_url: str, server_token: str, port_url: str, round_trip: float = 0.0) -> None:
        """`round_trip`: seconds a message takes there and back between the page and the
        server (a simulated network; the port's side is the USB cable: no delay)."""
        self.relay = server_url.replace("http", "ws", 1) + "/esp32-kernel/webserial"
        self.server_token = server_token
        self.port_url = port_url
        self.silent = False  # True: pings go unanswered, as when the network is lost
        self.signals: list[dict] = []
        self.bauds: list[int] = []
        self._kernel: websocket.WebSocket | None = None
        self._port: websocket.WebSocket | None = None
        self._up = _OneWay(round_trip / 2)  # page → server
        self._down = _OneWay(round_trip / 2)  # server → page

    def serve(self, request: dict, refuse: str | None = None, token: str | None = None) -> None:
        """Answer the kernel's request: open the port and relay it, or say `refuse`."""
        kernel = websocket.create_connection(
            f"{self.relay}?bridge={request['bridge']}&token={self.server_token}", timeout=10, enable_multithread=True
        )
        kernel.send(json.dumps({"token": token or request["token"]}))
        if refuse is not None:
            kernel.send(json.dumps({"error": refuse}))
            kernel.close()
            return
        port = websocket.create_connection(self.port_url, timeout=10, enable_multithread=True)
        self.signals.append(request["signals"])
        port.send(json.dumps({"signals": request["signals"]}))
        kernel.send(json.dumps({"opened": {"usbVendorId": 0x10C4, "usbProductId": 0xEA60}}))
        self._kernel, self._port = kernel, port
        # the kernel's messages reach the port a network's delay later; when the kernel lets the
        # port go, the page closes it
        to_port = (kernel, partial(self._down.send, self._from_kernel, kernel, port), partial(self._down.send, port.close))
        to_kernel = (port, partial(self._from_port, kernel), partial(self._unplugged, kernel))
        for relay in (to_port, to_kernel):
            threading.Thread(target=_relay, args=relay, daemon=True).start()

    def _from_kernel(self, kernel: websocket.WebSocket, port: websocket.WebSocket, opcode: int, data: bytes) -> None:
        if opcode == websocket.ABNF.OPCODE_BINARY:
            port.send_binary(data)
            return
        control = json.loads(data)
        if "ping" in control and not self.silent:
            self._up.send(kernel.send, json.dumps({"pong": control["ping"]}))
        elif "signals" in control:
            self.signals.append(control["signals"])
            port.send(json.dumps({"signals": control["signals"]}))
        elif "baud" in control:
            self.bauds.append(control["baud"])

    def _from_port(self, kernel: websocket.WebSocket, opcode: int, data: bytes) -> None:
        if opcode == websocket.ABNF.OPCODE_BINARY and not self.silent:
            self._up.send(kernel.send_binary, data)

    def _unplugged(self, kernel: websocket.WebSocket) -> None:
        """The port went away under us: the board was unplugged."""
        self._up.send(kernel.send, json.dumps({"lost": "the board was unplugged from this computer"}))
        self._up.send(kernel.close)

    def close(self) -> None:
        for ws in (self._kernel, self._port):
            if ws is not None:
                ws.close()


def _relay(source: websocket.WebSocket, each, then) -> None:
    """Hand each message `source` receives to `each(opcode, data)` until it closes; then `then()`."""
    source.settimeout(None)
    try:
        while True:
            opcode, data = source.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            each(opcode, data)
    except (websocket.WebSocketException, OSError):
        pass
    then()
