"""machine, as an ESP32 under MicroPython v1.24 shows it (first version: resets and identity)."""

import _esp32_supervisor

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_FREQUENCIES_MHZ = (20, 40, 80, 160, 240)
_freq_hz = 160_000_000


def reset():
    _esp32_supervisor.request_reset("hard")


def soft_reset():
    raise SystemExit


def reset_cause():
    return _esp32_supervisor.reset_cause


def unique_id():
    return _esp32_supervisor.unique_id


def freq(hz=None):
    global _freq_hz
    if hz is None:
        return _freq_hz
    if int(hz) // 1_000_000 not in _FREQUENCIES_MHZ:
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
    _freq_hz = int(hz) // 1_000_000 * 1_000_000


def idle():
    pass
