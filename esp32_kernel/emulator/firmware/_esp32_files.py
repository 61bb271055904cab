"""The board's file system: its host folder, mounted as the whole of `/`.

A stand-in for the ESP32's LittleFS partition. VfsPosix lists entries without sizes, where
a board's file system gives them (mpremote's `fs ls` shows them), so listing adds them.
"""

import os
import vfs

_DIRECTORY = 0x4000
_HIDDEN = ".esp32"


class BoardFolder(vfs.VfsPosix):
    def ilistdir(self, path):
        at_root = path in ("", "/") and os.getcwd() == "/" or path == "/"
        for entry in super().ilistdir(path):
            name, kind, inode = entry[0], entry[1], entry[2]
            if at_root and name == _HIDDEN:
                continue  # the board's NVS and flash image, not part of its file system
            size = 0
            if kind != _DIRECTORY:
                # path is absolute within this file system, or "" for its current folder
                size = self.stat(path.rstrip("/") + "/" + name if path else name)[6]
            yield (name, kind, inode, size)


def mount_board_folder(folder):
    """Make `folder` the whole of `/`: host files are out of reach from then on."""
    os.mount(BoardFolder(folder), "/")
    os.chdir("/")
