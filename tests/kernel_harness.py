"""Running the real kernel through jupyter_client, as a notebook front end does."""

from __future__ import annotations

import contextlib
import os
import queue
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import KernelManager, start_new_kernel

HANG_GUARD = 30  # seconds: only to fail instead of hanging, never a performance bound


def isolated_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment where the kernel finds no config and keeps its emulator's files in tmp."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESP32_KERNEL_")}
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "config")
    env["JUPYTER_DATA_DIR"] = str(tmp / "data")
    env["IPYTHONDIR"] = str(tmp / "ipython")  # IPython's history database among them
    env.update(extra)
    return env


# Installed through sitecustomize in a process (and those it starts) before anything else is
# imported: the named modules refuse to import, as on a platform that lacks them.
_BLOCKER = '''
import sys

BLOCKED = {blocked!r}


class _NotOnThisPlatform:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: as on Windows)", name=name)
        return None


sys.meta_path.insert(0, _NotOnThisPlatform())
'''


def blocking_site(tmp: Path, *blocked: str) -> str:
    """A folder for PYTHONPATH whose sitecustomize makes `blocked` modules unimportable."""
    site = tmp / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_BLOCKER.format(blocked=blocked))
    return str(site)


def start_kernel(tmp: Path, transport: str = "tcp", **env: str):
    """(manager, client) of a kernel started in `tmp` with `env`. transport="ipc" gives its
    channels files in tmp instead of TCP ports, which many kernels started at once would race
    for (jupyter_client picks free ports, and the kernel binds them later)."""
    workdir = tmp / "notebooks"
    workdir.mkdir(parents=True, exist_ok=True)
    if transport == "tcp":
        return start_new_kernel(kernel_name="esp32", env=isolated_env(tmp, **env), cwd=str(workdir))
    km = KernelManager(kernel_name="esp32", transport=transport, ip=str(tmp / "kernel"))
    km.start_kernel(env=isolated_env(tmp, **env), cwd=str(workdir))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
    except RuntimeError:
        kc.stop_channels()
        km.shutdown_kernel()
        raise
    return km, kc


@contextlib.contextmanager
def running_kernel(tmp: Path, settle: bool = True, **env: str):
    """(manager, client) of a kernel started in `tmp` with `env`, shut down afterwards.
    `settle` runs a first cell, which takes the start-up notice (and waits for the board)."""
    km, kc = start_kernel(tmp, **env)
    try:
        if settle:
            run = run_cell(kc, "pass", timeout=60)
            assert run.status == "ok", run.reply["content"]
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@dataclass
class CellRun:
    reply: dict
    messages: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.reply["content"]["status"]

    def of_type(self, *types: str) -> list[dict]:
        return [m for m in self.messages if m["msg_type"] in types]

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stdout")

    @property
    def result(self) -> str | None:
        results = self.of_type("execute_result")
        return results[-1]["content"]["data"]["text/plain"] if results else None

    @property
    def error(self) -> dict | None:
        errors = self.of_type("error")
        return errors[-1]["content"] if errors else None


def answers(msg: dict, msg_id: str) -> bool:
    """`msg` was caused by execute request `msg_id`. (The manager's interrupt requests reuse
    the client's msg_id numbers: the parent's type tells them apart.)"""
    parent = msg["parent_header"]
    return parent.get("msg_id") == msg_id and parent.get("msg_type") == "execute_request"


def run_cell(kc, code: str, timeout: float = HANG_GUARD) -> CellRun:
    """Execute `code`; collect this request's iopub messages until the kernel is idle.

    ipykernel 7 aborts a request that reaches it just after a failed cell, before it has
    stopped aborting its queue (stop-on-error, ended by a message of its own that can come
    second): the test means the cell to run, so an aborted one is sent again."""
    for _ in range(5):
        run = collect(kc, kc.execute(code), timeout)
        if run.status != "aborted":
            break
    return run


def run_cell_answering(kc, code: str, answer: str, timeout: float = HANG_GUARD) -> tuple[CellRun, dict]:
    """Execute `code`, which asks for input (a password): answer its input_request as a
    front end does; the run and the request's content."""
    msg_id = kc.execute(code, allow_stdin=True)
    request = kc.get_stdin_msg(timeout=timeout)
    assert request["msg_type"] == "input_request", request
    kc.input(answer)
    return collect(kc, msg_id, timeout), request["content"]


def collect(kc, msg_id: str, timeout: float = HANG_GUARD) -> CellRun:
    """The reply and iopub messages of execute request `msg_id`, until the kernel is idle."""
    reply = kc.get_shell_msg(timeout=timeout)
    while not answers(reply, msg_id):
        reply = kc.get_shell_msg(timeout=timeout)
    run = CellRun(reply)
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if not answers(msg, msg_id):
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return run
        run.messages.append(msg)


def next_output(kc, msg_id: str, timeout: float = HANG_GUARD) -> dict:
    """The next stream/result/error message of request `msg_id`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no output from the kernel within {timeout} s") from None
        if answers(msg, msg_id) and msg["msg_type"] in ("stream", "execute_result", "error"):
            return msg


def ok(kc, code: str, timeout: float = HANG_GUARD) -> str:
    """Run `code`, which must end its cell well; what it printed."""
    run = run_cell(kc, code, timeout)
    assert run.status == "ok", (run.reply["content"].get("evalue"), run.stdout)
    return run.stdout


def fails(kc, code: str, ename: str, timeout: float = HANG_GUARD) -> str:
    """Run `code`, which must end its cell with an error reply named `ename`; the evalue."""
    run = run_cell(kc, code, timeout)
    content = run.reply["content"]
    assert run.status == "error" and content["ename"] == ename, content
    return content["evalue"]
