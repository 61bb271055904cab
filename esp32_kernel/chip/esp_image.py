"""The ESP32's flash formats: app/bootloader images (esp_image_format.h) and the partition
table (esp_partition.h) — building the minimal valid ones a fresh emulated board holds, and
checking images as the ROM and ESP-IDF's second-stage bootloader do at boot.

An image: a 24-byte header (magic 0xE9, segment count, SPI mode, size/speed, entry point,
then the extended header with the chip id and "hash appended"), segments (load address,
length, data), zero padding up to a 16-byte boundary less one, an XOR checksum byte
(seeded with 0xEF), and, if the header says so, the image's SHA-256.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

IMAGE_MAGIC = 0xE9
CHECKSUM_SEED = 0xEF
MAX_SEGMENTS = 16
ESP32_CHIP_ID = 0
APP_DESC_MAGIC = 0xABCD5432
_HEADER = struct.Struct("<BBBBI")  # magic, segments, SPI mode, flash size | speed, entry
_EXTENDED = struct.Struct("<BBBBHBHH4sB")  # wp pin, drive strengths, chip id, revisions, hash appended
_SEGMENT = struct.Struct("<II")
HEADER_SIZE = _HEADER.size + _EXTENDED.size  # 24
SPI_MODES = {0: "QIO", 1: "QOUT", 2: "DIO", 3: "DOUT"}
CHIP_NAMES = {0: "ESP32", 2: "ESP32-S2", 5: "ESP32-C3", 9: "ESP32-S3", 12: "ESP32-C2", 13: "ESP32-C6", 16: "ESP32-H2"}

PARTITION_TABLE_OFFSET = 0x8000
PARTITION_TABLE_SIZE = 0xC00
_PARTITION = struct.Struct("<2sBBII16sI")
_PARTITION_MAGIC = b"\xaa\x50"
_PARTITION_MD5_MAGIC = b"\xeb\xeb"

BOOTLOADER_OFFSET = 0x1000
# The segments (load address, length) and entry point of MicroPython v1.24's bootloader, which
# the ROM's boot log names ("load:0x3fff0030,len:4892" …).
_BOOTLOADER_SEGMENTS = ((0x3FFF0030, 4892), (0x40078000, 14896), (0x40080400, 4), (0x40080404, 3372))
_BOOTLOADER_ENTRY = 0x400805B0
_APP_ENTRY = 0x40081FA8
MICROPYTHON_VERSION = "v1.24.0"
IDF_VERSION = "v5.2.2"


class ImageError(ValueError):
    """Why an image is not bootable, in ESP-IDF's words."""


@dataclass
class Image:
    """A parsed image: what its header says and where its parts are."""

    segments: list[tuple[int, int]]  # (load address, length)
    entry: int
    spi_mode: int
    chip_id: int
    hash_appended: bool
    length: int  # bytes, the checksum (and hash) included
    first_segment: bytes = field(default=b"", repr=False)

    @property
    def version(self) -> str | None:
        """The app's version from its esp_app_desc_t (the first segment's start), if it has one."""
        data = self.first_segment
        if len(data) < 48 or struct.unpack_from("<I", data)[0] != APP_DESC_MAGIC:
            return None
        return data[16:48].split(b"\0")[0].decode(errors="replace") or None


def checksum(data: bytes, state: int = CHECKSUM_SEED) -> int:
    for byte in data:
        state ^= byte
    return state


def build(segments: list[tuple[int, bytes]], entry: int, *, spi_mode: int = 2, size_freq: int = 0x20,
          hash_appended: bool = True, chip_id: int = ESP32_CHIP_ID) -> bytes:  # fmt: skip
    """An image of `segments` (load address, data); data lengths are padded to 4 bytes."""
    out = bytearray(_HEADER.pack(IMAGE_MAGIC, len(segments), spi_mode, size_freq, entry))
    out += _EXTENDED.pack(0xEE, 0, 0, 0, chip_id, 0, 0, 0xFFFF, b"\0" * 4, int(hash_appended))
    state = CHECKSUM_SEED
    for address, data in segments:
        data = bytes(data) + b"\0" * (-len(data) % 4)
        out += _SEGMENT.pack(address, len(data)) + data
        state = checksum(data, state)
    out += b"\0" * (15 - len(out) % 16)
    out.append(state)
    if hash_appended:
        out += hashlib.sha256(out).digest()
    return bytes(out)


def app_description(version: str = MICROPYTHON_VERSION, project: str = "micropython") -> bytes:
    """esp_app_desc_t: what `esptool image-info` and ESP-IDF read as the app's identity."""
    return struct.pack(
        "<III4x32s32s16s16s32s32s20x", APP_DESC_MAGIC, 0, 0, version.encode()[:31], project.encode()[:31],
        b"00:00:00", b"Oct 25 2024", IDF_VERSION.encode(), b"\0" * 32,
    )  # fmt: skip


def _filler(name: str, length: int) -> bytes:
    return hashlib.shake_256(name.encode()).digest(length)


def factory_bootloader() -> bytes:
    return build([(a, _filler(f"bootloader {a:x}", n)) for a, n in _BOOTLOADER_SEGMENTS], _BOOTLOADER_ENTRY, hash_appended=False)


