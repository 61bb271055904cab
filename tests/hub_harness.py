"""A real JupyterHub on loopback for tests and bench/bench_hub.py: the hub with
deploy/jupyterhub/jupyterhub_config.py loaded (DummyAuthenticator, SimpleLocalProcessSpawner:
students are not users of this machine), its proxy from npm, a service token with admin
rights over users and servers, and kernels opened through the hub's proxy as a browser does."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from esp32_kernel.classroom import HubKernel

ROOT = Path(__file__).resolve().parent.parent
PROXY = shutil.which("configurable-http-proxy") or str(Path(sys.prefix) / "node_modules" / ".bin" / "configurable-http-proxy")
HANG_GUARD_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    def __init__(self, folder: Path, patience: float = HANG_GUARD_S, **env: str):
        self.patience, self.folder = patience, folder
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.homes = folder / "homes"
        config = folder / "jupyterhub_config.py"
        config.write_text(f"""
load_subconfig({str(ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py")!r})
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(self.homes / "{username}")!r}
c.Spawner.notebook_dir = ""  # the home
c.Spawner.cmd = [{str(Path(sys.executable).parent / "jupyterhub-singleuser")!r}]
c.Spawner.env_keep = ["PATH", "LANG"]
c.Spawner.args = {["--allow-root"] if os.geteuid() == 0 else []!r}  # these servers run as the hub's user
c.Spawner.start_timeout = {patience}
c.Spawner.http_timeout = {patience}
c.ConfigurableHTTPProxy.command = [{PROXY!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.JupyterHub.hub_port = {free_port()}
c.JupyterHub.db_url = "sqlite:///{folder / "hub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(folder / "cookie_secret")!r}
c.JupyterHub.services = [{{"name": "teacher-bot", "api_token": {self.token!r}}}]
c.JupyterHub.load_roles = [{{"name": "class", "services": ["teacher-bot"],
                             "scopes": ["admin:users", "admin:servers", "access:servers"]}}]
""")
        hub_env = {k: v for k, v in os.environ.items() if not k.startswith(("ESP32_KERNEL_", "JUPYTER"))}
        hub_env.update(ESP32_HUB_URL=self.url, ESP32_HUB_COURSE=str(ROOT / "notebooks"),
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{hub_env['PATH']}", **env)  # fmt: skip
        self.log = open(folder / "hub.log", "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=folder, env=hub_env,
                                        stdout=self.log, stderr=subprocess.STDOUT)  # fmt: skip
        self.wait(lambda: self.api("get", "").ok, "the hub to answer")

    def api(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, f"{self.url}/hub/api/{path}", headers={"Authorization": f"token {self.token}"},
                                timeout=30, **kw)  # fmt: skip

    def wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except requests.ConnectionError:
                pass
            assert self.process.poll() is None, f"the hub exited while waiting for {what}"
            time.sleep(0.2)
        raise AssertionError(f"no {what} within {self.patience} s")

    def start_server(self, name: str) -> None:
        assert self.api("post", f"users/{name}").status_code in (201, 409)  # 409: there already (the teachers are)
        assert self.api("post", f"users/{name}/server").status_code in (201, 202)

    def server_ready(self, name: str) -> bool:
        return bool(self.api("get", f"users/{name}").json()["servers"].get("", {}).get("ready"))

    def stop(self) -> None:
        for user in self.api("get", "users").json():
            if user["servers"]:
                self.api("delete", f"users/{user['name']}/server")
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class KernelThroughHub(HubKernel):
    """A new kernel on a student's server, reached through the hub's proxy as a browser does."""

    def __init__(self, hub: Hub, student: str, kernel: str = "esp32"):
        server = f"{hub.url}/user/{student}"
        started = requests.post(f"{server}/api/kernels", json={"name": kernel}, headers={"Authorization": f"token {hub.token}"},
                                timeout=hub.patience)  # fmt: skip
        assert started.status_code == 201, started.text
        super().__init__(server, started.json()["id"], hub.token, hub.patience)

    def run(self, code: str) -> tuple[str, str]:
        """(status, everything the cell printed)."""
        ran = super().run(code)
        return ran.status, ran.output
