"""What an ESP32 does from reset until its app runs: the boot ROM loads the second-stage
bootloader from flash at 0x1000, which reads the partition table at 0x8000 and checks the
factory app (the image at 0x10000) before running it; or, with GPIO0 held low, the ROM waits
for a download (rom_bootloader.py). The texts are what they print on UART0, byte for byte
where known; the second-stage bootloader of MicroPython's firmware prints errors only.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathlib import Path

from ..chip import esp_image
from . import storage
from .storage import FlashImage

ROM_BANNER = b"ets Jun  8 2016 00:22:57\r\n\r\n"
FLASH_BOOT = b"boot:0x13 (SPI_FAST_FLASH_BOOT)"
DOWNLOAD_BOOT = b"boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))"
# the reset reasons of a boot that failed and went round again
RTCWDT_RTC_RESET = b"0x10 (RTCWDT_RTC_RESET)"  # the ROM's watchdog, after it found no bootloader
SW_RESET = b"0x3 (SW_RESET)"  # bootloader_reset(), after it found no app
APP_TYPE, FACTORY, OTA_0 = 0, 0x00, 0x10


@dataclass
class BootResult:
    ok: bool
    rom_log: bytes  # what the ROM printed (at the ROM's baud rate)
    bootloader_log: bytes = b""  # what the second-stage bootloader printed (at 115200 baud)
    retry_reason: bytes = b""  # a failed boot resets the chip: the next boot's "rst:" reason
    app_version: str | None = None


def download_mode_log(reset_reason: bytes) -> bytes:
    """The ROM's words when GPIO0 is low at reset: it then speaks the serial bootloader protocol."""
    return ROM_BANNER + b"rst:" + reset_reason + b"," + DOWNLOAD_BOOT + b"\r\nwaiting for download\r\n"


def boot(flash: FlashImage, reset_reason: bytes) -> BootResult:
    """Boot from flash after a reset: the log, and whether the app (MicroPython) starts."""
    log = ROM_BANNER + b"rst:" + reset_reason + b"," + FLASH_BOOT + b"\r\n"
    try:
        bootloader = esp_image.parse(flash.read, esp_image.BOOTLOADER_OFFSET, esp_image.PARTITION_TABLE_OFFSET - esp_image.BOOTLOADER_OFFSET)
    except esp_image.ImageError:
        first_word = int.from_bytes(flash.read(esp_image.BOOTLOADER_OFFSET, 4), "little")
        if flash.read(esp_image.BOOTLOADER_OFFSET, 1)[0] != esp_image.IMAGE_MAGIC:
            text = b"invalid header: 0x%08x\r\n" % first_word
            return BootResult(False, log + text * 4, retry_reason=RTCWDT_RTC_RESET)
        return BootResult(False, log + b"flash read err, 1000\r\nets_main.c 371 \r\n", retry_reason=RTCWDT_RTC_RESET)
    log += _rom_load_lines(bootloader)
    clock = _Clock()
    try:
        table = esp_image.parse_partition_table(flash.read(esp_image.PARTITION_TABLE_OFFSET, esp_image.PARTITION_TABLE_SIZE))
    except esp_image.ImageError as error:
        lines = [f"flash_parts: {error}", "boot: Failed to verify partition table", "boot: load partition table error!"]
        return BootResult(False, log, clock.errors(lines), SW_RESET)
    apps = [p for p in table if p[0] == APP_TYPE and p[1] in (FACTORY, OTA_0)]
    if not apps:
        return BootResult(False, log, clock.errors(["boot: No bootable app partitions in the partition table"]), SW_RESET)
    _, subtype, offset, size, _label = apps[0]
    try:
        app = esp_image.parse(flash.read, offset, size)
    except esp_image.ImageError as error:
        which = "Factory app" if subtype == FACTORY else "OTA app"
        lines = [f"esp_image: {error}", f"boot: {which} partition is not bootable", "boot: No bootable app partitions in the partition table"]
        return BootResult(False, log, clock.errors(lines), SW_RESET)
    return BootResult(True, log, app_version=app.version)


def _rom_load_lines(bootloader: esp_image.Image) -> bytes:
    lines = [
        b"configsip: 0, SPIWP:0xee",
        b"clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00",
        b"mode:%s, clock div:2" % esp_image.SPI_MODES.get(bootloader.spi_mode, "DIO").encode(),
    ]
    for index, (address, length) in enumerate(bootloader.segments):
        lines.append(b"load:0x%08x,len:%d" % (address, length))
        if index == 0:
            lines.append(b"ho 0 tail 12 room 4")
    lines.append(b"entry 0x%08x" % bootloader.entry)
    return b"".join(line + b"\r\n" for line in lines)


class _Clock:
    """The bootloader's log timestamps (ms since reset)."""

    def __init__(self) -> None:
        self.ms = 527

    def errors(self, lines: list[str]) -> bytes:
        out = b""
        for line in lines:
            tag, _, text = line.partition(": ")
            out += f"E ({self.ms}) {tag}: {text}\r\n".encode()
            self.ms += 5
        return out


FACTORY_MARK = "factory-programmed"  # in the board's hidden folder: its flash got its first firmware


def install_factory_firmware(board_dir: Path, flash: FlashImage, partitions: list[tuple[int, int, int, int, str]]) -> bool:
    """Write what a new board's flash holds, once in its life: a bootloader, the partition
    table, and a small valid app standing for MicroPython (no real firmware can be downloaded
    here). An erased board stays erased (the mark says it was programmed). True if written."""
    mark = storage.hidden_dir(board_dir) / FACTORY_MARK
    if mark.exists():
        return False
    app_offset = next(offset for kind, subtype, offset, _, _ in partitions if kind == APP_TYPE and subtype == FACTORY)
    for offset, data in (
        (esp_image.BOOTLOADER_OFFSET, esp_image.factory_bootloader()),
        (esp_image.PARTITION_TABLE_OFFSET, esp_image.partition_table(partitions)),
        (app_offset, esp_image.factory_app()),
    ):
        flash.erase(offset, -(-len(data) // storage.SECTOR) * storage.SECTOR)
        flash.write(offset, data)
    mark.write_text("the factory bootloader, partition table and app were written to flash.bin\n")
    return True
