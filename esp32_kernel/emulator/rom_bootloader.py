"""The ESP32's UART download mode: the boot ROM's serial bootloader, and esptool's stub flasher
once esptool has uploaded it. Bytes in, bytes out (no I/O): `receive()` takes what the client
sent and returns the board's answer.

The protocol (esptool's loader.py speaks the other end): SLIP frames (0xC0 … 0xC0, with 0xDB
escapes); a request is `00 op len:u16 checksum:u32 data`, a response
`01 op len:u16 value:u32 data status`. The ROM ends a response with 4 status bytes
(status, error, 0, 0: error 0x05 bad message, 0x07 bad checksum, 0x08 flash write error …);
the stub with 2 (status, 0: 0xC0 bad length, 0xC1 bad checksum, 0xC6 not in flash mode …).
The ROM answers a SYNC eight times; reads 64 bytes per READ_FLASH_SLOW; returns MD5s as hex
text. The emulator cannot run Xtensa code, so a RAM upload that ends by jumping to its entry
point (MEM_END) is taken as esptool's stub: it greets with "OHAI" and adds ERASE_FLASH,
ERASE_REGION and the fast READ_FLASH.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Callable

from .storage import SECTOR, FlashImage

# commands (esptool loader.py ESP_CMDS)
FLASH_BEGIN, FLASH_DATA, FLASH_END = 0x02, 0x03, 0x04
MEM_BEGIN, MEM_END, MEM_DATA = 0x05, 0x06, 0x07
SYNC, WRITE_REG, READ_REG = 0x08, 0x09, 0x0A
SPI_SET_PARAMS, SPI_ATTACH, READ_FLASH_SLOW, CHANGE_BAUDRATE = 0x0B, 0x0D, 0x0E, 0x0F
FLASH_DEFL_BEGIN, FLASH_DEFL_DATA, FLASH_DEFL_END, SPI_FLASH_MD5 = 0x10, 0x11, 0x12, 0x13
ERASE_FLASH, ERASE_REGION, READ_FLASH, RUN_USER_CODE = 0xD0, 0xD1, 0xD2, 0xD3

# ROM error codes (second status byte) and the stub's (first status byte)
ROM_INVALID_MESSAGE, ROM_FAILED, ROM_BAD_CHECKSUM, ROM_FLASH_WRITE_ERROR, ROM_FLASH_READ_ERROR = 0x05, 0x06, 0x07, 0x08, 0x09
ROM_INFLATE_ERROR = 0x0B
STUB_BAD_LENGTH, STUB_BAD_CHECKSUM, STUB_INVALID_COMMAND, STUB_FAILED_SPI = 0xC0, 0xC1, 0xC3, 0xC4
STUB_NOT_IN_FLASH_MODE, STUB_INFLATE_ERROR, STUB_TOO_MUCH_DATA, STUB_NOT_IMPLEMENTED = 0xC6, 0xC7, 0xC9, 0xFF

ROM_SYNC_VALUE = 0x20120707
CHIP_MAGIC = 0x00F01D83  # read at 0x40001000: what esptool tells an ESP32 by
CHIP_DETECT_MAGIC_REG = 0x40001000
EFUSE_BASE = 0x3FF5A000
UART_CLKDIV_REG = 0x3FF40014
APB_CTL_DATE_REG = 0x3FF6607C
RTCCALICFG1_REG = 0x3FF5F06C
GPIO_STRAP_REG = 0x3FF44038
SPI_BASE = 0x3FF42000  # SPI1, which drives the flash
SPI_CMD_REG, SPI_USR2_REG, SPI_W0_REG = SPI_BASE, SPI_BASE + 0x24, SPI_BASE + 0x80
SPI_CMD_USR = 1 << 18
ROM_BAUD = 115200  # what esptool (and the ROM's auto-baud) starts at
_CK8M_EFUSE = 64  # EFUSE_RD_CK8M_FREQ: with the RTC calibration value, the crystal the ROM measured
_FLASH_MANUFACTURER, _FLASH_DEVICE = 0xC8, 0x40  # GigaDevice GD25Q-series, as on many modules
_RAM_RANGES = ((0x3FFAE000, 0x40000000), (0x40070000, 0x400C2000), (0x50000000, 0x50002000))
_MAX_DATA = 0x10000 + 16  # longest request the ROM's buffer takes


def slip_encode(packet: bytes) -> bytes:
    return b"\xc0" + packet.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"


def efuse_words(mac: bytes) -> dict[int, int]:
    """The eFuse block-0 words esptool reads: the MAC (with its CRC), chip revision v3.1
    (ESP32-D0WD-V3), the 8 MHz clock calibration."""
    crc = _mac_crc8(mac)
    return {
        0: 0,
        1: int.from_bytes(mac[2:6], "big"),
        2: (crc << 16) | int.from_bytes(mac[:2], "big"),
        3: (1 << 15) | (1 << 13) | (1 << 9),  # chip revision bit 0; rated 240 MHz; package ESP32-D0WD(Q5)
        4: _CK8M_EFUSE | (0x10 << 8),
        5: (1 << 20) | (1 << 24),  # chip revision bit 1; minor revision 1
        6: 0,
    }


def _mac_crc8(mac: bytes) -> int:
    crc = 0
    for byte in mac:  # CRC-8/MAXIM over the 6 bytes, as the eFuse block stores it
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
    return crc


class RomBootloader:
    """One download-mode session (from reset into download mode until the next reset).

    `on_run_user_code` is called when the client asks the ROM to leave download mode and run
    the app (the ROM's FLASH_END, or the stub's RUN_USER_CODE); the stub's FLASH_END with
    "reboot" returns to the ROM, still in download mode. `on_baud` hears CHANGE_BAUDRATE.
    """

    def __init__(self, flash: FlashImage, mac: bytes, *, xtal_mhz: int = 40, on_run_user_code: Callable[[], None] | None = None,
                 on_baud: Callable[[int], None] | None = None) -> None:  # fmt: skip
        self.flash = flash
        self._xtal_hz = xtal_mhz * 1_000_000  # the ROM runs its UART from the crystal: divider = crystal / baud
        rtc_calibration = self._xtal_hz * 40 // (15625 * _CK8M_EFUSE)  # what esptool turns back into the crystal
        self.stub = False
        self.baud = ROM_BAUD
        self._on_run_user_code = on_run_user_code
        self._on_baud = on_baud
        self._frame: bytearray | None = None
        self._escape = False
        self._registers: dict[int, int] = {EFUSE_BASE + 4 * n: v for n, v in efuse_words(mac).items()}
        self._registers.update({
            CHIP_DETECT_MAGIC_REG: CHIP_MAGIC, APB_CTL_DATE_REG: 1 << 31,
            RTCCALICFG1_REG: rtc_calibration << 7, GPIO_STRAP_REG: 0x03,  # GPIO0 low at reset: download boot
        })  # fmt: skip
        self._flash_size = flash.size
        self._writing: dict | None = None  # the FLASH_BEGIN / FLASH_DEFL_BEGIN in progress
        self._mem: dict | None = None  # the MEM_BEGIN in progress
        self._mem_loaded = False
        self.commands = 0  # handled, for status()

    # -- bytes

    def receive(self, data: bytes) -> bytes:
        """The client's bytes in; the board's answer out (bytes outside frames are ignored, as
        the ROM ignores line noise before a SYNC)."""
        out = bytearray()
        for byte in data:
            if self._frame is None:
                if byte == 0xC0:
                    self._frame = bytearray()
                continue
            if self._escape:
                self._escape = False
                self._frame.append({0xDC: 0xC0, 0xDD: 0xDB}.get(byte, byte))
            elif byte == 0xDB:
                self._escape = True
            elif byte == 0xC0:
                frame, self._frame = bytes(self._frame), bytearray()
                if frame:  # an empty frame is a frame boundary seen twice
                    out += self._packet(frame)
            else:
                self._frame.append(byte)
                if len(self._frame) > _MAX_DATA + 8:
                    self._frame = None  # overlong: dropped, as the ROM's buffer overflows
        return bytes(out)

    def _packet(self, packet: bytes) -> bytes:
        if len(packet) < 8 or packet[0] != 0x00:
            return b""  # not a request (e.g. READ_FLASH's acknowledgements to the stub)
        _, op, length, chk = struct.unpack_from("<BBHI", packet)
        data = packet[8:]
        self.commands += 1
        if length != len(data):
            return self._error(op, ROM_INVALID_MESSAGE, STUB_BAD_LENGTH)
        handler = getattr(self, f"_cmd_{op:02x}", None)
        if handler is None or (op >= 0xD0 and not self.stub) or (op == READ_FLASH_SLOW and self.stub):
            return self._error(op, ROM_INVALID_MESSAGE, STUB_INVALID_COMMAND)
        try:
            return handler(data, chk)
        except (struct.error, IndexError):
            return self._error(op, ROM_INVALID_MESSAGE, STUB_BAD_LENGTH)

    def _reply(self, op: int, value: int = 0, body: bytes = b"") -> bytes:
        status = b"\0\0" if self.stub else b"\0\0\0\0"
        payload = body + status
        return slip_encode(struct.pack("<BBHI", 0x01, op, len(payload), value) + payload)

    def _error(self, op: int, rom_code: int, stub_code: int) -> bytes:
        status = bytes([stub_code, 0]) if self.stub else bytes([1, rom_code, 0, 0])
        return slip_encode(struct.pack("<BBHI", 0x01, op, len(status), 0) + status)

    # -- commands

    def _cmd_08(self, data: bytes, chk: int) -> bytes:  # SYNC
        if data[:4] != b"\x07\x07\x12\x20" or len(data) != 36:
            return b""  # not a sync pattern: the ROM keeps waiting
        if self.stub:
            return self._reply(SYNC)
        return self._reply(SYNC, ROM_SYNC_VALUE) * 8

    def _cmd_0a(self, data: bytes, chk: int) -> bytes:  # READ_REG
        (address,) = struct.unpack("<I", data[:4])
        if address == UART_CLKDIV_REG:
            value = self._xtal_hz // self.baud
        else:
            value = self._registers.get(address, 0)
        return self._reply(READ_REG, value)

    def _cmd_09(self, data: bytes, chk: int) -> bytes:  # WRITE_REG: groups of address, value, mask, delay
        if not data or len(data) % 16:
            return self._error(WRITE_REG, ROM_INVALID_MESSAGE, STUB_BAD_LENGTH)
        for address, value, mask, _delay in struct.iter_unpack("<IIII", data):
            old = self._registers.get(address, 0)
            self._registers[address] = (old & ~mask) | (value & mask)
            if address == SPI_CMD_REG and value & SPI_CMD_USR:
                self._spi_user_command()
        return self._reply(WRITE_REG)

    def _spi_user_command(self) -> None:
        """The SPI1 "user command" esptool builds from registers (flash id, status)."""
        command = self._registers.get(SPI_USR2_REG, 0) & 0xFF
        if command == 0x9F:  # RDID: manufacturer, memory type, capacity (log2 of bytes)
            self._registers[SPI_W0_REG] = _FLASH_MANUFACTURER | _FLASH_DEVICE << 8 | (self.flash.size.bit_length() - 1) << 16
        elif command in (0x05, 0x35, 0x15):  # RDSR, RDSR2, RDSR3: nothing protected, not busy
            self._registers[SPI_W0_REG] = 0
        elif command == 0x5A:  # RDSFDP: no SFDP table
            self._registers[SPI_W0_REG] = 0xFFFFFFFF
        self._registers[SPI_CMD_REG] = self._registers.get(SPI_CMD_REG, 0) & ~SPI_CMD_USR  # done at once

    def _cmd_0b(self, data: bytes, chk: int) -> bytes:  # SPI_SET_PARAMS
        _id, total, _block, sector, _page, _mask = struct.unpack("<IIIIII", data[:24])
        if sector != SECTOR or not 0 < total:
            return self._error(SPI_SET_PARAMS, ROM_INVALID_MESSAGE, STUB_BAD_LENGTH)
        self._flash_size = min(total, self.flash.size)  # a larger size than the chip's wraps on a real chip
        return self._reply(SPI_SET_PARAMS)

    def _cmd_0d(self, data: bytes, chk: int) -> bytes:  # SPI_ATTACH: the flash pins (a too-short request fails)
        struct.unpack("<I", data[:4])
        return self._reply(SPI_ATTACH)

    def _cmd_0f(self, data: bytes, chk: int) -> bytes:  # CHANGE_BAUDRATE
        (baud,) = struct.unpack("<I", data[:4])
        if baud <= 0:
            return self._error(CHANGE_BAUDRATE, ROM_INVALID_MESSAGE, STUB_BAD_LENGTH)
        reply = self._reply(CHANGE_BAUDRATE)  # sent at the old rate
        self.baud = baud
        if self._on_baud is not None:
            self._on_baud(baud)
        return reply

    # RAM: esptool uploads its stub this way

    def _cmd_05(self, data: bytes, chk: int) -> bytes:  # MEM_BEGIN
        size, blocks, block_size, offset = struct.unpack("<IIII", data[:16])
        if not any(start <= offset and offset + size <= end for start, end in _RAM_RANGES):
            return self._error(MEM_BEGIN, 0x0F, STUB_BAD_LENGTH)  # 0x10F: invalid RAM binary address
        self._mem = {"size": size, "blocks": blocks, "block_size": block_size, "seq": 0, "received": 0}
        return self._reply(MEM_BEGIN)

    def _cmd_07(self, data: bytes, chk: int) -> bytes:  # MEM_DATA
        length, seq, _, _ = struct.unpack("<IIII", data[:16])
        block = data[16:]
        if self._mem is None:
            return self._error(MEM_DATA, ROM_FAILED, STUB_NOT_IN_FLASH_MODE)
        if length != len(block) or length > self._mem["block_size"] or seq != self._mem["seq"]:
            return self._error(MEM_DATA, ROM_INVALID_MESSAGE, STUB_BAD_LENGTH)
        if _checksum(block) != chk & 0xFF:
            return self._error(MEM_DATA, ROM_BAD_CHECKSUM, STUB_BAD_CHECKSUM)
        self._mem["seq"] += 1
        self._mem["received"] += length
        return self._reply(MEM_DATA)

    def _cmd_06(self, data: bytes, chk: int) -> bytes:  # MEM_END: flag (0: jump), entry point
        no_entry, entry = struct.unpack("<II", data[:8])
        mem, self._mem = self._mem, None
        if mem is not None and mem["received"] == mem["size"]:
            self._mem_loaded = True
        reply = self._reply(MEM_END)
        if no_entry == 0 and entry and self._mem_loaded:
            self.stub = True  # esptool's stub is running now
            self._mem_loaded = False
            return reply + slip_encode(b"OHAI")
        return reply

    # flash: plain and deflated writes

    def _begin_write(self, op: int, data: bytes, deflated: bool) -> bytes:
        size, blocks, block_size, offset = struct.unpack("<IIII", data[:16])
        if offset % SECTOR or offset + size > self._flash_size:
            return self._error(op, ROM_INVALID_MESSAGE, STUB_BAD_LENGTH)
        if size:
            # the ROM erases up front; the stub as it goes, which leaves the same flash
            end = min(-(-(offset + size) // SECTOR) * SECTOR, self.flash.size)
            self.flash.erase(offset, end - offset)
        self._writing = {
            "op": op, "offset": offset, "size": size, "blocks": blocks, "block_size": block_size,
            "seq": 0, "written": 0, "inflater": zlib.decompressobj() if deflated else None,
        }  # fmt: skip
        return self._reply(op)

    def _cmd_02(self, data: bytes, chk: int) -> bytes:  # FLASH_BEGIN
        return self._begin_write(FLASH_BEGIN, data, deflated=False)

    def _cmd_10(self, data: bytes, chk: int) -> bytes:  # FLASH_DEFL_BEGIN
        return self._begin_write(FLASH_DEFL_BEGIN, data, deflated=True)

    def _write_block(self, op: int, data: bytes, chk: int) -> bytes:
        writing = self._writing
        if writing is None or (writing["inflater"] is not None) != (op == FLASH_DEFL_DATA):
            return self._error(op, ROM_FAILED, STUB_NOT_IN_FLASH_MODE)
        length, seq, _, _ = struct.unpack("<IIII", data[:16])
        block = data[16:]
        if length != len(block):
            return self._error(op, ROM_INVALID_MESSAGE, STUB_BAD_LENGTH)
        if _checksum(block) != chk & 0xFF:
            return self._error(op, ROM_BAD_CHECKSUM, STUB_BAD_CHECKSUM)
        if seq != writing["seq"]:
            if seq == writing["seq"] - 1:  # esptool resends a block whose answer it lost
                return self._reply(op)
            return self._error(op, ROM_INVALID_MESSAGE, STUB_BAD_LENGTH)
        if writing["inflater"] is not None:
            try:
                block = writing["inflater"].decompress(block)
            except zlib.error:
                return self._error(op, ROM_INFLATE_ERROR, STUB_INFLATE_ERROR)
        address = writing["offset"] + writing["written"]
        if address + len(block) > self.flash.size:
            return self._error(op, ROM_FLASH_WRITE_ERROR, STUB_TOO_MUCH_DATA)
        if block:
            self.flash.write(address, block)
        writing["written"] += len(block)
        writing["seq"] += 1
        return self._reply(op)

    def _cmd_03(self, data: bytes, chk: int) -> bytes:  # FLASH_DATA
        return self._write_block(FLASH_DATA, data, chk)

    def _cmd_11(self, data: bytes, chk: int) -> bytes:  # FLASH_DEFL_DATA
        return self._write_block(FLASH_DEFL_DATA, data, chk)

    def _end_write(self, op: int, data: bytes) -> bytes:
        (stay,) = struct.unpack("<I", data[:4])
        self._writing = None
        reply = self._reply(op)
        if self.stub:
            if not stay:  # "reboot" from the stub: back to the ROM's download mode
                self.stub = False
            return reply
        if self._on_run_user_code is not None:  # the ROM leaves download mode: both run the flash's app
            self._on_run_user_code()
        return reply

    def _cmd_04(self, data: bytes, chk: int) -> bytes:  # FLASH_END
        return self._end_write(FLASH_END, data)

    def _cmd_12(self, data: bytes, chk: int) -> bytes:  # FLASH_DEFL_END
        return self._end_write(FLASH_DEFL_END, data)

    # flash: reading and checking

    def _cmd_13(self, data: bytes, chk: int) -> bytes:  # SPI_FLASH_MD5
        address, size = struct.unpack("<II", data[:8])
        if address + size > self.flash.size:
            return self._error(SPI_FLASH_MD5, ROM_FLASH_READ_ERROR, STUB_FAILED_SPI)
        digest = hashlib.md5(self.flash.read(address, size))
        return self._reply(SPI_FLASH_MD5, 0, digest.digest() if self.stub else digest.hexdigest().encode())

    def _cmd_0e(self, data: bytes, chk: int) -> bytes:  # READ_FLASH_SLOW (ROM): at most 64 bytes a request
        address, size = struct.unpack("<II", data[:8])
        if size > 64 or address + size > self.flash.size:
            return self._error(READ_FLASH_SLOW, ROM_FLASH_READ_ERROR, STUB_NOT_IMPLEMENTED)
        return self._reply(READ_FLASH_SLOW, 0, self.flash.read(address, size).ljust(64, b"\xff"))

    def _cmd_d2(self, data: bytes, chk: int) -> bytes:  # READ_FLASH (stub): packets, then the MD5
        address, size, packet_size, _in_flight = struct.unpack("<IIII", data[:16])
        if address + size > self.flash.size or not packet_size:
            return self._error(READ_FLASH, ROM_FLASH_READ_ERROR, STUB_FAILED_SPI)
        content = self.flash.read(address, size)
        out = bytearray(self._reply(READ_FLASH))
        for start in range(0, size, packet_size):  # the client acknowledges each; the acks are ignored
            out += slip_encode(content[start : start + packet_size])
        out += slip_encode(hashlib.md5(content).digest())
        return bytes(out)

    def _cmd_d0(self, data: bytes, chk: int) -> bytes:  # ERASE_FLASH (stub)
        self.flash.erase(0, self.flash.size)
        return self._reply(ERASE_FLASH)

    def _cmd_d1(self, data: bytes, chk: int) -> bytes:  # ERASE_REGION (stub)
        address, size = struct.unpack("<II", data[:8])
        if address % SECTOR or size % SECTOR or address + size > self.flash.size:
            return self._error(ERASE_REGION, ROM_INVALID_MESSAGE, STUB_FAILED_SPI)
        self.flash.erase(address, size)
        return self._reply(ERASE_REGION)

    def _cmd_d3(self, data: bytes, chk: int) -> bytes:  # RUN_USER_CODE (stub): no answer, the app runs
        if self._on_run_user_code is not None:
            self._on_run_user_code()
        return b""


def _checksum(data: bytes) -> int:
    state = 0xEF
    for byte in data:
        state ^= byte
    return state
