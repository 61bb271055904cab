"""Whose program is at the other end of a connection to the emulator.

An emulated board listens on loopback, where every user of the computer can connect: on a
JupyterHub whose students are users of one server, any of them could take another's board.
Linux tells who owns each TCP socket (/proc/net/tcp and tcp6), so the emulator serves its
own user's programs (and root's) only. Where the system does not say (macOS, Windows),
every local program is served, as a USB board is served to whoever opens its port.
"""

from __future__ import annotations

import ipaddress
import os
import sys

_TABLES = {4: "/proc/net/tcp", 6: "/proc/net/tcp6"}


def _proc_address(host: str, port: int) -> str:
    """An address as /proc/net/tcp writes it: the IP as 32-bit words in the host's byte
    order, then the port, in hex."""
    packed = ipaddress.ip_address(host.split("%")[0]).packed
    words = [packed[i : i + 4] for i in range(0, len(packed), 4)]
    return "".join((w if sys.byteorder == "big" else w[::-1]).hex().upper() for w in words) + f":{port:04X}"


def owner(ours: tuple, theirs: tuple) -> int | None:
    """The uid of the socket at address `theirs` connected to ours, None if unknown."""
    table = _TABLES[ipaddress.ip_address(theirs[0].split("%")[0]).version]
    wanted = (_proc_address(*theirs[:2]), _proc_address(*ours[:2]))
    try:
        with open(table) as rows:
            next(rows)  # the header
            for row in rows:
                fields = row.split()
                if (fields[1], fields[2]) == wanted:
                    return int(fields[7])
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return None


def refused(sock_ours: tuple, sock_theirs: tuple) -> str | None:
    """Why a client is refused (a message for it), or None to serve it."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: nothing to ask
        return None
    uid = owner(sock_ours, sock_theirs)
    if uid is None or uid in (getuid(), 0):
        return None
    return "this emulated ESP32 belongs to another user of this computer: start your own (%connect emulator)"
