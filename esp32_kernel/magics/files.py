"""%ls, %cat, %put, %get, %rm, %mkdir, %df, %%writefile, %sync, %mount, %umount: the board's files.

Host paths that are written (%get's LOCAL) must lie inside the notebook's folder unless
--force is given; board paths reach the board as string literals (esp32_kernel/files.py).
"""

from __future__ import annotations

import posixpath
import sys
import time
from pathlib import Path

from IPython.core.magic import cell_magic, line_magic, magics_class

from ..files import BoardFiles, FileError, board_path, write_local
from ..mount import MOUNT_POINT, MountServer, board_mounted, mount, unmount
from .base import KernelMagics, MagicParser, parse_line

PROGRESS_AFTER = 1.0  # seconds: shorter transfers show no progress bar
HOST_WRITEFILE = "host_writefile"  # IPython's own %%writefile, for files on this computer


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


class TextProgress:
    """A one-line progress bar, redrawn with \\r, shown only once a transfer passes a second."""

    def __init__(self, label: str, out=None) -> None:
        self.label = label
        self.out = out or sys.stdout
        self.started = time.monotonic()
        self.shown = False
        self._last_draw = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.started < PROGRESS_AFTER or now - self._last_draw < 0.2:
            return
        self._last_draw = now
        self.shown = True
        fraction = min(1.0, done / total) if total else 0.0
        bar = "#" * int(fraction * 24)
        rate = done / max(now - self.started, 1e-6)
        self.out.write(f"\r{self.label} [{bar:<24}] {fraction:4.0%} {_size(done)}/{_size(total)} {_size(int(rate))}/s")
        self.out.flush()

    def close(self) -> None:
        if self.shown:
            self.out.write("\n")
            self.out.flush()


def _parser(prog: str, *arguments: tuple[tuple, dict]) -> MagicParser:
    parser = MagicParser(prog=prog, add_help=False)
    for names, options in arguments:
        parser.add_argument(*names, **options)
    return parser


_ls = _parser("ls", (("-l",), {"action": "store_true", "dest": "long"}), (("path",), {"nargs": "?", "default": "/"}))
_cat = _parser("cat", (("path",), {}))
_put = _parser("put", (("local",), {}), (("remote",), {"nargs": "?"}))
_get = _parser("get", (("remote",), {}), (("local",), {"nargs": "?"}), (("--force",), {"action": "store_true"}))
_rm = _parser("rm", (("-r",), {"action": "store_true", "dest": "recursive"}), (("paths",), {"nargs": "+"}))
_mkdir = _parser("mkdir", (("paths",), {"nargs": "+"}))
_df = _parser("df", (("path",), {"nargs": "?", "default": "/"}))
_writefile = _parser("writefile", (("-a", "--append"), {"action": "store_true"}), (("path",), {}))
_mount = _parser("mount", (("local",), {"nargs": "?"}), (("--readonly",), {"action": "store_true"}))
_umount = _parser("umount")
_sync = _parser("sync", (("local",), {}), (("remote",), {"nargs": "?", "default": "/"}), (("--delete",), {"action": "store_true"}))


def host_writefile_transform(lines: list[str]) -> list[str]:
    """In a %%host cell, %%writefile stays IPython's (a file on this computer)."""
    if len(lines) > 1 and lines[0].strip() == "%%host" and lines[1].lstrip().startswith("%%writefile"):
        return [lines[0], lines[1].replace("%%writefile", "%%" + HOST_WRITEFILE, 1), *lines[2:]]
    return lines


