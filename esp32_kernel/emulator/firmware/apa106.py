"""apa106, the board's frozen module: APA106 pixels, which take their bytes as R G B."""

from neopixel import NeoPixel


class APA106(NeoPixel):
    ORDER = (0, 1, 2, 3)
