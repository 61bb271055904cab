# The `vfs` module as v1.24's ESP32 build has it (MICROPY_VFS_FAT, MICROPY_VFS_LFS2): no VfsPosix,
# VfsLfs1 or VfsRom, which are the unix port's. The firmware itself keeps the unix port's module
# (firmware/_esp32_frozen.py mounts the firmware folder with VfsPosix). Installed as sys.modules["vfs"]
# on first import (firmware/_esp32_frozen.py).
import sys

from _esp32_frozen import builtin_import

_unix = builtin_import("vfs")
mount = _unix.mount
umount = _unix.umount


class _V124BlockDevice:
    """machine.SDCard as v1.24's extmod/vfs_blockdev.c calls it: its readblocks and writeblocks
    answer True or False, meaning done or EIO. The unix port's vfs underneath takes only None
    or an errno, and would fail the card with EIO."""

    def __init__(self, card):
        self._card = card
        self.ioctl = card.ioctl

    def readblocks(self, block_num, buf):
        return None if self._card.readblocks(block_num, buf) else -5  # -EIO

    def writeblocks(self, block_num, buf):
        return None if self._card.writeblocks(block_num, buf) else -5


def _device(device):
    sdcard = sys.modules.get("_esp32_sdcard")
    return _V124BlockDevice(device) if sdcard is not None and isinstance(device, sdcard.SDCard) else device


try:

    class VfsFat(_unix.VfsFat):
        def __init__(self, device, *args, **kwargs):
            super().__init__(_device(device), *args, **kwargs)

        @staticmethod
        def mkfs(device, *args, **kwargs):
            return _UNIX_MKFS["fat"](_device(device), *args, **kwargs)

    class VfsLfs2(_unix.VfsLfs2):
        def __init__(self, device, *args, **kwargs):
            super().__init__(_device(device), *args, **kwargs)

        @staticmethod
        def mkfs(device, *args, **kwargs):
            return _UNIX_MKFS["lfs2"](_device(device), *args, **kwargs)

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
