# The `uctypes` module as a 32-bit ESP32 has it: LONG and ULONG are 32 bits (the unix port's
# are 64). Installed as sys.modules["uctypes"] on first import (firmware/_esp32_frozen.py).
from _esp32_frozen import builtin_import

_unix = builtin_import("uctypes")
for _name in dir(_unix):
    if _name[:2] != "__":
        globals()[_name] = getattr(_unix, _name)
LONG = INT32  # noqa: F821 - copied in just above
ULONG = UINT32  # noqa: F821
del _unix, _name, builtin_import

# It reads as the built-in module: <module 'uctypes'>, no __file__.
__name__ = "uctypes"
del __file__
