"""esp, as MicroPython v1.24 has it on an ESP32 (ports/esp32/modesp.c), against the emulated
board's flash image (the same one esp32.Partition reads and writes)."""

import _esp32_bench as _bench
import _esp32_flash
import _esp32_errno

LOG_NONE = 0
LOG_ERROR = 1
LOG_WARNING = 2
LOG_INFO = 3
LOG_DEBUG = 4
LOG_VERBOSE = 5

_log_level = [LOG_ERROR]


def osdebug(uart, level=LOG_VERBOSE):
    # None: back to the boot default (errors only); ESP-IDF's log output is not emulated.
    _log_level[0] = LOG_ERROR if uart is None else int(level)


def _flash(operation, *args):
    try:
        return operation(*args)
    except ValueError:
        raise OSError(_esp32_errno.EIO)


def flash_read(offset, buf):
    _flash(_esp32_flash.read, int(offset), memoryview(buf))


def flash_write(offset, buf):
    _flash(_esp32_flash.write, int(offset), buf)


def flash_erase(sector):
    _flash(_esp32_flash.erase, int(sector) * 4096, 4096)


def flash_size():
    return _bench.call("flash_size")


def flash_user_start():
    return 0x200000


def gpio_matrix_in(pin, sig, inv):
    int(pin), int(sig), int(inv)


def gpio_matrix_out(pin, sig, out_inv, oen_inv):
    int(pin), int(sig), int(out_inv), int(oen_inv)
