"""The board's SPI flash: the host file `.esp32/flash.bin` in its folder, read and written directly.

The same image the supervisor's storage.FlashImage keeps (and esptool writes): each byte
stored inverted, so the sparse file's holes read as erased flash (0xFF). Writes only clear
bits, as NOR flash does; erases are whole 4 KiB sectors. Opened once, before / becomes the
board's file system; the unix port's files are unbuffered, so every read sees the bytes as
the supervisor last wrote them.
"""

import _esp32_supervisor

SECTOR = 4096
# ports/esp32/partitions-*.csv, as board_profile.partition_table (the host's) lays them out:
# the factory app ends at 2 MiB, the vfs partition takes the rest of the flash.
VFS_OFFSET = 0x200000

size = _esp32_supervisor.flash_size
_image = None
# A board's flash driver takes nothing from the MicroPython heap: these sector buffers are
# taken once, at boot, so file writes still work when user code has fragmented the heap.
_ZEROS = bytes(SECTOR)
_SCRATCH = bytearray(SECTOR)


def open_image():
    """The image's file, opened on first use (first at boot: later the host's files are out of reach)."""
    global _image
    if _image is None:
        path = _esp32_supervisor.board_dir + "/.esp32/flash.bin"
        try:
            _image = open(path, "r+b")
        except OSError:
            _image = open(path, "w+b")  # supervisor.py creates it; here only if started without one
        if _image.seek(0, 2) < size:
            _image.seek(size - 1)
            _image.write(b"\0")  # extends the sparse file: inverted 0 reads as erased 0xFF
    return _image


try:  # the native core: compiled to machine code
    from _esp32_flash_viper import invert as _invert, program as _program
except SyntaxError:  # the portable core has no native code emitter

    def _invert(buf, n):
        for i in range(n):
            buf[i] ^= 0xFF

    def _program(stored, data, n):
        # stored inverted: clearing a bit of flash sets it here, and nothing unsets one
        for i in range(n):
            stored[i] |= data[i] ^ 0xFF


def _check(offset, length):
    if offset < 0 or length < 0 or offset + length > size:
        raise ValueError("flash access 0x%x+%d beyond the flash's %d bytes" % (offset, length, size))


def read(offset, buf):
    """Fill buf (a bytearray or writable memoryview) from flash at offset."""
    n = len(buf)
    _check(offset, n)
    image = open_image()
    image.seek(offset)
    got = image.readinto(buf)
    while got < n:  # past the file's end (it is extended at open, so not in practice)
        buf[got] = 0
        got += 1
    _invert(buf, n)


def write(offset, data):
    """Program data at offset: bits only go from 1 to 0, as on NOR flash."""
    n = len(data)
    _check(offset, n)
    image = open_image()
    view = memoryview(data)
    for start in range(0, n, SECTOR):  # a sector at a time, through the boot-time buffer
        piece = view[start : start + SECTOR]
        length = len(piece)
        here = memoryview(_SCRATCH)[:length]
        image.seek(offset + start)
        got = image.readinto(here)
        while got < length:
            here[got] = 0
            got += 1
        _program(here, piece, length)
        image.seek(offset + start)
        image.write(here)


def erase(offset, length):
    _check(offset, length)
    if offset % SECTOR or length % SECTOR:
        raise ValueError("flash erases whole 4 KiB sectors")
    image = open_image()
    image.seek(offset)
    for _ in range(length // SECTOR):
        image.write(_ZEROS)
