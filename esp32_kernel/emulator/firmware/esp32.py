"""esp32, as MicroPython v1.24 has it on an ESP32 (ports/esp32/modesp32.c, esp32_nvs.c,
esp32_partition.c, esp32_rmt.c), against the emulated board's flash and bench.

NVS keeps its namespaces in the board's folder (kept across resets and runs, as flash is);
Partition reads and writes the board's flash image (4 KiB erase blocks; writes only clear
bits, as NOR flash does); ESP-IDF errors are raised as check_esp_err does:
OSError(-0x1102, 'ESP_ERR_NVS_NOT_FOUND').
"""

import _esp32_bench as _bench
import _esp32_flash
import _esp32_console
import machine as _machine
import _esp32_errno

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True
HEAP_DATA = 4  # MALLOC_CAP_8BIT
HEAP_EXEC = 1  # MALLOC_CAP_EXEC

_ESP_ERR_NAMES = {
    0x101: "ESP_ERR_NO_MEM",
    0x102: "ESP_ERR_INVALID_ARG",
    0x103: "ESP_ERR_INVALID_STATE",
    0x104: "ESP_ERR_INVALID_SIZE",
    0x105: "ESP_ERR_NOT_FOUND",
    0x1102: "ESP_ERR_NVS_NOT_FOUND",
    0x1103: "ESP_ERR_NVS_TYPE_MISMATCH",
    0x1105: "ESP_ERR_NVS_NOT_ENOUGH_SPACE",
    0x1109: "ESP_ERR_NVS_KEY_TOO_LONG",
    0x110C: "ESP_ERR_NVS_INVALID_LENGTH",
    0x110E: "ESP_ERR_NVS_VALUE_TOO_LONG",
    0x1503: "ESP_ERR_OTA_VALIDATE_FAILED",
}
# ports/esp32/mphalport.c: the errno is -code, but ESP_ERR_NO_MEM, _TIMEOUT, _NOT_SUPPORTED
# map to ENOMEM, ETIMEDOUT, EOPNOTSUPP.
_ERRNO_OF = {0x101: _esp32_errno.ENOMEM, 0x107: _esp32_errno.ETIMEDOUT, 0x106: _esp32_errno.EOPNOTSUPP}
# With the heap locked, check_esp_err cannot make its message and raises OSError(errno), whose
# args only fit in the emergency exception buffer (else it has none). Made now, raised then.
_LOCKED_OSERRORS = {_ERRNO_OF.get(code, -code): OSError(_ERRNO_OF.get(code, -code)) for code in _ESP_ERR_NAMES}
_ARGLESS_OSERROR = OSError()


def _check_esp_err(code):
    if code:
        errno = _ERRNO_OF.get(code, -code)
        if _esp32_console.heap_lock_depth:  # allocates nothing
            if _esp32_console.emergency_exception_buf and errno in _LOCKED_OSERRORS:
                raise _LOCKED_OSERRORS[errno]
            raise _ARGLESS_OSERROR
        name = _ESP_ERR_NAMES.get(code)
        raise OSError(errno, name if name else "ESP_ERR_0x%X" % code)


def _str_arg(value):
    if not isinstance(value, str):
        raise TypeError("can't convert %s to str" % type(value).__name__)
    return value


# -- wake sources for deep and light sleep (machine_rtc_config)

_RTC_PINS = (0, 2, 4, 12, 13, 14, 15, 25, 26, 27, 32, 33, 34, 35, 36, 37, 38, 39)
_wake = {"ext0_pin": -1, "ext0_level": False, "ext1_pins": (), "ext1_level": False, "touch": False, "ulp": False}


def _gpio(pin):
    return _machine._pin_id(pin)


def _publish_wake():
    _bench.send(
        "sleep_wake", _wake["ext0_pin"], 1 if _wake["ext0_level"] else 0,
        ",".join([str(p) for p in _wake["ext1_pins"]]) or "-", 1 if _wake["ext1_level"] else 0,
        1 if _wake["touch"] else 0,
    )  # fmt: skip


def wake_on_touch(wake):
    if _wake["ext0_pin"] != -1:
        raise ValueError("no resources")
    _wake["touch"] = bool(wake)
    _publish_wake()


