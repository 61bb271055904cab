"""The emulated board's line to its supervisor: how this boot came about, and reset requests.

The supervisor starts the unix port as
``micropython -i esp32_start.py BOARD_DIR REPL_MODE RESET_CAUSE UNIQUE_ID_HEX REQUEST_FD
REPLY_FD EVENT_FD WAKE_REASON`` and reads what the board says, one line each, from the pipe
REQUEST_FD (the portable core has no pipes: its three fds are "host", and the lines go
through host.call(), see _esp32_host.py): "started" once the boot may be interrupted, "hard_reset", "soft_reset",
"deepsleep_reset" and "panic_reset" (a crash: the supervisor prints the panic) to be
restarted, and the bench's requests (see _esp32_bench.py).
"""

import sys

board_dir = sys.argv[1]
repl_mode = sys.argv[2]  # "raw" or "friendly": the REPL this boot ends in
reset_cause = int(sys.argv[3])
unique_id = bytes.fromhex(sys.argv[4])
# the portable core (MicroPython for WASI): no pipes, no signals, no threads
portable = sys.argv[5] == "host"
if portable:
    import _esp32_host

    _requests = _esp32_host.requests
    banner = sys.argv[10]  # what its REPL says first (the shaper shows a board's banner instead)
    board_heap = int(sys.argv[11])  # a board's heap in bytes (its own is larger: _esp32_gc.py)
else:
    # Opened while the host file system is still visible: / becomes the board's flash later.
    _requests = open("/dev/fd/" + sys.argv[5], "wb")
wake_reason = int(sys.argv[8])
# The board profile (board_profile.py's JSON): its firmware's name, flash size and the GPIOs it lacks.
machine_name = "Generic ESP32 module with ESP32"
unavailable_gpios = ()
flash_size = 0x400000
deflate_compress = False  # stock v1.24 ESP32 firmware: deflate decompresses only
if len(sys.argv) > 9 and sys.argv[9] != "-":
    import json

    with open(sys.argv[9]) as _profile:
        _board = json.load(_profile)
    machine_name = _board.get("machine", machine_name)
    unavailable_gpios = tuple(_board.get("unavailable_gpios", ()))
    flash_size = int(_board.get("flash_size", flash_size))
    deflate_compress = bool(_board.get("deflate_compress", False))
    del _board, _profile, json


def announce_started():
    """Tell the supervisor that a SIGINT would now reach MicroPython, not the process's start."""
    _requests.write(b"started\n")


def request_reset(kind):
    """Ask the supervisor for a "hard" or "soft" reset, and wait to be ended by it.

    A board's reset cannot be caught by the code that asked for it, so nothing is raised here.
    """
    import time

    _requests.write(kind.encode() + b"_reset\n")
    while True:
        try:
            time.sleep(1)
        except BaseException:  # a Ctrl-C must not resume the code that asked for a reset
            pass
