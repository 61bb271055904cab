"""The emulated ESP32's boot: what ports/esp32/main.c does between reset and the REPL.

Sets up the board (console, `sys`, `machine`, its flash's LittleFS as the whole of /), then runs
/boot.py and, when the REPL will be the friendly one, /main.py, as v1.24 does.
"""

import io
import micropython
import sys

import _esp32_console
import _esp32_files
import _esp32_supervisor
import _esp32_bench  # noqa: F401 - opens the bench's pipes while the host's files are visible

_ESP32_SYS_PATH = ["", ".frozen", "/lib"]
# Imported at boot (their state is the board's): machine and network.
_FIRMWARE_MODULES = ("machine", "network")
# The rest of the board's own modules are loaded when first imported, as a board's frozen
# modules are: they cost heap only then (firmware/_esp32_frozen.py).


def boot(main_globals):
    # Setup must not be cut short by a Ctrl-C: with no handler the supervisor sees no code
    # running and leaves the byte for the REPL.
    micropython.kbd_intr(-1)
    _esp32_supervisor.announce_started()
    _install_modules()
    import _esp32_frozen

    _esp32_files.mount_board_flash()
    _esp32_frozen.install()
    sys.path[:] = _ESP32_SYS_PATH
    # v1.24's frozen _boot.py runs in the REPL's globals: its `import gc` stays there (programs
    # use gc unimported, MicroPython's own multi_espnow tests too). Its vfs and bdev are not
    # given: importing them here would cost the heap ~8 KB that a board's frozen ones do not.
    main_globals["gc"] = sys.modules["gc"]
    booted = _run_user_file("boot.py", main_globals)
    if booted == "exit":
        _esp32_supervisor.request_reset("soft")
    # A failed boot.py skips main.py, as does a soft reset into the raw REPL.
    if booted == "ok" and _esp32_supervisor.repl_mode == "friendly":
        if _run_user_file("main.py", main_globals) == "exit":
            _esp32_supervisor.request_reset("soft")
    main_globals.pop("__file__", None)


def _install_modules():
    _esp32_console.install()
    import _esp32_sys
    import _esp32_time
    import _esp32_os
    import _esp32_gc
    import _esp32_errno
    import _esp32_micropython

    sys.modules["sys"] = _esp32_sys
    sys.modules["time"] = _esp32_time
    sys.modules["os"] = _esp32_os
    sys.modules["gc"] = _esp32_gc
    sys.modules["errno"] = _esp32_errno
    sys.modules["micropython"] = _esp32_micropython
    # Built-in on a board, costing it no heap: loaded here, at the bottom of the heap, rather
    # than among a user's objects on first import (a 32 KB bytearray found no room after that).
    import _esp32_io
    import _esp32_select

    sys.modules["io"] = _esp32_io
    sys.modules["select"] = _esp32_select
    if _esp32_supervisor.portable:  # its REPL (run after the boot, when / is the flash)
        import _esp32_repl  # noqa: F401
    if _esp32_supervisor.deflate_compress:  # a build with MICROPY_PY_DEFLATE_COMPRESS
        import _esp32_deflate

        sys.modules["deflate"] = _esp32_deflate
    # The board's own modules, found at boot while the firmware folder is on the path
    # (afterwards / is the board's flash), as a board's frozen modules are.
    for name in _FIRMWARE_MODULES:
        try:
            __import__(name)
        except ImportError:
            pass
    sys.argv[:] = []


def _run_user_file(name, main_globals):
    """Run /NAME in the REPL's globals, as pyexec_file_if_exists does: "ok", "error" or "exit"."""
    try:
        with open(name) as file:
            source = file.read()
    except OSError:
        return "ok"
    main_globals["__file__"] = name
    try:
        try:
            sys.modules["micropython"].kbd_intr(3)  # the supervisor's char too (boot.py may change it)
            exec(compile(source, name, "exec"), main_globals)
        finally:
            micropython.kbd_intr(-1)
            if _esp32_supervisor.portable:  # (the firmware's kbd_intr tells its host; this is the C one)
                import _esp32_host

                _esp32_host.set_executing(False)
            for _ in range(1):  # a Ctrl-C still pending is raised here, inside the try
                pass
    except SystemExit:
        return "exit"
    except BaseException as exc:
        _print_user_traceback(exc)
        return "error"
    return "ok"


def _print_user_traceback(exc):
    # As a board shows it: the user file's frames, not this module's.
    text = io.StringIO()
    _esp32_console.print_exception(exc, text)
    lines = text.getvalue().split("\n")
    _esp32_console.stdout.write("\n".join(l for l in lines if __file__ not in l))
