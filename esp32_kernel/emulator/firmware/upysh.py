"""upysh, the board's frozen module: shell-like commands for the REPL (`from upysh import *`).

`ls`, `pwd` and `clear` act when shown (typed alone at the prompt); `ls("dir")` lists another
folder; head, cat, cp, mv, rm, mkdir, rmdir, cd, newfile as their names say.
"""

import os


class LS:
    def __repr__(self):
        self.__call__()
        return ""

    def __call__(self, path="."):
        entries = sorted(os.ilistdir(path), key=lambda entry: (entry[1] != 0x4000, entry[0]))
        for entry in entries:  # (name, type, inode, size)
            if entry[1] == 0x4000:
                print("   <dir> %s" % entry[0])
            else:
                print("% 8d %s" % (entry[3], entry[0]))


class PWD:
    def __repr__(self):
        return os.getcwd()

    def __call__(self):
        return self.__repr__()


class CLEAR:
    def __repr__(self):
        return "\x1b[2J\x1b[H"

    def __call__(self):
        return self.__repr__()


def head(f, n=10):
    with open(f) as file:
        for _ in range(n):
            line = file.readline()
            if not line:
                break
            print(line, end="")


def cat(f):
    head(f, 1 << 30)


def cp(s, t):
    if t.endswith("/") or _is_dir(t):
        t = t.rstrip("/") + "/" + s.rsplit("/", 1)[-1]
    with open(s, "rb") as source, open(t, "wb") as target:
        while True:
            chunk = source.read(512)
            if not chunk:
                break
            target.write(chunk)


def newfile(path):
    """Type the file's lines; Ctrl-D (or Ctrl-C) ends it."""
    print("Type file contents line by line, finish with EOF (Ctrl+D).")
    with open(path, "w") as f:
        while True:
            try:
                line = input()
            except EOFError:
                break
            f.write(line + "\n")


def rm(d, recursive=False):
    if not _is_dir(d):
        os.remove(d)
        return
    if recursive:
        for name in os.listdir(d):
            rm(d + "/" + name, True)
    os.rmdir(d)


def _is_dir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except OSError:
        return False


class Man:
    def __repr__(self):
        return """
upysh is intended to be imported using:
from upysh import *

To see this help text again, type "man".

upysh commands:
clear, ls, ls(...), head(...), cat(...), newfile(...)
cp('src', 'dest'), mv('old', 'new'), rm(...)
pwd, cd(...), mkdir(...), rmdir(...)
"""


ls = LS()
pwd = PWD()
clear = CLEAR()
man = Man()
cd = os.chdir
mkdir = os.mkdir
mv = os.rename
rmdir = os.rmdir

print(man)