@magics_class
class FileMagics(KernelMagics):
    def __init__(self, shell, kernel) -> None:
        super().__init__(shell, kernel)
        self.notebook_dir = Path.cwd().resolve()  # the kernel starts in the notebook's folder
        self._mount: MountServer | None = None  # what %mount serves, on the board it was made for
        # IPython's %%writefile stays reachable: as %%host_writefile, and in %%host cells.
        from IPython.core.magics.osm import OSMagics  # IPython loads it lazily

        os_magics = shell.magics_manager.registry.get("OSMagics") or OSMagics(shell)
        shell.register_magic_function(os_magics.writefile, "cell", HOST_WRITEFILE)
        transforms = shell.input_transformer_manager.cleanup_transforms
        if host_writefile_transform not in transforms:
            transforms.insert(0, host_writefile_transform)

    def _files(self) -> BoardFiles:
        self.kernel.wait_for_start_up()  # the start-up connection may still be under way
        return BoardFiles(self.kernel.boards.current())

    def _local_target(self, path: Path, force: bool) -> Path:
        resolved = path.expanduser().resolve()
        if not force and not resolved.is_relative_to(self.notebook_dir):
            raise FileError(f"{path} is outside the notebook's folder ({self.notebook_dir}); add --force to write there", "EACCES")
        return resolved

    # Listing and reading ----------------------------------------------------------------

    @line_magic
    def ls(self, line: str) -> None:
        """%ls [-l] [PATH] — the board's files (folders end in /); -l adds sizes."""
        args = parse_line(_ls, line)
        self._ls(args.path, args.long)

    def _ls(self, path: str, long: bool) -> None:
        entries = self._files().ls(path)
        if not entries:
            print(f"({board_path(path)} is empty)")
        for entry in entries:
            name = entry.name + ("/" if entry.is_dir else "")
            print(f"{'' if entry.is_dir else entry.size:>9}  {name}" if long else name)

    @line_magic
    def cat(self, line: str) -> None:
        """%cat PATH — show a board file (text)."""
        args = parse_line(_cat, line)
        self._cat(args.path)

    def _cat(self, path: str) -> None:
        data = self._files().get_bytes(path)
        try:
            text = data.decode()
        except UnicodeDecodeError:
            print(f"{board_path(path)} is a binary file ({_size(len(data))}); %get copies it to this computer")
            return
        print(text, end="" if text.endswith("\n") or not text else "\n")

    @line_magic
    def df(self, line: str) -> None:
        """%df [PATH] — size and free space of the board's file system."""
        args = parse_line(_df, line)
        self._df(args.path)

    def _df(self, path: str) -> None:
        size, free = self._files().df(path)
        used = size - free
        print(f"{board_path(path)}: {_size(size)}, {_size(used)} used, {_size(free)} free ({used / size:.0%} used)" if size
              else f"{board_path(path)}: size unknown")  # fmt: skip

    # Copying ----------------------------------------------------------------------------

    @line_magic
    def put(self, line: str) -> None:
        """%put LOCAL [REMOTE] — copy a file from this computer to the board (atomic, checked by sha256)."""
        args = parse_line(_put, line)
        self._put(args.local, args.remote)

    def _put(self, local: str, remote: str | None) -> None:
        source = Path(local).expanduser()
        if source.is_dir():
            raise FileError(f"{local} is a folder: %sync {local} REMOTEDIR copies a folder")
        data = source.read_bytes()
        files = self._files()
        if remote is None:
            remote = source.name
        elif remote.endswith("/") or files.kind(remote) == "d":
            remote = posixpath.join(remote, source.name)
        progress = TextProgress(f"put {source.name}")
        try:
            done = files.put_bytes(data, remote, progress)
        finally:
            progress.close()
        if done.skipped:
            print(f"{done.path} on the board already has this content (same sha256); left as it was.")
        else:
            print(f"Copied {local} → {done.path} on the board ({_size(done.size)} in {done.seconds:.2f} s, sha256 checked).")

    @line_magic
    def get(self, line: str) -> None:
        """%get REMOTE [LOCAL] [--force] — copy a board file here (inside the notebook's folder unless --force)."""
        args = parse_line(_get, line)
        self._get(args.remote, args.local, args.force)

    def _get(self, remote: str, local: str | None, force: bool) -> None:
        remote = board_path(remote)
        target = Path(local) if local else Path(posixpath.basename(remote))
        if target.is_dir():
            target = target / posixpath.basename(remote)
        target = self._local_target(target, force)
        started = time.monotonic()
        progress = TextProgress(f"get {posixpath.basename(remote)}")
        try:
            data = self._files().get_bytes(remote, progress)
        finally:
            progress.close()
        write_local(target, data)
        shown = target.relative_to(self.notebook_dir) if target.is_relative_to(self.notebook_dir) else target
        print(f"Copied {remote} → {shown} ({_size(len(data))} in {time.monotonic() - started:.2f} s, sha256 checked).")

    @cell_magic
    def writefile(self, line: str, cell: str) -> None:
        """%%writefile [-a] PATH — the cell's text becomes the board file PATH (-a appends).

        (IPython's %%writefile, for files on this computer, is %%host_writefile.)"""
        args = parse_line(_writefile, line)
        self._writefile(args.path, cell, args.append)

    def _writefile(self, path: str, cell: str, append: bool) -> None:
        files = self._files()
        data = cell.encode()
        if append and files.kind(path) == "f":
            data = files.get_bytes(path) + data
        done = files.put_bytes(data, path, skip_same=False)
        print(f"{'Appended to' if append else 'Wrote'} {done.path} on the board ({_size(done.size)}).")

    @line_magic
    def sync(self, line: str) -> None:
        """%sync LOCALDIR [REMOTEDIR] [--delete] — send the files that differ (by sha256); --delete removes board files LOCALDIR lacks."""
        args = parse_line(_sync, line)
        self._sync(args.local, args.remote, args.delete)

    def _sync(self, local: str, remote: str, delete: bool) -> None:
        started = time.monotonic()
        files = self._files()
        report = files.sync(Path(local).expanduser(), remote, delete=delete, on_file=lambda what, rel: print(f"  {what} {rel}"))
        parts = [f"{len(report['sent'])} sent", f"{len(report['same'])} unchanged"]
        if delete:
            parts.append(f"{len(report['deleted'])} deleted")
        print(f"Synced {local} → {board_path(remote)}: {', '.join(parts)} ({time.monotonic() - started:.2f} s).")

    # Removing and creating --------------------------------------------------------------

    @line_magic
    def rm(self, line: str) -> None:
        """%rm [-r] PATH… — remove board files (-r: folders with everything in them)."""
        args = parse_line(_rm, line)
        for path in args.paths:
            self._files().rm(path, args.recursive)
            print(f"Removed {board_path(path)}.")

    @line_magic
    def mkdir(self, line: str) -> None:
        """%mkdir PATH… — make board folders (and their parents)."""
        args = parse_line(_mkdir, line)
        for path in args.paths:
            self._files().mkdir(path)
            print(f"Made {board_path(path)}/ on the board.")

    # A folder of this computer on the board ---------------------------------------------

    @line_magic("mount")
    def mount_folder(self, line: str) -> None:
        """%mount [LOCALDIR] [--readonly] — LOCALDIR (on this computer) becomes the board's /remote
        and its current folder, served over the link while code runs: `import x` finds
        LOCALDIR/x.py, open() reads and writes its files. A reset of the board unmounts it.
        Without LOCALDIR: what is mounted."""
        args = parse_line(_mount, line)
        self._mount_folder(args.local, args.readonly)

    def _mount_folder(self, local: str | None, readonly: bool) -> None:
        self.kernel.wait_for_start_up()
        board = self.kernel.boards.current()
        current = self._mount if self._mount is not None and self._mount.board is board else None
        if local is None:
            if current is not None and board_mounted(board):
                mode = " (read-only)" if current.readonly else ""
                print(f"{current.root} is mounted at {MOUNT_POINT} on the board{mode}.")
            elif current is not None:
                print(f"Nothing is mounted: the board was reset since %mount {current.root}, which unmounted {MOUNT_POINT}.")
            else:
                print("Nothing is mounted (%mount LOCALDIR mounts a folder of this computer at /remote).")
            return
        self._mount = mount(board, local, readonly)
        mode = ", read-only" if readonly else ""
        print(f"Mounted {self._mount.root} at {MOUNT_POINT} on the board{mode}; the board's current folder is"
              f" now {MOUNT_POINT}, so `import x` finds x.py there. %umount unmounts; a reset of the board does too.")

    @line_magic("umount")
    def umount_folder(self, line: str) -> None:
        """%umount — unmount the folder %mount put at /remote (the board's current folder goes back to /)."""
        parse_line(_umount, line)
        self._umount_folder()

    def _umount_folder(self) -> None:
        self.kernel.wait_for_start_up()
        board = self.kernel.boards.current()
        server = self._mount if self._mount is not None and self._mount.board is board else None
        self._mount = None
        if unmount(board, server):
            print(f"Unmounted {server.root if server else 'the folder'} from {MOUNT_POINT}; the board's current folder is / again.")
        elif server is not None:
            print(f"Nothing to unmount: the board was reset since %mount {server.root}, which unmounted {MOUNT_POINT}.")
        else:
            print(f"Nothing is mounted at {MOUNT_POINT}.")
