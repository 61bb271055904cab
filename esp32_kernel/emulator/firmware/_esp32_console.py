"""The board's console as an ESP32 presents it: text lines end in "\\r\\n", bytes stay bytes.

On an ESP32, print() and sys.stdout turn each "\\n" into "\\r\\n", while sys.stdout.buffer
writes bytes untouched. The unix port writes "\\n", and converting on the wire would corrupt
binary output, so the conversion happens here, where text is written.
"""

import builtins
import io
import sys

_builtin_sys = sys
_c_print = builtins.print
_c_print_exception = sys.print_exception


class TextIOWrapper(io.IOBase):
    """A text stream over a binary one, writing each "\\n" as "\\r\\n". Named and shown
    as a board's sys.stdout is (shared/runtime/sys_stdio_mphal.c): <io.TextIOWrapper 1>."""

    def __init__(self, binary, fd):
        self.buffer = binary
        self._fd = fd

    def __repr__(self):
        return "<io.TextIOWrapper %d>" % self._fd

    def write(self, data):
        raw = data.encode() if isinstance(data, str) else bytes(data)
        self.buffer.write(raw.replace(b"\n", b"\r\n"))
        return len(data)

    def flush(self):
        pass


stdout = TextIOWrapper(_builtin_sys.stdout.buffer, 1)
stderr = TextIOWrapper(_builtin_sys.stderr.buffer, 2)


def print(*args, **kwargs):
    if kwargs.get("file") is None:
        kwargs["file"] = stdout
    _c_print(*args, **kwargs)


def __repl_print__(obj):
    # What the friendly REPL calls to show an expression's value.
    if obj is not None:
        stdout.write(repr(obj))
        stdout.write("\n")
        builtins._ = obj


def print_exception(exc, file=None):
    _c_print_exception(exc, stdout if file is None else file)


def install():
    builtins.print = print
    builtins.__repl_print__ = __repl_print__
