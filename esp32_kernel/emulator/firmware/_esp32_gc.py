# The `gc` module, reading as on an ESP32. The native core's objects are twice an ESP32's size
# (64-bit words) and its heap is twice a board's, so it holds as many objects as a board;
# mem_free() and mem_alloc() report bytes as the board would count them. The portable core
# is 32-bit, as a board is: its bytes are a board's.
# Installed as sys.modules["gc"].
from gc import *
import gc as _builtin
import _esp32_supervisor

if not _esp32_supervisor.portable:

    def mem_free():
        return _builtin.mem_free() // 2

    def mem_alloc():
        return _builtin.mem_alloc() // 2

else:
    # The portable core collects only between the REPL's commands (see _esp32_host.py), in
    # a heap larger than a board's: these report what a board has after its boot.
    _boot_alloc = _builtin.mem_alloc()
    _enabled = True

    def collect():
        pass  # not here: code is running (the REPL collects once it is done)

    def mem_free():
        return max(0, _esp32_supervisor.board_heap - _boot_alloc)

    def mem_alloc():
        return _boot_alloc

    def enable():
        global _enabled
        _enabled = True

    def disable():
        global _enabled
        _enabled = False

    def isenabled():
        return _enabled

# It reads as the built-in module: <module 'gc'>, no __file__.
__name__ = "gc"
del __file__
