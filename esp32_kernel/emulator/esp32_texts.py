"""What an ESP32 under MicroPython v1.24 prints on its UART around resets, byte for byte."""

FRIENDLY_BANNER = b"MicroPython v1.24.0 on 2024-10-25; Generic ESP32 module with ESP32"
RAW_REPL_BANNER = b"raw REPL; CTRL-B to exit\r\n"
SOFT_REBOOT = b"MPY: soft reboot\r\n"

# ESP_RST_* as the boot ROM names them in its "rst:" line.
POWERON_RESET = b"0x1 (POWERON_RESET)"
SW_CPU_RESET = b"0xc (SW_CPU_RESET)"
DEEPSLEEP_RESET = b"0x5 (DEEPSLEEP_RESET)"


# GPIO 6-11 carry the SPI flash: machine.Pin(6..11, mode) turns one into a GPIO, the next
# instruction fetched from flash reads garbage, and the chip panics and reboots.
FLASH_PINS_PANIC = (
    b"Guru Meditation Error: Core  1 panic'ed (IllegalInstruction). Exception was unhandled.\r\n"
    b"\r\n"
    b"Backtrace: 0x400d3a5e:0x3ffbf1c0 |<-CORRUPTED\r\n"
    b"\r\n"
    b"Rebooting...\r\n"
)


def task_wdt_panic(uptime_ms: int) -> bytes:
    """What ESP-IDF prints when machine.WDT is not fed in time (it panics, then reboots)."""
    lines = [
        b"E (%d) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:" % uptime_ms,
        b"E (%d) task_wdt:  - mpy_machine_wdt" % uptime_ms,
        b"",
        b"abort() was called at PC 0x400e2d7f on core 0",
        b"",
        b"Rebooting...",
    ]
    return b"".join(line + b"\r\n" for line in lines)


def rom_boot_log(reset_reason: bytes) -> bytes:
    """The ROM bootloader's chatter that follows a hard reset (power-on, EN pin, machine.reset())."""
    lines = [
        b"ets Jun  8 2016 00:22:57",
        b"",
        b"rst:" + reset_reason + b",boot:0x13 (SPI_FAST_FLASH_BOOT)",
        b"configsip: 0, SPIWP:0xee",
        b"clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00",
        b"mode:DIO, clock div:2",
        b"load:0x3fff0030,len:4892",
        b"ho 0 tail 12 room 4",
        b"load:0x40078000,len:14896",
        b"load:0x40080400,len:4",
        b"load:0x40080404,len:3372",
        b"entry 0x400805b0",
    ]
    return b"".join(line + b"\r\n" for line in lines)


def misread(text: bytes, sent_baud: int, read_baud: int = 115200) -> bytes:
    """`text` as a UART at `read_baud` reads it when sent at `sent_baud`: the ROM of an ESP32
    with a 26 MHz crystal prints at 74880 baud, which a 115200 terminal shows as garbage.
    Deterministic; the bytes have their top bit set, as most such misframed bytes do, so
    none reads as a REPL control character."""
    count = len(text) * read_baud // sent_baud
    return bytes(0x80 | (text[i * sent_baud // read_baud] * 73 + i) & 0x7F for i in range(count))

