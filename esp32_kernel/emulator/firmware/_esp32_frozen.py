"""The board's frozen modules (esp, esp32, neopixel, dht, onewire, ds18x20…), loaded on import.

On an ESP32 these live in flash and cost heap only once imported. Here they are files of
the firmware folder, out of reach once / is the board's folder: the first import of one
mounts that folder for a moment and imports from it. As on a board (sys.path is
["", ".frozen", "/lib"]), a file of the same name in the current folder is found first.
Tracebacks name the file as a board's do ("neopixel.py").
"""

import builtins
import sys

import os
import vfs

FROZEN = (
    "esp", "esp32", "neopixel", "apa106", "dht", "onewire", "_onewire", "ds18x20", "flashbdev", "inisetup",
    "btree", "ntptime", "upysh", "urequests", "umqtt", "umqtt.simple", "umqtt.robust", "webrepl", "webrepl_setup",
    "espnow", "_espnow", "aioespnow", "bluetooth",
    "_esp32_i2c", "_esp32_uart", "_esp32_spi", "_esp32_socket", "_esp32_vfs", "_esp32_uctypes", "_esp32_sdcard", "_esp32_i2s", "_esp32_lan",
)  # fmt: skip
# Built-in modules of the unix port that a board's differ from: loaded from the firmware on first
# import (under each name), costing heap only then. As on a board, a user's file of the name
# of an extensible module (socket.py) wins.
REPLACED = {"socket": "_esp32_socket", "vfs": "_esp32_vfs", "uctypes": "_esp32_uctypes"}
_EXTENSIBLE = ("socket",)
# The board's built-in modules that the firmware provides (installed at boot, replaced, or
# frozen here): their u-names (`import uos`, `import umachine`) give the very same modules, as
# a board resolves a u-name it lacks to the built-in (the unix port would give its own).
# A user's file of the u-name wins, as on a board.
U_NAMED = ("sys", "time", "os", "errno", "io", "select", "socket", "machine", "network", "esp", "esp32", "bluetooth")
_MOUNT = "/.esp32-firmware"
_firmware_dir = __file__.rsplit("/", 1)[0]
_c_import = builtins.__import__
builtin_import = _c_import  # the unix port's own modules, for the firmware's replacements
_depth = 0
_user_folder = "/"
_replacements = {}  # name → the firmware's module of REPLACED, once imported


def _user_has(name):
    for candidate in (name + ".py", name + ".mpy", name):
        try:
            os.stat(candidate)
            return True
        except OSError:
            pass
    return False


def _import(name, globals=None, locals=None, fromlist=None, level=0):  # None: `import a.b` gives a
    global _depth, _user_folder
    # The C import finds a non-extensible built-in (uctypes) before sys.modules: the firmware's
    # modules are returned from here.
    if not level and name[:1] == "u" and name[1:] in U_NAMED and not _user_has(name):
        if name not in sys.modules:
            sys.modules[name] = _import(name[1:])
        return sys.modules[name]
    if not level and name in REPLACED and (name not in _EXTENSIBLE or _depth or not _user_has(name)):
        if name not in _replacements:  # (sys.modules may hold the unix port's, imported at boot)
            _replacements[name] = sys.modules[name] = _import(REPLACED[name])
        return _replacements[name]
    if level or name not in FROZEN or name in sys.modules or (not _depth and _user_has(name)):
        return _c_import(name, globals, locals, fromlist, level)
    outer = _depth == 0
    if outer:
        cwd = _user_folder = os.getcwd()
        os.mount(vfs.VfsPosix(_firmware_dir), _MOUNT, readonly=True)
        saved_path = sys.path[:]
        sys.path[:] = ["", ".frozen"]  # the firmware folder, and the unix port's frozen modules (requests…)
    _depth += 1
    try:
        if outer:
            os.chdir(_MOUNT)
        return _c_import(name, globals, locals, fromlist, level)
    finally:
        _depth -= 1
        if outer:
            os.chdir(cwd)
            sys.path[:] = saved_path
            os.umount(_MOUNT)


def in_user_folder(function):
    """function() in the folder the import came from: for a frozen module that does its work
    as it is imported (webrepl_setup), since imports run in the firmware's folder."""
    here = os.getcwd()
    os.chdir(_user_folder)
    try:
        return function()
    finally:
        os.chdir(here)


def install():
    import _esp32_supervisor

    if _esp32_supervisor.portable:  # its relative imports need help
        import _esp32_portable

        builtins.__import__ = _esp32_portable.import_hook(_import, _c_import)
    else:
        builtins.__import__ = _import
