# The `micropython` module as an ESP32 under v1.24 has it: the built-in one, with a
# kbd_intr() the supervisor hears of. Installed as sys.modules["micropython"].
#
# On a board the UART's receive interrupt compares each byte with the interrupt char; here
# the supervisor does (it turns that byte into a SIGINT while code runs), so it is told of
# every change. The unix port's own kbd_intr() only installs or removes its SIGINT handler:
# any char keeps the handler (the supervisor decides which byte interrupts), -1 removes it.
# Each execution starts again with Ctrl-C, as pyexec does on a board.
from micropython import *
import micropython as _builtin
import _esp32_bench


def kbd_intr(chr):
    chr = int(chr)
    _builtin.kbd_intr(-1 if chr < 0 else 3)
    _esp32_bench.send("kbd_intr", chr)


def alloc_emergency_exception_buf(size):
    # A board keeps this buffer for exceptions raised where the heap is locked (hard IRQs);
    # here handlers run as scheduled callbacks, where the heap is free, so none is needed.
    int(size)


# v1.24's ESP32 build has no MICROPY_MEM_STATS, so none of its functions.
for _name in ("mem_total", "mem_current", "mem_peak"):
    globals().pop(_name, None)
del _name

# It reads as the built-in module: <module 'micropython'>, no __file__.
__name__ = "micropython"
del __file__
