# The `time` module as an ESP32 under MicroPython v1.24 shows it: the epoch is 2000-01-01,
# the clock is the board's RTC (it starts near 0 at power-on and survives soft resets and
# deep sleep; RTC().datetime() sets it), and sleeps run IRQ and Timer handlers as they wait.
# Installed as sys.modules["time"].
from time import *
import time as _builtin
import _esp32_bench

_EPOCH_2000_NS = 946684800 * 1_000_000_000
_base_ns = _esp32_bench.call("rtc_base_ns")  # host time_ns() at which the RTC read 2000-01-01


def _now_ns():
    return _builtin.time_ns() - _base_ns


def time():
    return _now_ns() // 1_000_000_000


def time_ns():
    return _now_ns()


def gmtime(secs=None):
    if secs is None:
        secs = time()
    return _builtin.gmtime(int(secs) + 946684800)[:8]


localtime = gmtime


def mktime(t):
    y, mo, d, h, mi, s = t[0], t[1], t[2], t[3], t[4], t[5]
    # days from civil (proleptic Gregorian), as timeutils does
    y2 = y - (mo <= 2)
    era = y2 // 400
    yoe = y2 - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468 - 10957
    return days * 86400 + h * 3600 + mi * 60 + s


def _set_epoch_seconds(secs, us=0):
    global _base_ns
    _base_ns = _builtin.time_ns() - (secs * 1_000_000_000 + us * 1000)
    _esp32_bench.send("rtc_base_ns", _base_ns)


def sleep(seconds):
    _esp32_bench.wait(int(seconds * 1000))


def sleep_ms(ms):
    _esp32_bench.wait(int(ms))


def sleep_us(us):
    _esp32_bench.wait_us(int(us))

# It reads as the built-in module: <module 'time'>, no __file__.
__name__ = "time"
del __file__
