# The `gc` module, reading as on an ESP32. The native core's objects are twice an ESP32's size
# (64-bit words) and its heap is twice a board's, so it holds as many objects as a board;
# mem_free() and mem_alloc() report bytes as the board would count them. The portable core
# is 32-bit, as a board is: its bytes are a board's.
# Installed as sys.modules["gc"].
from gc import *
import gc as _builtin
import _esp32_supervisor

if _esp32_supervisor.portable:  # it collects only between commands (_esp32_portable.py)
    import _esp32_portable

    _gc = _esp32_portable.Gc()
    collect, mem_free, mem_alloc = _gc.collect, _gc.mem_free, _gc.mem_alloc
    enable, disable, isenabled = _gc.enable, _gc.disable, _gc.isenabled
    del _gc, _esp32_portable
else:

    def mem_free():
        return _builtin.mem_free() // 2

    def mem_alloc():
        return _builtin.mem_alloc() // 2


del _esp32_supervisor
# It reads as the built-in module: <module 'gc'>, no __file__.
__name__ = "gc"
del __file__
