"""The Jupyter server side of the lab extension: what the front end needs before a kernel
exists. GET /esp32-kernel/ports lists this machine's serial ports, behind Jupyter's own
authentication (and its XSRF checks, for anything but GET).

Enabled by jupyter_server_config.d/esp32_kernel.json beside this file, which the wheel installs into
etc/jupyter/jupyter_server_config.d/.
"""

from __future__ import annotations

import json

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from .. import __version__
from ..lab import list_ports

NAMESPACE = "esp32-kernel"


class PortsHandler(APIHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.finish(json.dumps({"ports": list_ports()}))


class VersionHandler(APIHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.finish(json.dumps({"version": __version__}))


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
        ],
    )
    server_app.log.info("esp32-kernel: serving %s/ports", base)
