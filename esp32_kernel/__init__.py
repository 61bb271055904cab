"""esp32-kernel: a Jupyter kernel for MicroPython on the ESP32, with a bundled emulator."""

__version__ = "0.1.0"
