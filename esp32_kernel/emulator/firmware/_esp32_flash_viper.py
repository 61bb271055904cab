"""_esp32_flash's byte loops as viper code, for the native core (its emitter compiles them)."""

import micropython


@micropython.viper
def invert(buf: ptr8, n: int):
    i = 0
    words = ptr32(buf)
    while i + 4 <= n:
        words[i >> 2] = words[i >> 2] ^ 0xFFFFFFFF
        i += 4
    while i < n:
        buf[i] = buf[i] ^ 0xFF
        i += 1


@micropython.viper
def program(stored: ptr8, data: ptr8, n: int):
    # stored inverted: clearing a bit of flash sets it here, and nothing unsets one
    i = 0
    s = ptr32(stored)
    d = ptr32(data)
    while i + 4 <= n:
        s[i >> 2] = s[i >> 2] | (d[i >> 2] ^ 0xFFFFFFFF)
        i += 4
    while i < n:
        stored[i] = stored[i] | (data[i] ^ 0xFF)
        i += 1
