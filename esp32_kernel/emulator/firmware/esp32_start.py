# The script the MicroPython unix port runs (with -i) before its REPL: the emulated
# ESP32's boot. It runs in __main__, whose globals become the REPL's, so it stays tiny.
# The portable core has no REPL of its own that a board's clients can use: it runs ours.
import _esp32_boot

_esp32_boot.boot(globals())
del _esp32_boot
if __import__("_esp32_supervisor").portable:
    __import__("_esp32_repl").run(globals())
