# The `vfs` module as v1.24's ESP32 build has it (MICROPY_VFS_FAT, MICROPY_VFS_LFS2): no VfsPosix,
# VfsLfs1 or VfsRom, which are the unix port's. The firmware itself keeps the unix port's module
# (firmware/_esp32_frozen.py mounts the firmware folder with VfsPosix). Installed as sys.modules["vfs"]
# on first import (firmware/_esp32_frozen.py).
from _esp32_frozen import builtin_import

_unix = builtin_import("vfs")
mount = _unix.mount
umount = _unix.umount


class _V124BlockDevice:
    """A user's block device as v1.24's extmod/vfs_blockdev.c calls it: a readblocks or
    writeblocks answering True or False (machine.SDCard's do) means done or EIO. The unix
    port underneath takes only None or an errno, and would fail such a device with EIO."""

    def __init__(self, device):
        self._device = device
        self.ioctl = device.ioctl

    def readblocks(self, *args):
        return _errno_of(self._device.readblocks(*args))

    def writeblocks(self, *args):
        return _errno_of(self._device.writeblocks(*args))


def _errno_of(result):
    if result is True:
        return 0
    return -5 if result is False else result  # -EIO


try:

    class VfsFat(_unix.VfsFat):
        def __init__(self, device, *args, **kwargs):
            super().__init__(_V124BlockDevice(device), *args, **kwargs)

        @staticmethod
        def mkfs(device, *args, **kwargs):
            return _UNIX_MKFS["fat"](_V124BlockDevice(device), *args, **kwargs)

    class VfsLfs2(_unix.VfsLfs2):
        def __init__(self, device, *args, **kwargs):
            super().__init__(_V124BlockDevice(device), *args, **kwargs)

        @staticmethod
        def mkfs(device, *args, **kwargs):
            return _UNIX_MKFS["lfs2"](_V124BlockDevice(device), *args, **kwargs)

    _UNIX_MKFS = {"fat": _unix.VfsFat.mkfs, "lfs2": _unix.VfsLfs2.mkfs}
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
