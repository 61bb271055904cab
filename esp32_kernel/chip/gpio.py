"""The ESP32's GPIO numbers, as MicroPython v1.24's ESP32 port numbers them."""

# What machine.Pin accepts: the chip's GPIOs and GPIO 20, which the firmware takes too.
PIN_IDS = (*range(0, 24), 25, 26, 27, *range(32, 40))
# The chip's 34 GPIOs (GPIO 20 is not bonded out).
GPIOS = tuple(pin for pin in PIN_IDS if pin != 20)
INPUT_ONLY = range(34, 40)  # no output driver, no pulls
FLASH_PINS = range(6, 12)  # wired to the SPI flash
# The strapping pins' weak pulls, on from reset until the firmware sets others (the ESP32
# datasheet's strapping-pin table): an unpulled `Pin(0, Pin.IN)` reads 1, as the BOOT button
# on GPIO 0 expects, and GPIO 2 and 12 read 0.
PULLED_UP_AT_RESET = frozenset({0, 5, 15})
PULLED_DOWN_AT_RESET = frozenset({2, 12})
# The ADC's input ranges as %adc names them, and machine.ADC's constant for each.
ADC_ATTENUATIONS = {"0db": "ATTN_0DB", "2.5db": "ATTN_2_5DB", "6db": "ATTN_6DB", "11db": "ATTN_11DB"}
