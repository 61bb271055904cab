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
