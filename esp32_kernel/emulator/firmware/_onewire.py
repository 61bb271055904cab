# _onewire, the C module of MicroPython v1.24 (extmod/modonewire.c) that onewire.py drives:
# bus reset, bits and bytes (LSB first) on a pin. Here the bits go to the bench's 1-Wire
# bus model on that pin (its DS18B20s answer as the real parts do), one round trip each.
import _esp32_bench as _bench
from machine import _pin_id


def reset(pin):
    return bool(_bench.call("ow_reset", _pin_id(pin)))


def readbit(pin):
    return _bench.call("ow_readbit", _pin_id(pin))


def readbyte(pin):
    return _bench.call("ow_readbyte", _pin_id(pin))


def writebit(pin, value):
    _bench.send("ow_writebit", _pin_id(pin), 1 if int(value) else 0)


def writebyte(pin, value):
    _bench.send("ow_writebyte", _pin_id(pin), int(value) & 0xFF)


def crc8(data):
    crc = 0
    for byte in bytes(data):
        for _ in range(8):
            fb_bit = (crc ^ byte) & 0x01
            if fb_bit:
                crc ^= 0x18
            crc = (crc >> 1) & 0x7F
            if fb_bit:
                crc |= 0x80
            byte >>= 1
    return crc
