"""What the portable core (MicroPython for WASI) needs beyond the firmware both cores share,
loaded only there, so it costs the native core no heap. Its line to the host is
_esp32_host.py; this module holds the rest, each a stand-in for what its build lacks or
does differently.
"""

import gc
import sys

import _esp32_host
import _esp32_supervisor

# -- errno. Its C code raises WASI's numbers (ENOENT is 44 there, and 2 is its EACCES) and
# prints the names of some from its own table: the names stay right only with its numbers,
# so errno gives those (wasi-libc's errno.h) and comparisons with errno.ENOENT hold. The
# README lists this among the portable core's differences.
ERRNO = {
    "EPERM": 63, "ENOENT": 44, "EIO": 29, "EBADF": 8, "EAGAIN": 6, "ENOMEM": 48, "EACCES": 2,
    "EEXIST": 20, "ENOTDIR": 54, "ENODEV": 43, "EISDIR": 31, "EINVAL": 28, "ENOSPC": 51,
    "EROFS": 69, "EOPNOTSUPP": 58, "ECONNRESET": 15, "ENOBUFS": 42, "ECONNREFUSED": 14,
    "EADDRINUSE": 3, "ECONNABORTED": 13, "ETIMEDOUT": 73, "EHOSTUNREACH": 23,
    "EINPROGRESS": 26, "EALREADY": 7, "ENOTCONN": 53,
}  # fmt: skip


# -- gc. Collection happens only between the REPL's commands (see _esp32_host.py), in a
# heap larger than a board's: these report what a board has after its boot.


class Gc:
    def __init__(self):
        self._boot_alloc = gc.mem_alloc()
        self._enabled = True

    def collect(self):
        pass  # not here: code is running (the REPL collects once it is done)

    def mem_free(self):
        return max(0, _esp32_supervisor.board_heap - self._boot_alloc)

    def mem_alloc(self):
        return self._boot_alloc

    def enable(self):
        self._enabled = True

    def disable(self):
        self._enabled = False

    def isenabled(self):
        return self._enabled


# -- input(): the UART, not WASI's stdin


def input(prompt=None):
    import _esp32_console

    if prompt:
        _esp32_console.stdout.write(prompt)
    line = bytearray()
    while True:
        c = _esp32_host.read(1)
        if c in (b"\r", b"\n"):
            _esp32_console.stdout.write("\n")
            return line.decode()
        if c in (b"\x08", b"\x7f"):
            if line:
                line = line[:-1]
                _esp32_console.stdout.write("\b \b")
            continue
        line += c
        _esp32_console._builtin_sys.stdout.buffer.write(c)


# -- relative imports. The build's __import__ resolves one against the globals of the code
# running it (the import hook's), and the import statement gives it none: it runs in the
# globals of the module being imported (relative imports are made as packages load).


def import_hook(board_import, c_import):
    """builtins.__import__ for this core: board_import (the firmware's) for absolute imports."""
    importing = []  # the names being imported, innermost last

    def portable_import(name, globals=None, locals=None, fromlist=None, level=0):
        if not level:
            importing.append(name)
            try:
                return board_import(name, globals, locals, fromlist, level)
            finally:
                importing.pop()
        scope = {"c_import": c_import, "args": (name, None, None, fromlist, level)}
        exec("module = c_import(*args)", _importer_globals(importing), scope)
        return scope["module"]

    return portable_import


def _importer_globals(importing):
    # the innermost module of an import in progress: its package's modules load first
    for name in reversed(importing):
        while name:
            module = sys.modules.get(name)
            if module is not None:
                return module.__dict__
            name = name.rpartition(".")[0]
    raise ImportError("can't perform relative import")
