# The script the MicroPython unix port runs (with -i) before its REPL: the emulated
# ESP32's boot. It runs in __main__, whose globals become the REPL's, so it stays tiny.
import _esp32_boot

_esp32_boot.boot(globals())
del _esp32_boot
