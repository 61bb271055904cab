"""The board's file system: LittleFS v2 on the flash image's `vfs` partition, mounted at `/`.

As MicroPython v1.24 on an ESP32 (modules/_boot.py, inisetup.py, flashbdev.py): the vfs
partition (4 KiB blocks) is mounted as VfsLfs2; when it holds no file system and its first
block is erased (a new or erased flash), the board formats it, says "Performing initial
setup" and writes the default boot.py; when its first block holds something else, it
reports a corrupted file system until Ctrl-C, and boots with nothing mounted.

Block sizes, statvfs, ENOSPC and copy-on-write are LittleFS's own. The host reads and
writes the same image with littlefs-python (flash_files.py); when it changes the files of
a running board it bumps `.esp32/vfs-changes`, and BoardFilesystem remounts before its next
operation, so the board's LittleFS never acts on a stale view of the flash (files the board
holds open across such a change keep the old view, as two writers on one flash would).
"""

import os
import vfs

import _esp32_flash
import _esp32_supervisor

_SECONDS_1970_TO_2000 = 946684800

BLOCK_SIZE = 4096
_IOCTL_BLOCK_COUNT = 4
_IOCTL_BLOCK_SIZE = 5
_IOCTL_BLOCK_ERASE = 6


class FlashPartition:
    """The vfs partition as a block device, with esp32.Partition's protocol (esp32_partition.c)."""

    def __init__(self, offset, size):
        self._offset = offset
        self._size = size

    def info(self):
        return (1, 0x81, self._offset, self._size, "vfs", False)

    def readblocks(self, block_num, buf, offset=0):
        _esp32_flash.read(self._offset + block_num * BLOCK_SIZE + offset, buf)

    def writeblocks(self, block_num, buf, offset=None):
        start = self._offset + block_num * BLOCK_SIZE
        if offset is None:
            # a simple write: erase the blocks first
            _esp32_flash.erase(start, (len(buf) + BLOCK_SIZE - 1) // BLOCK_SIZE * BLOCK_SIZE)
        else:
            start += offset  # an extended write: LittleFS erased the block before
        _esp32_flash.write(start, buf)

    def ioctl(self, cmd, arg):
        if cmd == _IOCTL_BLOCK_COUNT:
            return self._size // BLOCK_SIZE
        if cmd == _IOCTL_BLOCK_SIZE:
            return BLOCK_SIZE
        if cmd == _IOCTL_BLOCK_ERASE:
            _esp32_flash.erase(self._offset + arg * BLOCK_SIZE, BLOCK_SIZE)
            return 0
        if cmd in (1, 2, 3):  # INIT, DEINIT, SYNC
            return 0
        return None


class _ChangeMarker:
    """`.esp32/vfs-changes`: a counter the host API rewrites in place after changing files."""

    def __init__(self, board_dir):
        path = board_dir + "/.esp32/vfs-changes"
        try:
            self._file = open(path, "rb")
        except OSError:
            with open(path, "wb") as f:
                f.write(b"0")
            self._file = open(path, "rb")
        self._seen = self._read()

    def _read(self):
        self._file.seek(0)
        return self._file.read(32)

    def changed(self):
        now = self._read()
        if now == self._seen:
            return False
        self._seen = now
        return True


class BoardFilesystem:
    """VfsLfs2 over the vfs partition, remounted when the host has changed the files."""

    def __init__(self, bdev, marker):
        self._bdev = bdev
        self._marker = marker
        self._fs = vfs.VfsLfs2(bdev)  # OSError when the partition holds no LittleFS

    def _lfs(self):
        if self._marker.changed():
            cwd = self._fs.getcwd()
            self._fs = vfs.VfsLfs2(self._bdev)
            try:
                self._fs.chdir(cwd)
            except OSError:
                pass  # the host removed the current folder
        return self._fs

    def __repr__(self):
        return repr(self._fs)  # vfs.mount() lists it as a board's VfsLfs2

    # -- what the VFS calls

    def mount(self, readonly, mkfs):
        return self._fs.mount(readonly, mkfs)

    def umount(self):
        return self._fs.umount()

    def open(self, path, mode):
        return self._lfs().open(path, mode)

    def ilistdir(self, path):
        return self._lfs().ilistdir(path)

    def mkdir(self, path):
        return self._lfs().mkdir(path)

    def rmdir(self, path):
        return self._lfs().rmdir(path)

    def remove(self, path):
        return self._lfs().remove(path)

    def rename(self, old, new):
        return self._lfs().rename(old, new)

    def stat(self, path):
        # VfsLfs2 keeps ns since 1970 and reports seconds in the port's epoch: 2000 on an
        # ESP32, 1970 on the unix port underneath.
        st = self._lfs().stat(path)
        if not st[8]:
            return st
        t = st[8] - _SECONDS_1970_TO_2000
        return st[:7] + (t, t, t)

    def statvfs(self, path):
        return self._lfs().statvfs(path)

    def chdir(self, path):
        return self._lfs().chdir(path)

    def getcwd(self):
        return self._lfs().getcwd()


FIRST_BOOT_PY = """\
# This file is executed on every boot (including wake-boot from deepsleep)
#import esp
#esp.osdebug(None)
#import webrepl
#webrepl.start()
"""

_CORRUPTED = """\
The filesystem appears to be corrupted. If you had important data there, you
may want to make a flash snapshot to try to recover it. Otherwise, perform
factory reprogramming of MicroPython firmware (completely erase flash, followed
by firmware programming).
"""


_flash = None  # (block device, new file system, make file system) of this boot's vfs partition


def _first_block_erased(bdev):
    buf = bytearray(BLOCK_SIZE)
    bdev.readblocks(0, buf)
    return buf == b"\xff" * BLOCK_SIZE


def fs_corrupted():
    """inisetup.fs_corrupted(): forever, until Ctrl-C (raised to the caller, as on a board)."""
    import micropython
    import time

    micropython.kbd_intr(3)
    try:
        while True:
            print(_CORRUPTED)
            time.sleep(3)
    finally:
        micropython.kbd_intr(-1)


def check_bootsec():
    """inisetup.check_bootsec(): True when the partition's first block is erased."""
    if _first_block_erased(_flash[0]):
        return True
    fs_corrupted()


def initial_setup():
    """What inisetup.setup() does after its check: format, mount at /, write boot.py."""
    _bdev, new_fs, mkfs = _flash
    print("Performing initial setup")
    mkfs()
    fs = new_fs()
    os.mount(fs, "/")
    with open("/boot.py", "w") as f:
        f.write(FIRST_BOOT_PY)
    return fs


def mount_board_flash():
    """Mount the vfs partition at / (formatting a blank one), as _boot.py does; host files
    are out of reach from then on. Returns False when the file system is corrupted and the
    user stopped the boot's complaint: then nothing is mounted, as on a board."""
    global _flash
    board_dir = _esp32_supervisor.board_dir
    bdev = FlashPartition(_esp32_flash.VFS_OFFSET, _esp32_flash.size - _esp32_flash.VFS_OFFSET)
    _esp32_flash.open_image()
    if _esp32_supervisor.portable:  # no VfsLfs2 in it: the host keeps the LittleFS
        import _esp32_hostfs

        _flash = (bdev, _esp32_hostfs.HostLfs, _esp32_hostfs.mkfs)
    else:
        marker = _ChangeMarker(board_dir)
        _flash = (bdev, lambda: BoardFilesystem(bdev, marker), lambda: vfs.VfsLfs2.mkfs(bdev))
    try:
        os.umount("/")  # the unix port's host root: from here on, / is the board's own
    except OSError:  # the portable core's: nothing is mounted there
        pass
    try:
        os.mount(_flash[1](), "/")
    except OSError:
        try:
            check_bootsec()
        except KeyboardInterrupt:
            _print_boot_traceback()
            return False
        initial_setup()
    os.chdir("/")
    return True


def _print_boot_traceback():
    # what pyexec prints for _boot.py's KeyboardInterrupt (v1.24's frozen line numbers)
    print(
        "Traceback (most recent call last):\n"
        '  File "_boot.py", line 11, in <module>\n'
        '  File "inisetup.py", line 38, in setup\n'
        '  File "inisetup.py", line 15, in check_bootsec\n'
        '  File "inisetup.py", line 34, in fs_corrupted\n'
        "KeyboardInterrupt: "
    )
