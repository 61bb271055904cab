"""machine.SDCard as v1.24's ports/esp32/machine_sdcard.c: a block device (512-byte blocks) on the
card in the slot, which is `sdcard.img` in the board folder (the supervisor reads and writes it).

As on a board, the card is looked at on first use (info, ioctl, a block read or write); with no
card, info() raises ETIMEDOUT and reads and writes return False. A card never formatted (its
first block all zeros, as the bench's new cards are) is given a FAT file system then, as a card
from a shop comes formatted.
"""

import _esp32_bench
import _esp32_errno

_BLOCK = 512


class SDCard:
    def __init__(self, slot=1, width=1, cd=None, wp=None, sck=None, miso=None, mosi=None, cs=None, freq=20000000):
        if not 0 <= slot <= 3:
            raise ValueError("Slot number must be between 0 and 3 inclusive")
        if slot < 2 and not (width in (1, 4) or (width == 8 and slot == 0)):
            raise ValueError("Width must be 1 or 4 (or 8 on slot 0)")
        self._blocks = None  # the card's block count, once looked at

    def _card(self):
        """sdcard_ensure_card_init: the card's block count, or None when the slot is empty."""
        if self._blocks is None:
            found = _esp32_bench.call("sd_blocks")
            if found is None:
                return None
            self._blocks, blank = found
            if blank:
                _format(self)
        return self._blocks

    def info(self):
        if self._card() is None:
            raise OSError(_esp32_errno.ETIMEDOUT)
        return (self._blocks * _BLOCK, _BLOCK)

    def readblocks(self, block_num, buf):
        if self._card() is None:
            return False
        view = memoryview(buf)
        for i in range(len(buf) // _BLOCK):  # a block a request: a board's heap has no room for more
            data = _esp32_bench.call("sd_read", block_num + i, 1)
            if data is None:
                return False
            view[i * _BLOCK : (i + 1) * _BLOCK] = bytes.fromhex(data)
        return True

    def writeblocks(self, block_num, buf):
        if self._card() is None:
            return False
        view = memoryview(buf)
        for i in range(len(buf) // _BLOCK):
            if not _esp32_bench.call("sd_write", block_num + i, bytes(view[i * _BLOCK : (i + 1) * _BLOCK]).hex()):
                return False
        return True

    def ioctl(self, op, arg):
        if op == 2:  # deinit: look at the card again next time
            self._blocks = None
            return 0
        if op == 3:  # sync
            return 0
        if op in (1, 4, 5):  # init, block count, block size
            if self._card() is None:
                return -1
            return {1: 0, 4: self._blocks, 5: _BLOCK}[op]
        return -1

    def deinit(self):
        pass


def _format(card):
    import vfs

    mkfs = getattr(vfs.VfsFat, "mkfs", None)
    if mkfs is not None:  # (the portable core has no FAT: its cards stay unformatted)
        mkfs(card)
