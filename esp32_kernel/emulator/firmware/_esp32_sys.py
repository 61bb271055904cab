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


def __getattr__(name):
    # path, ps1, ps2, tracebacklimit live in the built-in module's state, not its dict.
    return getattr(_esp32_console._builtin_sys, name)
