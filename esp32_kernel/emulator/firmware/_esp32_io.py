"""The `io` module as an ESP32 under MicroPython v1.24 has it: the unix port's, and
BufferedWriter (MICROPY_PY_IO_BUFFEREDWRITER), which the unix port leaves out. Installed at
boot as sys.modules["io"] (firmware/_esp32_boot.py); `uio` is it too (_esp32_frozen.py)."""

from _esp32_frozen import builtin_import

_unix = builtin_import("io")
IOBase, StringIO, BytesIO, open = _unix.IOBase, _unix.StringIO, _unix.BytesIO, _unix.open


class BufferedWriter:
    """Writes to `stream` in chunks of `size` bytes; flush() writes what is left (py/modio.c)."""

    def __init__(self, stream, size):
        self._stream = stream
        self._size = size
        self._buf = bytearray()

    def write(self, buf):
        self._buf += buf
        while len(self._buf) >= self._size:
            self._stream.write(self._buf[: self._size])
            self._buf = self._buf[self._size :]
        return len(buf)

    def flush(self):
        if self._buf:
            self._stream.write(self._buf)
            self._buf = bytearray()
        flush = getattr(self._stream, "flush", None)
        if flush is not None:
            flush()


# It reads as the built-in module: <module 'io'>, no __file__.
__name__ = "io"
del __file__
