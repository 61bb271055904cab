"""`esp32-emulator files BOARD_DIR COMMAND …`: the emulated board's files, from a shell.

ls [PATH], tree, get PATH [HOST_FILE] (to stdout without one), put HOST_FILE_OR_FOLDER [PATH],
mkdir PATH, rm [-r] PATH, df. The board need not run; see flash_files.py for a running one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .flash_files import FlashFiles


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esp32-emulator files",
        description="List, read and write the emulated board's files (the LittleFS on its flash image).",
    )
    parser.add_argument("board_dir", type=Path, help="the board's folder (as given to --board-dir)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ls", help="list a folder").add_argument("path", nargs="?", default="/")
    commands.add_parser("tree", help="every file's path")
    get = commands.add_parser("get", help="copy a board file to the host (or to stdout)")
    get.add_argument("path")
    get.add_argument("host_file", nargs="?", type=Path)
    put = commands.add_parser("put", help="copy a host file or folder onto the board")
    put.add_argument("host_file", type=Path)
    put.add_argument("path", nargs="?", default=None, help="where on the board (default: /NAME)")
    commands.add_parser("mkdir", help="make a folder (and its parents)").add_argument("path")
    rm = commands.add_parser("rm", help="remove a file (a folder with -r)")
    rm.add_argument("-r", "--recursive", action="store_true")
    rm.add_argument("path")
    commands.add_parser("df", help="the file system's size and free space, as os.statvfs('/') says")
    return parser


def files_main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        files = FlashFiles(args.board_dir)
        return _run(files, args)
    except OSError as error:
        print(f"esp32-emulator files: {error}", file=sys.stderr)
        return 1


def _run(files: FlashFiles, args: argparse.Namespace) -> int:
    if args.command == "ls":
        for entry in files.ls(args.path):
            print(f"{'' if entry.is_dir else entry.size:>9} {entry.name}{'/' if entry.is_dir else ''}")
    elif args.command == "tree":
        print("\n".join(files.walk()))
    elif args.command == "get":
        data = files.read(args.path)
        if args.host_file is None:
            sys.stdout.buffer.write(data)
        else:
            args.host_file.write_bytes(data)
    elif args.command == "put":
        target = args.path or "/" + args.host_file.name
        if args.host_file.is_dir():
            print(f"{files.put_tree(args.host_file, target)} file(s) copied to {target}")
        else:
            files.write(target, args.host_file.read_bytes())
    elif args.command == "mkdir":
        files.mkdir(args.path, parents=True)
    elif args.command == "rm":
        files.remove(args.path, recursive=args.recursive)
    elif args.command == "df":
        size, _, total, free = files.statvfs()[:4]
        print(f"{total * size} bytes in {total} blocks of {size}; {free * size} bytes ({free} blocks) free")
    return 0
