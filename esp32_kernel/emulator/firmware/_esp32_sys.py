# The `sys` module as an ESP32 under MicroPython v1.24 shows it: the built-in one, with the
# board's identity and console. Installed as sys.modules["sys"], so later imports get it.
from sys import *
from _esp32_console import stdout, stderr, print_exception
import _esp32_console
import _esp32_supervisor

platform = "esp32"
version = "3.4.0; MicroPython v1.24.0 on 2024-10-25"


class _Implementation(tuple):
    # _mpy stays the unix port's: it tells tools which compiled code can run here.
    name = property(lambda self: self[0])
    version = property(lambda self: self[1])
    _machine = property(lambda self: self[2])
    _mpy = property(lambda self: self[3])
    _build = property(lambda self: self[4])

    def __str__(self):
        return self.__repr__()

    def __repr__(self):
        return "(name=%r, version=%r, _machine=%r, _mpy=%r, _build=%r)" % tuple(self)


implementation = _Implementation((
    "micropython", (1, 24, 0, ""), _esp32_supervisor.machine_name,
    _esp32_console._builtin_sys.implementation._mpy,
    "ESP32_GENERIC" + ("-SPIRAM" if "SPIRAM" in _esp32_supervisor.machine_name else ""),
))


if _esp32_supervisor.portable:  # the UART, not WASI's stdin
    import builtins
    import _esp32_host
    import _esp32_portable

    stdin = _esp32_host.stdin
    builtins.input = _esp32_portable.input


# The unix port's, not in v1.24's ESP32 build (ROM level EXTRA_FEATURES leaves them out).
for _name in ("atexit", "exc_info", "executable", "intern", "getsizeof", "settrace"):
    globals().pop(_name, None)
del _name


def __getattr__(name):
    if name == "__set_name__":
        # The unix port (v1.25+) asks every class attribute for __set_name__; a module
        # held in a class body (`class C: import sys`, as Thonny's helper does) must not
        # fail that, and v1.24 never asks.
        return _no_set_name
    # path, ps1 and ps2 live in the built-in module's state, not its dict. Nothing else:
    # v1.24's ESP32 has no sys.tracebacklimit (ROM level EVERYTHING).
    if name in ("path", "ps1", "ps2"):
        return getattr(_esp32_console._builtin_sys, name)
    raise AttributeError("'module' object has no attribute '%s'" % name)

def _no_set_name(owner, name):
    pass


# It reads as the built-in module: <module 'sys'>, no __file__.
__name__ = "sys"
del __file__