def wake_on_ext0(pin=None, level=None):
    if _wake["touch"]:
        raise ValueError("no resources")
    if pin is None:
        _wake["ext0_pin"] = -1
    else:
        gpio = _gpio(pin)
        if gpio != _wake["ext0_pin"]:
            if gpio not in _RTC_PINS:
                raise ValueError("invalid pin")
            _wake["ext0_pin"] = gpio
    if level is not None:
        _wake["ext0_level"] = bool(level)
    _publish_wake()


def wake_on_ext1(pins=None, level=None):
    if pins is not None:
        if not isinstance(pins, (tuple, list)):
            raise TypeError("object '%s' isn't a tuple or list" % type(pins).__name__)
        chosen = []
        for pin in pins:
            gpio = _gpio(pin)
            if gpio not in _RTC_PINS:
                raise ValueError("invalid pin")
            chosen.append(gpio)
        _wake["ext1_pins"] = tuple(chosen)
    if level is not None:
        _wake["ext1_level"] = bool(level)
    _publish_wake()


def wake_on_ulp(wake):
    if _wake["ext0_pin"] != -1:
        raise ValueError("no resources")
    _wake["ulp"] = bool(wake)


def gpio_deep_sleep_hold(enable):
    pass


def raw_temperature():
    # The die's sensor, uncalibrated: roughly degrees Fahrenheit
    return int(_bench.call("chip_temperature") * 9 / 5 + 32 + 0.5)


def idf_heap_info(capabilities):
    # ESP-IDF's heap regions on a plain ESP32 (sizes as v1.24 reports them); the free bytes
    # of the large regions follow the MicroPython heap's use.
    capabilities = int(capabilities)
    import gc

    used = gc.mem_alloc() // 16
    regions = (
        (1, 4, 7288, 0, 0, 0),
        (1, 4, 16648, 4, 4, 4),
        (1, 4, 94608, 30016 - used % 4096, 26624, 28404),
        (1, 4, 15072, 15024, 14848, 14956),
        (1, 4, 113840, 0, 0, 0),
        (0, 4, 240, 0, 0, 0),
    )
    out = []
    for exec_, data, total, free, largest, minimum in regions:
        caps = (HEAP_EXEC if exec_ else 0) | (HEAP_DATA if data else 0)
        if caps & capabilities == capabilities:
            out.append((total, free, largest, minimum))
    return out


# -- NVS


class NVS:
    def __init__(self, namespace):
        namespace = _str_arg(namespace)
        _check_esp_err(_bench.call("nvs_open", _bench.text(namespace)))
        self._ns = _bench.text(namespace)

    def __repr__(self):
        return "<NVS namespace>"

    def set_i32(self, key, value):
        value = int(value)
        if not -0x80000000 <= value <= 0x7FFFFFFF:
            value = ((value + 0x80000000) & 0xFFFFFFFF) - 0x80000000  # mp_obj_get_int to int32_t
        _check_esp_err(_bench.call("nvs_set", self._ns, _bench.text(_str_arg(key)), "i32", value))

    def get_i32(self, key):
        answer = _bench.call("nvs_get", self._ns, _bench.text(_str_arg(key)), "i32")
        _check_esp_err(answer[0])
        return answer[1]

    def set_blob(self, key, value):
        data = bytes(memoryview(value))
        _check_esp_err(_bench.call("nvs_set", self._ns, _bench.text(_str_arg(key)), "blob", data.hex() or "-"))

    def get_blob(self, key, value):
        buf = memoryview(value)
        answer = _bench.call("nvs_get", self._ns, _bench.text(_str_arg(key)), "blob")
        _check_esp_err(answer[0])
        data = bytes.fromhex(answer[1])
        if len(data) > len(buf):
            _check_esp_err(0x110C)  # ESP_ERR_NVS_INVALID_LENGTH: the buffer is too small
        buf[: len(data)] = data
        return len(data)

    def erase_key(self, key):
        _check_esp_err(_bench.call("nvs_erase", self._ns, _bench.text(_str_arg(key))))

    def commit(self):
        _check_esp_err(0)  # each write is already on flash, as ESP-IDF's nvs_commit finds it


