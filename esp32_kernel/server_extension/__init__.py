"""The Jupyter server side of the lab extension, behind Jupyter's own authentication (and its
XSRF checks, for anything but GET):
- GET /esp32-kernel/ports lists this machine's serial ports (before a kernel exists);
- the WebSocket /esp32-kernel/webserial?bridge=PORT carries a Web Serial port of the browser
  to a kernel's bridge on this machine's loopback (esp32_kernel.link.protocol_webserial has
  the frames): binary messages are the serial line's bytes, text messages its control.

Enabled by jupyter_server_config.d/esp32_kernel.json beside this file, which the wheel installs into
etc/jupyter/jupyter_server_config.d/.
"""

from __future__ import annotations

import json

import tornado.web
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import url_path_join
from tornado.iostream import IOStream, StreamClosedError
from tornado.ioloop import IOLoop
from tornado.tcpclient import TCPClient
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .. import __version__
from ..lab import list_ports
from ..link.protocol_webserial import FrameReader, pack

NAMESPACE = "esp32-kernel"


class PortsHandler(APIHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.finish(json.dumps({"ports": list_ports()}))


class VersionHandler(APIHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.finish(json.dumps({"version": __version__}))


class WebSerialHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """Relays one browser's serial port to the kernel bridge named by ?bridge=PORT (loopback
    only; the kernel checks the one-time token the browser sends first)."""

    auth_resource = "kernels"
    _bridge: IOStream | None = None

    def set_default_headers(self) -> None:
        pass  # JupyterHandler's headers mean nothing to a WebSocket

    @ws_authenticated
    async def get(self) -> None:
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "execute", "kernels")):
            raise tornado.web.HTTPError(403)
        try:
            bridge = int(self.get_argument("bridge"))
        except ValueError:
            raise tornado.web.HTTPError(400, "bridge: the kernel's bridge port, a number") from None
        try:
            self._bridge = await TCPClient().connect("127.0.0.1", bridge)
        except OSError:
            raise tornado.web.HTTPError(502, "the kernel is not waiting for this port any more — connect again") from None
        await super().get()

    def open(self) -> None:
        super().open()
        IOLoop.current().spawn_callback(self._to_browser)

    async def _to_browser(self) -> None:
        frames = FrameReader()
        try:
            while True:
                data = await self._bridge.read_bytes(65536, partial=True)
                for kind, payload in frames.feed(data):
                    await self.write_message(payload if kind == b"D" else payload.decode(), binary=kind == b"D")
        except (StreamClosedError, WebSocketClosedError, ValueError):
            self.close()  # the kernel closed the port, or the browser went

    def on_message(self, message: str | bytes) -> None:
        frame = pack(b"D", message) if isinstance(message, bytes) else pack(b"C", message.encode())
        try:
            self._bridge.write(frame)
        except StreamClosedError:
            self.close()

    def on_close(self) -> None:
        if self._bridge is not None:
            self._bridge.close()


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "esp32_kernel.server_extension"}]


def _load_jupyter_server_extension(server_app) -> None:
    web_app = server_app.web_app
    base = url_path_join(web_app.settings["base_url"], NAMESPACE)
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "ports"), PortsHandler),
            (url_path_join(base, "version"), VersionHandler),
            (url_path_join(base, "webserial"), WebSerialHandler),
        ],
    )
    server_app.log.info("esp32-kernel: serving %s/ports", base)
