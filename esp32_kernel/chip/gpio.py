"""The ESP32's GPIO numbers, as MicroPython v1.24's ESP32 port numbers them."""

# What machine.Pin accepts: the chip's GPIOs and GPIO 20, which the firmware takes too.
PIN_IDS = (*range(0, 24), 25, 26, 27, *range(32, 40))
# The chip's 34 GPIOs (GPIO 20 is not bonded out).
GPIOS = tuple(pin for pin in PIN_IDS if pin != 20)
INPUT_ONLY = range(34, 40)  # no output driver, no pulls
FLASH_PINS = range(6, 12)  # wired to the SPI flash
