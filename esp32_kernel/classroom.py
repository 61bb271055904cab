"""A teacher's view of the class on a JupyterHub: every student's board, and cells run on them.

In a teacher's notebook on the hub (deploy/jupyterhub/teacher.ipynb)::

    from esp32_kernel.classroom import Classroom
    room = Classroom()
    room.boards()                                   # who runs which board, busy or idle
    room.run("import machine\\nprint(machine.Pin(2).value())", ["ada", "grace"])

It goes where a teacher's browser goes, with the teacher's own rights: the hub's REST API
for the users and their servers, and each student's kernel through the hub's proxy, as
JupyterLab reaches it. deploy/jupyterhub/jupyterhub_config.py gives the servers of the hub's
admins (the teachers) a token that can list users and open their servers; a student's
token cannot, and `Classroom()` then says so.
"""

from __future__ import annotations

import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

ESP32_KERNEL = "esp32"
PATIENCE_S = 30.0


class ClassroomError(Exception):
    pass


@dataclass
class Ran:
    """What a cell did on one student's kernel."""

    status: str  # "ok", "error", or why it could not run ("no ESP32 kernel running" …)
    output: str


class HubKernel:
    """One kernel of a user's server, reached through the hub's proxy over Jupyter's
    websocket protocol, as JupyterLab reaches it."""

    def __init__(self, server_url: str, kernel_id: str, token: str, timeout: float = PATIENCE_S):
        import websocket  # websocket-client: a dependency of jupyter_server

        url = f"ws{server_url[4:]}" if server_url.startswith("http") else server_url
        self.ws = websocket.create_connection(f"{url.rstrip('/')}/api/kernels/{kernel_id}/channels",
                                              header=[f"Authorization: token {token}"], timeout=timeout)  # fmt: skip
        self.session = uuid.uuid4().hex

    def request(self, msg_type: str, content: dict, channel: str = "shell") -> str:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "session": self.session, "username": "", "version": "5.3"}
        self.ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "channel": channel,
                                 "buffers": [], "content": content}))  # fmt: skip
        return msg_id

    def replies(self, msg_id: str):
        """The messages answering `msg_id`, as they come."""
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                yield msg

    def kernel_info(self) -> dict:
        msg_id = self.request("kernel_info_request", {})
        return next(m for m in self.replies(msg_id) if m["msg_type"] == "kernel_info_reply")["content"]

    def run(self, code: str) -> Ran:
        """Run a cell; its status and everything it printed (errors as 'Name: value')."""
        msg_id = self.request("execute_request", {"code": code, "silent": False, "store_history": False,
                                                  "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})  # fmt: skip
        printed, status, idle = [], None, False
        for msg in self.replies(msg_id):  # the reply (shell) and the last output (iopub) come in either order
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                printed.append(content["data"].get("text/plain", "") + "\n")
            elif kind == "error":
                printed.append(f"{content['ename']}: {content['evalue']}\n")
            elif kind == "execute_reply":
                status = content["status"]
            elif kind == "status":
                idle = content["execution_state"] == "idle"
            if status is not None and idle:
                return Ran(status, "".join(printed))
        raise ClassroomError("the kernel's websocket closed")  # pragma: no cover — replies() raises first

    def close(self) -> None:
        self.ws.close()


class Classroom:
    """The class on this hub, seen with the rights of the token given (by default the
    server's own: a teacher's can see every student; see the module's docstring)."""

    def __init__(self, hub_url: str | None = None, api_url: str | None = None, token: str | None = None,
                 timeout: float = PATIENCE_S):  # fmt: skip
        import requests  # a dependency of jupyterlab_server

        self._requests = requests
        self.hub_url = (hub_url or os.environ.get("ESP32_HUB_URL") or "").rstrip("/")
        self.api_url = (api_url or os.environ.get("JUPYTERHUB_API_URL") or f"{self.hub_url}/hub/api").rstrip("/")
        self.token = token or os.environ.get("JUPYTERHUB_API_TOKEN")
        self.timeout = timeout
        if not (self.hub_url and self.token):
            raise ClassroomError("this is not a server of the class's JupyterHub (no ESP32_HUB_URL or JUPYTERHUB_API_TOKEN):"
                                 " open the teacher's notebook on the hub, or give Classroom(hub_url, token=…)")  # fmt: skip
        self._users = self._api("users")

    def _api(self, path: str) -> list | dict:
        answer = self._requests.get(f"{self.api_url}/{path}", headers=self._headers, timeout=self.timeout)
        if answer.status_code == 403:
            raise ClassroomError("this token may not list the class: only the hub's admins (the teachers) can"
                                 " — ask for ESP32_HUB_TEACHERS to name you, then restart your server")  # fmt: skip
        answer.raise_for_status()
        return answer.json()

    @property
    def _headers(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    def students(self) -> list[str]:
        """Every user of the hub who is not a teacher (an admin), sorted."""
        self._users = self._api("users")
        return sorted(u["name"] for u in self._users if not u.get("admin"))

    def _server_url(self, student: str) -> str:
        return f"{self.hub_url}/user/{student}"

    def _server_state(self, student: str) -> str:
        user = next((u for u in self._users if u["name"] == student), None)
        server = (user or {}).get("servers", {}).get("")
        if server is None:
            return "not started" if user else "no such student"
        return "running" if server.get("ready") else (server.get("pending") or "starting")

    def _esp32_kernels(self, student: str) -> list[dict]:
        """The student's ESP32 kernels, the one used last first."""
        answer = self._requests.get(f"{self._server_url(student)}/api/kernels", headers=self._headers, timeout=self.timeout)
        answer.raise_for_status()
        kernels = [k for k in answer.json() if k["name"] == ESP32_KERNEL]
        return sorted(kernels, key=lambda k: k.get("last_activity") or "", reverse=True)

    def _each(self, students: list[str] | None, job) -> dict:
        names = self.students() if students is None else list(students)  # students() asks the hub afresh
        if students is not None:
            self._users = self._api("users")  # so the server states are today's either way
        with ThreadPoolExecutor(max_workers=min(16, len(names) or 1)) as pool:
            return dict(zip(names, pool.map(job, names)))

    def boards(self, students: list[str] | None = None):
        """A table (pandas DataFrame): each student's server, their ESP32 kernel (busy or idle)
        and the board it runs cells on. Asking does not wait for a student's running cell."""
        import pandas as pd

        def look(student: str) -> dict:
            row = {"student": student, "server": self._server_state(student), "kernel": "", "board": "", "emulated": None}
            if row["server"] != "running":
                return row
            kernels = self._esp32_kernels(student)
            if not kernels:
                return {**row, "kernel": "no ESP32 kernel running"}
            newest = kernels[0]
            row["kernel"] = f"{newest['execution_state']} ({len(kernels)} open)" if len(kernels) > 1 else newest["execution_state"]
            try:
                kernel = HubKernel(self._server_url(student), newest["id"], self.token, self.timeout)
                try:
                    board = kernel.kernel_info().get("esp32_board", {})
                finally:
                    kernel.close()
            except Exception as e:  # noqa: BLE001 - one student's kernel must not stop the overview
                return {**row, "board": f"no answer ({type(e).__name__})"}
            return {**row, "board": board.get("board") or board.get("error") or "", "emulated": board.get("emulated")}

        return pd.DataFrame(list(self._each(students, look).values()))

    def run(self, code: str, students: list[str] | None = None, show: bool = True) -> dict[str, Ran]:
        """Run `code` as a cell in each student's ESP32 kernel (every student by default), on
        the board it runs cells on, after any cell of theirs still running. Prints each
        student's output under their name (unless show=False); returns student → Ran."""

        def run_for(student: str) -> Ran:
            if self._server_state(student) != "running":
                return Ran(f"server {self._server_state(student)}", "")
            kernels = self._esp32_kernels(student)
            if not kernels:
                return Ran("no ESP32 kernel running", "")
            try:
                kernel = HubKernel(self._server_url(student), kernels[0]["id"], self.token, self.timeout)
            except Exception as e:  # noqa: BLE001 - one student's server must not stop the others'
                return Ran(f"could not reach their kernel ({e})", "")
            try:
                return kernel.run(code)
            except Exception as e:  # noqa: BLE001 - a cell of theirs that runs on, a server gone
                return Ran(f"no answer within {self.timeout:g} s ({type(e).__name__}): a cell of theirs may still run", "")
            finally:
                kernel.close()

        ran = self._each(students, run_for)
        if show:
            for student, result in ran.items():
                print(f"[{student}] {result.status}")
                for line in result.output.splitlines():
                    print(f"[{student}] {line}")
        return ran

    def lab_url(self, student: str, notebook: str = "") -> str:
        """The address that opens a student's JupyterLab (a notebook of theirs, if given), to
        watch their live plot as they see it; the hub lets its admins in."""
        return f"{self.hub_url}/user/{student}/lab" + (f"/tree/{notebook}" if notebook else "")
