"""One kernel per board: a lock file per port in Jupyter's runtime folder.

The serial port's own exclusive open keeps other programs out, but says nothing about who
holds it, and socket:// or rfc2217:// ports have no such lock at all. Beside it, a kernel
holds an OS lock (flock) on `esp32-kernel-port-<port>.lock` for as long as it is connected,
with its pid and kernel id written inside, so a second kernel is refused with a message
that names the holder. The OS drops the lock when the holder dies: no stale locks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the serial port's exclusive open is the only guard
    fcntl = None


class PortBusy(Exception):
    """Another kernel holds the port; the message names it."""


def runtime_dir() -> Path:
    from jupyter_core.paths import jupyter_runtime_dir

    folder = Path(jupyter_runtime_dir())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def kernel_id() -> str:
    """This kernel's id (from its connection file's name), or '' outside a kernel."""
    try:
        from ipykernel.kernelapp import IPKernelApp

        if IPKernelApp.initialized():
            name = Path(IPKernelApp.instance().connection_file).stem
            return name.removeprefix("kernel-")
    except Exception:
        pass
    return ""


def lock_path(port: str) -> Path:
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", port).strip("_")[-40:]
    digest = hashlib.sha256(port.encode()).hexdigest()[:8]
    return runtime_dir() / f"esp32-kernel-port-{readable}-{digest}.lock"


class PortLock:
    """Held from acquire() to release(); acquire raises PortBusy naming the holder."""

    def __init__(self, port: str) -> None:
        self.port = port
        self.path = lock_path(port)
        self._file = None

    def acquire(self) -> "PortLock":
        # webserial:// is a port in each kernel's own browser tab, which holds it exclusively
        if fcntl is None or self.port.startswith("webserial:"):
            return self
        file = open(self.path, "a+")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            file.seek(0)
            holder = _describe(file.read())
            file.close()
            raise PortBusy(
                f"{self.port} is in use by {holder} — disconnect it there (%disconnect) or shut that kernel down"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(json.dumps({"pid": os.getpid(), "kernel": kernel_id(), "port": self.port, "since": time.time()}))
        file.flush()
        self._file = file
        return self

    def release(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            try:
                file.truncate(0)
            finally:
                file.close()  # closing drops the flock


def _describe(text: str) -> str:
    try:
        info = json.loads(text)
    except ValueError:
        return "another kernel"
    since = time.strftime("%H:%M", time.localtime(info.get("since", 0)))
    kernel = f"kernel {info['kernel']}, " if info.get("kernel") else ""
    return f"another kernel ({kernel}pid {info.get('pid', '?')}, connected since {since})"