# -- Partition

_BLOCK = 4096


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1

    def __init__(self, id, block_size=_BLOCK):
        if isinstance(id, int):
            if id not in (Partition.BOOT, Partition.RUNNING):
                raise ValueError
            entry = _bench.call("partition_find", 0, 0)  # the factory app: booted and running
        else:
            label = _str_arg(id)
            entry = [p for p in _bench.call("partition_find", 0, 255) + _bench.call("partition_find", 1, 255) if p[4] == label]
            entry = entry[:1]
        if not entry:
            raise OSError(_esp32_errno.ENOENT)
        self._init(entry[0], int(block_size))

    def _init(self, entry, block_size):
        self._type, self._subtype, self._address, self._size, self._label = entry[:5]
        self._block_size = block_size

    @staticmethod
    def find(type=TYPE_APP, subtype=255, label=None, block_size=_BLOCK):
        found = []
        for entry in _bench.call("partition_find", int(type), int(subtype)):
            if label is None or entry[4] == label:
                p = object.__new__(Partition)
                p._init(entry, int(block_size))
                found.append(p)
        return found

    def __repr__(self):
        return "<Partition type=%u, subtype=%u, address=%u, size=%u, label=%s, encrypted=%u>" % (
            self._type, self._subtype, self._address, self._size, self._label, 0,
        )  # fmt: skip

    def info(self):
        return (self._type, self._subtype, self._address, self._size, self._label, False)

    def _range(self, offset, size):
        if offset > self._size:
            _check_esp_err(0x102)  # ESP_ERR_INVALID_ARG
        if offset + size > self._size:
            _check_esp_err(0x104)  # ESP_ERR_INVALID_SIZE

    def _read(self, offset, buf):
        self._range(offset, len(buf))
        _esp32_flash.read(self._address + offset, buf)

    def _write(self, offset, data):
        self._range(offset, len(data))
        _esp32_flash.write(self._address + offset, data)

    def _erase(self, offset, size):
        self._range(offset, size)
        if size % _BLOCK:
            _check_esp_err(0x104)
        if offset % _BLOCK:
            _check_esp_err(0x102)
        if size:
            _esp32_flash.erase(self._address + offset, size)

    def readblocks(self, block_num, buf, offset=0):
        self._read(int(block_num) * self._block_size + int(offset), memoryview(buf))

    def writeblocks(self, block_num, buf, offset=None):
        data = memoryview(buf)
        start = int(block_num) * self._block_size
        if offset is None:
            # a simple write: erase first (whole 4 KiB blocks, keeping what else they held)
            top = start + len(data)
            addr = start - start % _BLOCK
            while addr < top:
                keep = bytearray(_BLOCK)
                self._read(addr, keep)
                self._erase(addr, _BLOCK)
                if addr < start:
                    self._write(addr, keep[: start - addr])
                if top < addr + _BLOCK:
                    self._write(top, keep[top - addr :])
                addr += _BLOCK
        else:
            start += int(offset)
        self._write(start, data)

    def ioctl(self, cmd, arg):
        if cmd in (1, 2, 3):  # INIT, DEINIT, SYNC
            return 0
        if cmd == 4:  # BLOCK_COUNT
            return self._size // self._block_size
        if cmd == 5:  # BLOCK_SIZE
            return self._block_size
        if cmd == 6:  # BLOCK_ERASE
            if self._block_size != _BLOCK:
                return -22  # -MP_EINVAL
            self._erase(int(arg) * _BLOCK, _BLOCK)
            return 0
        return None

    def set_boot(self):
        if self._type != Partition.TYPE_APP:
            # esp_ota_set_boot_partition validates the image first: a data partition holds none
            _check_esp_err(0x1503)  # ESP_ERR_OTA_VALIDATE_FAILED
        _check_esp_err(0x105)  # no otadata partition on this table: ESP_ERR_NOT_FOUND

    def get_next_update(self):
        raise OSError(_esp32_errno.ENOENT)  # no OTA partitions: esp_ota_get_next_update_partition gives NULL

    @classmethod
    def mark_app_valid_cancel_rollback(cls):
        _check_esp_err(0x105)  # ESP_ERR_NOT_FOUND: no otadata partition


