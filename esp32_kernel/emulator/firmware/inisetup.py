"""inisetup, the board's frozen module: the first boot's set-up, which the emulator's boot runs
too (firmware/_esp32_files.py). Called on a board that has its files, check_bootsec() reports
them as a corrupted file system until Ctrl-C, as on a board."""

from _esp32_files import check_bootsec, fs_corrupted, initial_setup


def setup():
    check_bootsec()
    return initial_setup()
