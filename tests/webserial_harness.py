"""The page's part of a Web Serial link, played in Python for kernel tests and benches: what
labextension/src/webserial.ts does, with the emulator's `--webserial` WebSocket as the port.
The browser test (test_lab_webserial.py) runs the real page; this lets tests drive the
kernel, the Jupyter server's relay and the board without a browser, and fail on purpose
(a silent network, a refused prompt).
"""

from __future__ import annotations

import json
import threading

import websocket


class StandInBrowser:
    def __init__(self, server_url: str, server_token: str, port_url: str) -> None:
        self.relay = server_url.replace("http", "ws", 1) + "/esp32-kernel/webserial"
        self.server_token = server_token
        self.port_url = port_url
        self.silent = False  # True: pings go unanswered, as when the network is lost
        self.signals: list[dict] = []
        self.bauds: list[int] = []
        self._kernel: websocket.WebSocket | None = None
        self._port: websocket.WebSocket | None = None

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
        threading.Thread(target=self._to_port, args=(kernel, port), daemon=True).start()
        threading.Thread(target=self._to_kernel, args=(kernel, port), daemon=True).start()

    def _to_port(self, kernel: websocket.WebSocket, port: websocket.WebSocket) -> None:
        kernel.settimeout(None)
        try:
            while True:
                opcode, data = kernel.recv_data()
                if opcode == websocket.ABNF.OPCODE_BINARY:
                    port.send_binary(data)
                    continue
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                control = json.loads(data)
                if "ping" in control and not self.silent:
                    kernel.send(json.dumps({"pong": control["ping"]}))
                elif "signals" in control:
                    self.signals.append(control["signals"])
                    port.send(json.dumps({"signals": control["signals"]}))
                elif "baud" in control:
                    self.bauds.append(control["baud"])
        except (websocket.WebSocketException, OSError):
            pass
        port.close()  # the kernel let the port go: close it, as the page does

    def _to_kernel(self, kernel: websocket.WebSocket, port: websocket.WebSocket) -> None:
        port.settimeout(None)
        try:
            while True:
                opcode, data = port.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                if opcode == websocket.ABNF.OPCODE_BINARY and not self.silent:
                    kernel.send_binary(data)
        except (websocket.WebSocketException, OSError):
            pass
        try:  # the port went away under us: the board was unplugged
            kernel.send(json.dumps({"lost": "the board was unplugged from this computer"}))
            kernel.close()
        except (websocket.WebSocketException, OSError):
            pass

    def close(self) -> None:
        for ws in (self._kernel, self._port):
            if ws is not None:
                ws.close()