# -- RMT (transmit only, as v1.24's)

_rmt_in_use = {}
_bitstream_channel = [7]  # RMT_LAST_TX_CHANNEL, reserved for machine.bitstream


class RMT:
    PULSE_MAX = 32767

    def __init__(self, id, *, pin, clock_div=8, idle_level=False, tx_carrier=None):
        id = int(id)
        gpio = _gpio(pin)
        if _bitstream_channel[0] >= 0 and id == _bitstream_channel[0]:
            raise ValueError("channel used by bitstream")
        if not 1 <= clock_div <= 255:
            raise ValueError("clock_div must be between 1 and 255")
        if tx_carrier is not None:
            if not isinstance(tx_carrier, (tuple, list)):
                raise TypeError("object '%s' isn't a tuple or list" % type(tx_carrier).__name__)
            if len(tx_carrier) != 3:
                raise ValueError("requested length 3 but object has length %d" % len(tx_carrier))
            if int(tx_carrier[0]) == 0:
                raise ValueError("tx_carrier frequency must be >0")
            if not 0 <= int(tx_carrier[1]) <= 100:
                raise ValueError("tx_carrier duty must be 0..100")
        if not 0 <= id < 8:
            _check_esp_err(0x102)  # rmt_config: ESP_ERR_INVALID_ARG
        if id in _rmt_in_use:
            _check_esp_err(0x103)  # rmt_driver_install twice: ESP_ERR_INVALID_STATE
        self._id, self._pin, self._div, self._idle = id, gpio, clock_div, 1 if idle_level else 0
        self._loop = False
        self._done_at = 0
        _rmt_in_use[id] = self
        _bench.send("pin_mode", gpio, 3, -1)
        _bench.send("pin_out", gpio, self._idle)

    def __repr__(self):
        if self._pin == -1:
            return "RMT()"
        return "RMT(channel=%u, pin=%u, source_freq=%u, clock_div=%u, idle_level=%u)" % (
            self._id, self._pin, 80000000, self._div, self._idle,
        )  # fmt: skip

    def deinit(self):
        if self._pin != -1:
            _rmt_in_use.pop(self._id, None)
            self._pin = -1

    __del__ = deinit

    @staticmethod
    def source_freq():
        return 80000000

    def clock_div(self):
        return self._div

    def wait_done(self, *, timeout=0):
        import time

        left = time.ticks_diff(self._done_at, time.ticks_ms())
        if left > 0 and not self._loop:
            time.sleep_ms(min(left, int(timeout)))
            left = time.ticks_diff(self._done_at, time.ticks_ms())
        return left <= 0 and not self._loop

    def loop(self, enable):
        self._loop = bool(int(enable))

    def write_pulses(self, duration, data=True):
        import time

        if not isinstance(data, (tuple, list)):
            durations = [int(d) for d in _seq(duration)]
            level = 1 if data else 0
            levels = [(level + i) & 1 for i in range(len(durations))]
        elif isinstance(duration, int):
            levels = [1 if d else 0 for d in data]
            durations = [duration] * len(levels)
        else:
            durations = [int(d) for d in _seq(duration)]
            levels = [1 if d else 0 for d in data]
            if len(durations) != len(levels):
                raise ValueError("duration and data must have same length")
        if not durations:
            raise ValueError("No pulses")
        if self._loop and len(durations) > 126:
            raise ValueError("Too many pulses for loop")
        total_us = sum(durations) * self._div // 80
        self._done_at = time.ticks_add(time.ticks_ms(), total_us // 1000 + 1)
        _bench.send("rmt", self._pin, self._div, ",".join(["%d:%d" % p for p in zip(levels, durations)]))

    @staticmethod
    def bitstream_channel(*args):
        if not args:
            return None if _bitstream_channel[0] < 0 else _bitstream_channel[0]
        value = args[0]
        if value is None or value < 0:
            _bitstream_channel[0] = -1
        elif value >= 8:
            raise ValueError("invalid channel")
        else:
            _bitstream_channel[0] = int(value)


def _seq(value):
    if not isinstance(value, (tuple, list)):
        raise TypeError("object '%s' isn't a tuple or list" % type(value).__name__)
    return value
