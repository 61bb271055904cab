"""The bundled emulated ESP32: the MicroPython unix port served as a board on a UART.

Reach it as a board, over a pyserial URL: ``socket://127.0.0.1:PORT`` (and, with ``--pty``,
a pseudo-terminal; modem-control ioctls such as RTS/DTR fail there with EIO, which clients
should treat as "no modem lines"). One client at a time, as a serial port.

Start it from the command line::

    python -m esp32_kernel.emulator [--port 0] [--host 127.0.0.1] [--baud N]
                                    [--board-dir DIR] [--pty] [--rfc2217] [--webserial] [--exit-with-parent]

It prints, flushed, one line per endpoint, the board's URL first::

    esp32-kernel emulator: socket://127.0.0.1:PORT
    esp32-kernel emulator pty: /dev/pts/N                 (with --pty)
    esp32-kernel emulator rfc2217: rfc2217://127.0.0.1:PORT (with --rfc2217: DTR/RTS reach EN and GPIO0)
    esp32-kernel emulator webserial: ws://127.0.0.1:PORT   (with --webserial: the port a browser's
                                                           Web Serial would open, as a WebSocket)
    esp32-kernel emulator control: tcp://127.0.0.1:PORT

or from Python: ``launch()`` returns an ``EmulatorProcess``. The board's files are a LittleFS
on its flash image: ``python -m esp32_kernel.emulator files DIR ls|get|put|rm …`` reaches them
from the host (flash_files.py, files_cli.py).

The control channel (for tests, the bench and fault injection) takes one command per line
and answers each with one JSON object per line, ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``:

- ``status``: ``micropython_pid``, ``micropython_running``, ``running_code``, ``booting``,
  ``repl_mode`` ("raw"/"friendly"), ``reset_cause``, ``client`` ("host:port" or null),
  ``board_dir``, ``baud``;
- ``hard_reset``: reset the board as its EN pin does (ROM boot log, friendly REPL);
- ``download``: reset it with GPIO0 low: the ROM's serial bootloader, for esptool
  (rom_bootloader.py; status's ``download_mode``). A reset boots from the flash image
  (flash_boot.py, ../chip/esp_image.py): without a valid bootloader and app it loops (``boot_failed``);
- ``drop_client``: close the client's connection, as pulling the cable does;
- the bench's commands (bench.py; README-section.md lists them): ``set_pin 4 0``,
  ``set_source 34 sine 1.65 1 2``, ``press 0``, ``add_ap SSID PASSWORD``…, and ``events``,
  after which every change streams as JSON lines. ``python -m esp32_kernel emulator bench
  --control tcp://… COMMAND`` sends one from a shell; EmulatorProcess.bench() from Python.

The board's ESP32 modules (firmware/machine.py, network.py, …) reach the bench through pipes
to the supervisor (firmware/_esp32_bench.py); its interrupts (pin IRQs, timers) arrive as
events, run as scheduled callbacks, and at an idle raw REPL through a hidden exec.

How it behaves as an ESP32 where the unix port differs: see supervisor.py (Ctrl-C, resets,
one client), console_shaper.py (line endings, banners) and firmware/ (the board's side: boot,
console, ``sys``, ``machine``).
"""

from .board_folder import default_board_dir
from .process import EmulatorError, EmulatorProcess, launch

__all__ = ["EmulatorError", "EmulatorProcess", "default_board_dir", "launch", "main"]


def main(argv: list[str] | None = None) -> int | None:
    """The emulator's command line. Imported only when run, and the board side (supervisor,
    pty: POSIX-only) only when a board is served: `files` and `bench` run anywhere, and the
    kernel imports this package for launch() alone."""
    from .cli import main as cli_main

    return cli_main(argv)
