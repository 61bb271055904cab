"""The `select` module as an ESP32 under MicroPython v1.24 has it: the unix port's poll, and
select() over it (extmod/modselect.c, MICROPY_PY_SELECT_SELECT), which the unix port leaves
out. Installed at boot as sys.modules["select"]
(firmware/_esp32_boot.py); `uselect` is it too (_esp32_frozen.py)."""

from _esp32_frozen import builtin_import

_unix = builtin_import("select")
poll = _unix.poll
POLLIN, POLLOUT, POLLERR, POLLHUP = _unix.POLLIN, _unix.POLLOUT, _unix.POLLERR, _unix.POLLHUP


def select(rlist, wlist, xlist, timeout=None):
    """([readable], [writable], [in error]) of the objects given, waiting up to `timeout`
    seconds (None: for ever)."""
    poller = poll()
    wanted = {}
    for objects, flag in ((rlist, POLLIN), (wlist, POLLOUT), (xlist, 0)):
        for obj in objects:
            wanted[id(obj)] = (obj, wanted.get(id(obj), (obj, 0))[1] | flag)
    for obj, flags in wanted.values():
        poller.register(obj, flags)
    ready = poller.poll(-1 if timeout is None else int(timeout * 1000))
    readable, writable, failed = [], [], []
    for entry in ready:
        obj, events = entry[0], entry[1]
        if events & POLLIN:
            readable.append(obj)
        if events & POLLOUT:
            writable.append(obj)
        if events & ~(POLLIN | POLLOUT):
            failed.append(obj)
    return readable, writable, failed


# It reads as the built-in module: <module 'select'>, no __file__.
__name__ = "select"
del __file__
