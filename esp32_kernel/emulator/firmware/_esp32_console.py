"""The board's console as an ESP32 presents it: text lines end in "\\r\\n", bytes stay bytes.

On an ESP32, print() and sys.stdout turn each "\\n" into "\\r\\n", while sys.stdout.buffer
writes bytes untouched. The unix port writes "\\n", and converting on the wire would corrupt
binary output, so the conversion happens here, where text is written.

While micropython.heap_lock() holds, print() must not allocate, as on a board; this Python
print (and its conversion) does. Then print is the unix port's own (allocation-free) and the
pty turns "\\n" into "\\r\\n" instead (ONLCR, set on the tty while the heap is locked), with
binary writes passing around it.
"""

import builtins
import io
import sys

_builtin_sys = sys
_c_print = builtins.print
_c_print_exception = sys.print_exception


# Linux's c_oflag bits: output processing, "\n" -> "\r\n".
_OPOST = 0o1
_ONLCR = 0o4
try:
    import termios
except ImportError:  # no heap-locked printing then
    termios = None
_tty_converts = False  # whether the tty turns "\n" into "\r\n" now (the heap is locked)
# The tty's attributes, read when the heap is locked (tcgetattr allocates) and kept only as
# long as the tty converts: only the oflag changes, in place.
_tty = None
_raw_oflag = 0
# micropython.heap_lock()'s depth and alloc_emergency_exception_buf(), as the firmware's own
# code sees them (firmware/_esp32_micropython.py; esp32._check_esp_err must not allocate then)
heap_lock_depth = 0
emergency_exception_buf = False
# The portable core's interrupt point: a Ctrl-C stops code as it prints.
try:
    from _esp32_host import check, converting
except ImportError:  # the native core: a Ctrl-C is a signal
    check = None


def _tty_converting(on):
    if check is not None:  # the portable core's host converts (portable_core.py)
        converting(on)
        return
    # allocates nothing: a small int into the list, the list to the tty
    _tty[1] = _raw_oflag | _OPOST | _ONLCR if on else _raw_oflag
    termios.tcsetattr(1, termios.TCSANOW, _tty)


def heap_locked(locked):
    """Switch print() between ours and the allocation-free C one; called outside the lock."""
    global _tty_converts, _tty, _raw_oflag
    if termios is None and check is None:
        return
    if locked:
        if not _tty_converts:
            if check is None:
                try:
                    _tty = termios.tcgetattr(1)  # the supervisor's raw pty
                except OSError:  # stdout is no tty: our print() stays (and allocates)
                    return
                _raw_oflag = _tty[1]
            # Output already written was processed at write time: the switch is exact.
            _tty_converting(True)
            _tty_converts = True
        builtins.print = _c_print
    else:
        # The tty goes on converting until our next write: in print(heap_unlock()) the C
        # print() is already called and writes after this.
        builtins.print = print


def _settle():
    # After heap_unlock() our writes convert again, and the tty stops.
    global _tty_converts, _tty
    if _tty_converts and not heap_lock_depth:
        _tty_converting(False)
        _tty_converts = False
        _tty = None


class FileIO(io.IOBase):
    """sys.stdout.buffer: bytes untouched, also while the tty converts text. Named and shown
    as a board's is: <io.FileIO 1>."""

    def __init__(self, raw, fd):
        self._raw = raw
        self._fd = fd

    def __repr__(self):
        return "<io.FileIO %d>" % self._fd

    def write(self, data, a=None, b=None):
        # A stream's write(buf), write(buf, max_len) or write(buf, off, max_len) (mpremote's
        # mount uses them); no *args: that would allocate while the heap is locked.
        if a is not None:
            data = memoryview(data)[:a] if b is None else memoryview(data)[a : a + b]
        if check is not None:
            check()
        if _tty_converts:
            _settle()
        if not _tty_converts:
            return self._raw.write(data)
        _tty_converting(False)
        try:
            return self._raw.write(data)
        finally:
            _tty_converting(True)

    def flush(self):
        pass


class TextIOWrapper(io.IOBase):
    """A text stream over a binary one, writing each "\\n" as "\\r\\n". Named and shown
    as a board's sys.stdout is (shared/runtime/sys_stdio_mphal.c): <io.TextIOWrapper 1>."""

    def __init__(self, binary, fd):
        self.buffer = FileIO(binary, fd) if termios or check else binary
        self._raw = binary
        self._fd = fd

    def __repr__(self):
        return "<io.TextIOWrapper %d>" % self._fd

    def write(self, data):
        if check is not None:
            check()
        if _tty_converts:
            _settle()
        if _tty_converts:  # the tty converts: nothing to allocate here
            self._raw.write(data)
            return len(data)
        raw = data.encode() if isinstance(data, str) else bytes(data)
        self._raw.write(raw.replace(b"\n", b"\r\n"))
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
    if file is None:
        # a Python stream gets each piece as a new str: with the heap locked, the C stdout
        if _tty_converts:
            _settle()
        file = _builtin_sys.stdout if _tty_converts else stdout
    _c_print_exception(exc, file)


def install():
    builtins.print = print
    builtins.__repl_print__ = __repl_print__
