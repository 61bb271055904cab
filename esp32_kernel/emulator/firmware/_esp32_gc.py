# The `gc` module, reading as on an ESP32. The unix port's objects are twice an ESP32's size
# (64-bit words) and its heap is twice a board's, so it holds as many objects as a board;
# mem_free() and mem_alloc() report bytes as the board would count them.
# Installed as sys.modules["gc"].
from gc import *
import gc as _builtin


def mem_free():
    return _builtin.mem_free() // 2


def mem_alloc():
    return _builtin.mem_alloc() // 2

# It reads as the built-in module: <module 'gc'>, no __file__.
__name__ = "gc"
del __file__
