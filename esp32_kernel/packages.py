"""`mip install` from the host: micropython-lib packages for boards without WiFi.

The host reads the package index (mip's v2 layout: `INDEX/package/{mpy|py}/NAME/VERSION.json`
listing files by short sha256, served from `INDEX/file/xx/HASH`), checks every file against
its hash, and writes it to the board with files.BoardFiles (atomic, verified; a file the
board has already is left alone). Dependencies are followed as mip does.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from .files import BoardFiles, FileError

DEFAULT_INDEX = "https://micropython.org/pi/v2"
FETCH_TIMEOUT = 30


class PackageError(FileError):
    pass


@dataclass
class Installed:
    packages: list[str] = field(default_factory=list)  # name@version, in install order
    files: list[str] = field(default_factory=list)  # board paths written
    same: list[str] = field(default_factory=list)  # board paths already up to date


def split_spec(spec: str) -> tuple[str, str]:
    name, _, version = spec.partition("@")
    return name, version or "latest"


def fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as e:
        raise PackageError(f"{url}: {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise PackageError(f"could not fetch {url}: {getattr(e, 'reason', e)}") from None


def board_target(files: BoardFiles) -> str:
    """Where mip installs by default: the first sys.path entry ending in /lib."""
    paths = files.board.eval("__import__('sys').path")
    for path in paths if isinstance(paths, list) else []:
        if isinstance(path, str) and path.endswith("/lib"):
            return path
    return "/lib"


def mpy_version(files: BoardFiles) -> str:
    """The .mpy format the board loads, as the index names it ('6'), or 'py'."""
    value = files.board.eval("getattr(__import__('sys').implementation, '_mpy', None)")
    return str(value & 0xFF) if isinstance(value, int) else "py"


def install(files: BoardFiles, spec: str, *, index: str = DEFAULT_INDEX, target: str | None = None,
            mpy: bool = True, say: Callable[[str], None] = print) -> Installed:  # fmt: skip
    index = index.rstrip("/")
    target = target or board_target(files)
    flavour = mpy_version(files) if mpy else "py"
    done = Installed()
    seen: set[str] = set()
    made: set[str] = set()

    def one(name: str, version: str) -> None:
        if name in seen:
            return
        seen.add(name)
        if name.startswith(("http://", "https://", "github:", "gitlab:")):
            raise PackageError(f"{name}: installing from a URL or a repository needs mip on the board (--on-board)")
        url = f"{index}/package/{flavour}/{name}/{version}.json"
        try:
            package = json.loads(fetch(url))
        except PackageError as e:
            raise PackageError(f"package {name}@{version} not found in {index} ({e})") from None
        except ValueError:
            raise PackageError(f"{url} is not a package description (JSON)") from None
        say(f"Installing {name} {package.get('version', version)} to {target}")
        for path, short_hash in package.get("hashes", ()):
            data = fetch(f"{index}/file/{short_hash[:2]}/{short_hash}")
            if not hashlib.sha256(data).hexdigest().startswith(short_hash):
                raise PackageError(f"{path} from {index} does not match its hash {short_hash}; nothing more was installed")
            write(path, data)
        for path, file_url in package.get("urls", ()):
            write(path, fetch(file_url))
        done.packages.append(f"{name}@{package.get('version', version)}")
        for dependency, dependency_version in package.get("deps", ()):
            one(dependency, dependency_version or "latest")

    def write(path: str, data: bytes) -> None:
        board_file = posixpath.join(target, path)
        folder = posixpath.dirname(board_file)
        if folder not in made:
            files.mkdir(folder)
            made.add(folder)
        (done.same if files.put_bytes(data, board_file).skipped else done.files).append(board_file)

    one(*split_spec(spec))
    return done
