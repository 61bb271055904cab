"""neopixel, the board's frozen module: a strip of WS2812 pixels on one pin.

The pixels' bytes go out through machine.bitstream, whose bits the bench decodes into colours.
The API (NeoPixel(pin, n, bpp, timing), indexing, fill, write, ORDER) is MicroPython's.
"""

from machine import bitstream

# (high, low) times in ns of a 0 bit, then of a 1 bit: timing=1 is 800 kHz, timing=0 400 kHz
_TIMINGS = {1: (400, 850, 800, 450), 0: (800, 1700, 1600, 900)}


class NeoPixel:
    ORDER = (1, 0, 2, 3)  # the byte each of R, G, B, W goes to: a WS2812 takes G R B (W)

    def __init__(self, pin, n, bpp=3, timing=1):
        self.pin = pin
        self.n = n
        self.bpp = bpp
        self.buf = bytearray(n * bpp)
        pin.init(pin.OUT)
        self.timing = _TIMINGS[1 if timing else 0] if isinstance(timing, int) else timing

    def __len__(self):
        return self.n

    def __setitem__(self, index, colour):
        start = index * self.bpp
        for channel in range(self.bpp):
            self.buf[start + self.ORDER[channel]] = colour[channel]

    def __getitem__(self, index):
        start = index * self.bpp
        return tuple(self.buf[start + self.ORDER[channel]] for channel in range(self.bpp))

    def fill(self, colour):
        pixel = bytearray(self.bpp)
        for channel in range(self.bpp):
            pixel[self.ORDER[channel]] = colour[channel]
        for start in range(0, len(self.buf), self.bpp):
            self.buf[start : start + self.bpp] = pixel

    def write(self):
        bitstream(self.pin, 0, self.timing, self.buf)  # 0: machine.BITSTREAM_TYPE_HIGH_LOW
