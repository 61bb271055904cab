# The `sys` module as an ESP32 under MicroPython v1.24 shows it: the built-in one, with the
# board's identity and console. Installed as sys.modules["sys"], so later imports get it.
from sys import *
from _esp32_console import stdout, stderr, print_exception

platform = "esp32"
version = "3.4.0; MicroPython v1.24.0 on 2024-10-25"


def __getattr__(name):
    # path, ps1, ps2, tracebacklimit live in the built-in module's state, not its dict.
    import _esp32_console

    return getattr(_esp32_console._builtin_sys, name)
