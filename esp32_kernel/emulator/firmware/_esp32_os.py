# The `os` module as an ESP32 under MicroPython v1.24 shows it (uname() included).
# Installed as sys.modules["os"].
from os import *
import os as _builtin

_uname = None

# A v1.24 ESP32 build's os has VfsFat and VfsLfs2 only (see firmware/_esp32_vfs.py).
for _name in ("VfsPosix", "VfsLfs1", "VfsRom"):
    globals().pop(_name, None)
del _name
if "VfsLfs2" not in globals():  # the portable core's build has neither: the vfs module's stand-ins
    from _esp32_vfs import VfsFat, VfsLfs2


class _UnameResult(tuple):
    sysname = property(lambda self: self[0])
    nodename = property(lambda self: self[1])
    release = property(lambda self: self[2])
    version = property(lambda self: self[3])
    machine = property(lambda self: self[4])

    def __str__(self):
        return self.__repr__()

    def __repr__(self):
        return "(sysname=%r, nodename=%r, release=%r, version=%r, machine=%r)" % tuple(self)


def uname():
    import _esp32_supervisor

    return _UnameResult(("esp32", "esp32", "1.24.0", "v1.24.0 on 2024-10-25", _esp32_supervisor.machine_name))


def urandom(n):
    return _builtin.urandom(n)


def dupterm(stream=None, index=0):
    return None


def dupterm_notify(obj):
    """A dupterm stream has data (WebREPL calls this): the REPL reads it at once here."""
    return None


def sync():
    """Flush the file systems' caches to flash: LittleFS writes through here."""
    return None

# It reads as the built-in module: <module 'os'>, no __file__.
__name__ = "os"
del __file__
