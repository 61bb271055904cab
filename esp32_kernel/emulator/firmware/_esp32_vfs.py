# The `vfs` module as v1.24's ESP32 build has it (MICROPY_VFS_FAT, MICROPY_VFS_LFS2): no VfsPosix,
# VfsLfs1 or VfsRom, which are the unix port's. The firmware itself keeps the unix port's module
# (firmware/_esp32_frozen.py mounts the firmware folder with VfsPosix). Installed as sys.modules["vfs"]
# on first import (firmware/_esp32_frozen.py).
from _esp32_frozen import builtin_import

_unix = builtin_import("vfs")
mount = _unix.mount
umount = _unix.umount
try:
    VfsFat = _unix.VfsFat
    VfsLfs2 = _unix.VfsLfs2
except AttributeError:  # the portable core's build has neither (its / is _esp32_hostfs.py's)

    class VfsFat:
        def __init__(self, *args):
            raise NotImplementedError("VfsFat is not in the emulator's portable core")

    class VfsLfs2:
        def __init__(self, *args):
            raise NotImplementedError("VfsLfs2 over a block device is not in the emulator's portable core")

del _unix, builtin_import

# It reads as the built-in module: <module 'vfs'>, no __file__.
__name__ = "vfs"
del __file__