def factory_app(version: str = MICROPYTHON_VERSION) -> bytes:
    """A small, valid app image: its first (DROM) segment starts with esp_app_desc_t."""
    drom = app_description(version) + _filler("app drom", 768)
    return build([(0x3F400020, drom), (0x40080000, _filler("app iram", 1024)), (0x400D0020, _filler("app irom", 2048))], _APP_ENTRY)


def partition_table(partitions: list[tuple[int, int, int, int, str]]) -> bytes:
    """The binary table of (type, subtype, offset, size, label) entries, with its MD5 entry."""
    entries = b"".join(_PARTITION.pack(_PARTITION_MAGIC, t, s, o, n, label.encode()[:16], 0) for t, s, o, n, label in partitions)
    table = entries + _PARTITION_MD5_MAGIC + b"\xff" * 14 + hashlib.md5(entries).digest()
    return table + b"\xff" * (PARTITION_TABLE_SIZE - len(table))


def parse_partition_table(data: bytes) -> list[tuple[int, int, int, int, str]]:
    """The entries of a table read from flash; ImageError in ESP-IDF's words if it is damaged."""
    entries = []
    for index in range(len(data) // _PARTITION.size):
        chunk = data[index * _PARTITION.size : (index + 1) * _PARTITION.size]
        magic = chunk[:2]
        if magic == b"\xff\xff":
            break
        if magic == _PARTITION_MD5_MAGIC:
            if hashlib.md5(data[: index * _PARTITION.size]).digest() != chunk[16:]:
                raise ImageError("Incorrect checksum: partition table is corrupt")
            continue
        if magic != _PARTITION_MAGIC:
            raise ImageError(f"partition {index} invalid magic number 0x{int.from_bytes(magic, 'little'):x}")
        _, kind, subtype, offset, size, label, _ = _PARTITION.unpack(chunk)
        entries.append((kind, subtype, offset, size, label.split(b"\0")[0].decode(errors="replace")))
    if not entries:
        raise ImageError("partition 0 invalid magic number 0xffff")
    return entries


def parse(read, offset: int, limit: int, *, verify: bool = True) -> Image:
    """The image at `offset` of a flash read through `read(offset, length)`, at most `limit`
    bytes long; with `verify`, its checksum and hash are checked. ImageError says what is wrong."""
    header = read(offset, HEADER_SIZE)
    magic, count, spi_mode, _size_freq, entry = _HEADER.unpack_from(header)
    if magic != IMAGE_MAGIC:
        raise ImageError(f"image at 0x{offset:x} has invalid magic byte (nothing flashed here?)")
    ext = _EXTENDED.unpack_from(header, _HEADER.size)
    chip_id, hash_appended = ext[4], ext[9] == 1
    if chip_id != ESP32_CHIP_ID:
        raise ImageError(f"mismatch chip ID, expected {ESP32_CHIP_ID}, found {chip_id}")
    if count > MAX_SEGMENTS or count == 0:
        raise ImageError(f"image at 0x{offset:x} segment count {count} exceeds max {MAX_SEGMENTS}")
    position = HEADER_SIZE
    segments: list[tuple[int, int]] = []
    state = CHECKSUM_SEED
    first = b""
    for index in range(count):
        if position + _SEGMENT.size > limit:
            raise ImageError(f"Image length {position} doesn't fit in partition length {limit}")
        address, length = _SEGMENT.unpack(read(offset + position, _SEGMENT.size))
        position += _SEGMENT.size
        if position + length > limit or length > 0x1000000:
            raise ImageError(f"Segment {index} 0x{address:08x}-0x{address + length:08x} invalid: extends past the partition")
        if verify or index == 0:
            data = read(offset + position, length)
            state = checksum(data, state) if verify else state
            first = first or data[:256]
        segments.append((address, length))
        position += length
    position += 15 - position % 16
    if position + 1 + 32 * hash_appended > limit:
        raise ImageError(f"Image length {position + 1} doesn't fit in partition length {limit}")
    if verify:
        stored = read(offset + position, 1)[0]
        if stored != state:
            raise ImageError(f"Checksum failed. Calculated 0x{state:x} read 0x{stored:x}")
    position += 1
    if hash_appended:
        if verify:
            digest = read(offset + position, 32)
            if hashlib.sha256(read(offset, position)).digest() != digest:
                raise ImageError("Image hash failed - image is corrupt")
        position += 32
    return Image(segments, entry, spi_mode, chip_id, hash_appended, position, first)


def describe_file_problem(data: bytes) -> str | None:
    """Why `data` (a firmware file) cannot be an ESP32 image, or None if its header looks right."""
    if len(data) < HEADER_SIZE:
        return f"it is only {len(data)} bytes long, too short for an ESP32 firmware image"
    if data[0] != IMAGE_MAGIC:
        return f"it does not start with an ESP firmware image header (first byte 0x{data[0]:02x}, expected 0xe9)"
    chip_id = _EXTENDED.unpack_from(data, _HEADER.size)[4]
    if chip_id != ESP32_CHIP_ID:
        return f"it is a firmware image for the {CHIP_NAMES.get(chip_id, f'chip with id {chip_id}')}, not for the ESP32"
    return None
