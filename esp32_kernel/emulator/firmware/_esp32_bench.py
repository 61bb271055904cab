"""The board's line to the bench (the physical world), kept by the supervisor.

Three pipes join this MicroPython process to the supervisor:

- requests (board → supervisor), lines: ``q SEQ CMD ARGS…`` wants an answer, ``c CMD ARGS…``
  does not (pin writes and other one-way news, kept in order with the questions);
- replies (supervisor → board): ``SEQ JSON`` per question; a stale answer (the question was
  interrupted by Ctrl-C) is skipped by its sequence number;
- events (supervisor → board): ``irq PIN``, ``timer ID``, ``intr``…, one per line.

Events are what a board's interrupts are. While code runs, a watcher thread (started with the
first handler) sees the events pipe become readable and schedules dispatch() with
micropython.schedule, as an ESP32's ISR schedules a Python handler; at an idle REPL the
supervisor runs pump() in a hidden exec. time.sleep() waits on the events pipe, so handlers
run during sleeps as on a board.
"""

import json
import micropython
import select
import sys

import _esp32_console
import _esp32_supervisor
import _esp32_errno

_requests = _esp32_supervisor._requests
if _esp32_supervisor.portable:  # host.call() for pipes; the host reports events itself
    import _esp32_host

    _replies = _esp32_host.replies
    _events = _esp32_host.events
    _poller = _esp32_host.poller
else:
    import _thread

    _replies = open("/dev/fd/" + sys.argv[6], "rb")
    _events = open("/dev/fd/" + sys.argv[7], "rb")
    _poller = select.poll()
    _poller.register(_events, select.POLLIN)
_seq = 0
wifi_active = False  # network.WLAN keeps it: ADC2 is the radio's while WiFi is on

# Handlers, by event kind and id: {"irq": {pin: callable}, "timer": {id: callable}}
handlers = {}


class BenchError(Exception):
    pass


CHUNK = 512  # bytes of data a request carries at most: a board's heap has no room for long lines


def text(value):
    """A str or bytes as one word of a request: its hex, "-" when empty (bench.unhex decodes it)."""
    return (value.encode() if isinstance(value, str) else bytes(value)).hex() or "-"


def call(*args):
    """Ask the bench; returns its answer (JSON-decoded)."""
    global _seq
    _seq += 1
    seq = _seq
    _requests.write(("q %d %s\n" % (seq, " ".join([str(a) for a in args]))).encode())
    while True:
        line = _replies.readline()
        if not line:
            raise OSError(_esp32_errno.EIO)
        head, _, value = line.partition(b" ")
        try:
            if int(head) != seq:
                continue
        except ValueError:
            continue
        if value[:1] == b"!":
            raise BenchError(value[1:].strip().decode())
        return json.loads(value)


def send(*args):
    """Tell the bench something that needs no answer (kept in order with call())."""
    _requests.write(("c %s\n" % " ".join([str(a) for a in args])).encode())


def on(kind, key, handler, arg=None):
    """Run handler(arg) on each event KIND KEY (None: stop)."""
    table = handlers.setdefault(kind, {})
    if handler is None:
        table.pop(key, None)
    else:
        table[key] = (handler, arg)
        _start_watching()


def _run(line):
    kind, _, key = line.strip().decode().partition(" ")
    table = handlers.get(kind)
    if table is None:
        return
    try:
        key = int(key)
    except ValueError:
        pass
    entry = table.get(key)
    if entry is not None:
        handler, arg = entry
        if handler is not None:
            _call_protected(handler, arg)


def _call_protected(handler, arg):
    """handler(arg) as a board runs a scheduled callback (mp_call_function_1_protected): an
    exception is printed, traceback and all, and whatever code was running goes on. It must
    not surface there: handlers also run inside time.sleep() and the bench's hidden pump.
    Ctrl-C is the user's, and stops the code as it would anywhere."""
    try:
        handler(arg)
    except Exception as exc:
        _esp32_console.print_exception(exc)


_dispatching = False


def dispatch():
    """Run the handlers of every event that has arrived (in the main thread).

    Not re-entered: the watcher's scheduled dispatch can run at any VM check, also between
    this loop's poll and its readline; draining the pipe there left that readline blocked
    for good (a UART read that never returned)."""
    global _dispatching
    if _dispatching:
        return
    _dispatching = True
    try:
        while _poller.poll(0):
            line = _events.readline()
            if not line:
                return
            _run(line)
    finally:
        _dispatching = False


def pump():
    """What the supervisor's hidden exec runs at an idle REPL."""
    dispatch()


def wait(ms):
    """Sleep ms milliseconds, running handlers of events as they come (time.sleep)."""
    wait_us(int(ms * 1000))


def wait_us(us):
    """wait() to the microsecond: handlers run while whole milliseconds are left; the last
    one is slept (a poll's timeout has no finer grain). UART flushes and I2S keep the wire's
    time with it."""
    import time

    if us <= 0:
        dispatch()
        return
    deadline = time.ticks_add(time.ticks_us(), us)
    while True:
        left = time.ticks_diff(deadline, time.ticks_us())
        if left <= 0:
            break
        if left < 1000:
            getattr(time, "_builtin", time).sleep_us(left)  # the port's own: no handlers
            break
        if _poller.poll(left // 1000):
            dispatch()
    dispatch()


def wait_until(ready, ms):
    """Wait up to ms milliseconds (< 0: for ever) for ready() to be true, running handlers of
    events as they come (one of them makes it true); returns ready()."""
    import time

    deadline = time.ticks_add(time.ticks_ms(), ms) if ms >= 0 else None
    dispatch()
    while not ready():
        left = -1 if deadline is None else time.ticks_diff(deadline, time.ticks_ms())
        if deadline is not None and left <= 0:
            return False
        if _poller.poll(left):
            dispatch()
    return True


# -- the watcher thread: an interrupt controller (the native core's; the portable core's
# host says at each call that events wait, and _esp32_host runs dispatch then)

if _esp32_supervisor.portable:
    _esp32_host.dispatch = dispatch
else:
    _done = _thread.allocate_lock()
    _done.acquire()


def _scheduled(_):
    try:
        dispatch()
    finally:
        _done.release()


def _watch():
    watcher = select.poll()
    watcher.register(_events, select.POLLIN)
    while True:
        watcher.poll()
        while True:
            try:
                micropython.schedule(_scheduled, None)
                break
            except RuntimeError:  # the schedule queue is full: let the main thread catch up
                import time

                time.sleep_ms(1)
        _done.acquire()  # until dispatch has drained the pipe


_watching = False


def _start_watching():
    """The watcher starts with the first handler, not at boot. A second MicroPython thread
    makes every garbage collection signal it and wait on a semaphore, and the unix port does
    not retry that wait when a Ctrl-C's signal ends it early: the collection then raced the
    watcher's own stack scan and crashed the board about once in 600 interrupts of an
    allocating loop. A board with no handlers needs no watcher (events without one are
    drained by sleeps and the idle pump), so it has none."""
    global _watching
    if not _watching and not _esp32_supervisor.portable:
        _watching = True
        _thread.start_new_thread(_watch, ())
