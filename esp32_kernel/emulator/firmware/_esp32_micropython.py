# The `micropython` module as an ESP32 under v1.24 has it: the built-in one, with a
# kbd_intr() the supervisor hears of. Installed as sys.modules["micropython"].
#
# On a board the UART's receive interrupt compares each byte with the interrupt char; here
# the supervisor does (it turns that byte into a SIGINT while code runs), so it is told of
# every change. The unix port's own kbd_intr() only installs or removes its SIGINT handler:
# any char keeps the handler (the supervisor decides which byte interrupts), -1 removes it.
# Each execution starts again with Ctrl-C, as pyexec does on a board. The portable core has
# no signal handler: its host is told whether a Ctrl-C now interrupts (firmware/_esp32_host.py).
from micropython import *
import micropython as _builtin
import _esp32_bench
import _esp32_console
import _esp32_supervisor


def kbd_intr(chr):
    chr = int(chr)
    _builtin.kbd_intr(-1 if chr < 0 else 3)
    if _esp32_supervisor.portable:
        import _esp32_host

        _esp32_host.set_executing(chr >= 0)
    _esp32_bench.send("kbd_intr", chr)


def heap_lock():
    # print() must work while the heap is locked, as on a board (firmware/_esp32_console.py)
    _esp32_console.heap_locked(True)
    _builtin.heap_lock()
    _esp32_console.heap_lock_depth += 1


def heap_unlock():
    depth = _esp32_console.heap_lock_depth = _builtin.heap_unlock()
    if depth == 0:
        _esp32_console.heap_locked(False)
    return depth


def alloc_emergency_exception_buf(size):
    # A board keeps this buffer for exceptions raised where the heap is locked (hard IRQs,
    # heap_lock()); handlers run here as scheduled callbacks, where the heap is free, and
    # the firmware's own errors keep theirs ready (esp32._check_esp_err).
    _esp32_console.emergency_exception_buf = int(size) > 0


# v1.24's ESP32 build has no MICROPY_MEM_STATS, so none of its functions.
for _name in ("mem_total", "mem_current", "mem_peak"):
    globals().pop(_name, None)
del _name

# It reads as the built-in module: <module 'micropython'>, no __file__.
__name__ = "micropython"
del __file__
