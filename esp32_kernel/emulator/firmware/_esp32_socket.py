"""The `socket` module as an ESP32 under MicroPython v1.24 has it (ports/esp32/modsocket.c).

The host's sockets carry the data (the unix port's), but addresses read as a board's:
bind/connect/sendto take (host, port) and resolve the host, getaddrinfo's last item is
("a.b.c.d", port), accept/recvfrom give ("a.b.c.d", port). The bench can route a host and
port elsewhere (a local test server for pool.ntp.org:123, say). Constants and option numbers are
lwIP's, turned into Linux's on the way down; errnos are turned into newlib's (the board's
`errno` module, which `from errno import EINPROGRESS` in asyncio reads). Installed as
sys.modules["socket"] on first import, `usocket` too (firmware/_esp32_frozen.py).
"""

import io

import _esp32_bench
from _esp32_frozen import builtin_import

_unix = builtin_import("socket")

# lwIP's numbers, as code on a board sees them.
AF_INET = 2
AF_INET6 = 10
SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
IPPROTO_IP = 0
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 0xFFF
SO_REUSEADDR = 0x0004
SO_BROADCAST = 0x0020
SO_BINDTODEVICE = 0x100B
IP_ADD_MEMBERSHIP = 3
TCP_NODELAY = 0x01
MSG_PEEK = 0x01
MSG_DONTWAIT = 0x08

# setsockopt looks at the option alone, as modsocket.c does: lwIP option -> Linux (level, option).
_OPTIONS = {SO_REUSEADDR: (1, 2), SO_BROADCAST: (1, 6), TCP_NODELAY: (6, 1), IP_ADD_MEMBERSHIP: (0, 35)}
_LINUX_AF = {AF_INET: 2, AF_INET6: 10}
# Linux errnos that newlib numbers differently (the rest agree).
_ERRNO = {98: 112, 103: 113, 106: 127, 107: 128, 110: 116, 113: 118, 114: 120, 115: 119}
_STREAM_GET_FILENO = 10


def _board_error(exc):
    code = exc.errno if isinstance(exc.errno, int) else None
    return OSError(_ERRNO[code]) if code in _ERRNO else exc


def _resolve(host, port, family=0, type=0, proto=0, flags=0):
    """The host's addrinfo for (host, port), failing with a board's OSError (-2 unknown)."""
    if not isinstance(port, int):
        port = int(port)  # a board takes the port as a str too ("80")
    if host == "":
        host = "0.0.0.0"
    routed = _esp32_bench.call("route", _esp32_bench.text(host), port)
    if routed:  # the bench sends this name and port elsewhere (`route` on the control channel)
        host, port = routed
    try:
        found = _unix.getaddrinfo(host, port, _LINUX_AF.get(family, 2), type or SOCK_STREAM, proto, flags)
    except OSError:
        raise OSError(-2)  # modsocket.c: "name or service not known"
    if not found:
        raise OSError(-2)
    return found


def _sockaddr(address):
    # mp_obj_get_array_fixed_n's errors, as a board raises them
    if not isinstance(address, (tuple, list)):
        raise TypeError("object '%s' isn't a tuple or list" % type(address).__name__)
    if len(address) != 2:
        raise ValueError("requested length 2 but object has length %d" % len(address))
    return _resolve(address[0], address[1])[0][-1]


def _address(raw):
    # netutils_format_inet_addr: ("a.b.c.d", port)
    family, ip, port = _unix.sockaddr(raw)[:3]
    return (_unix.inet_ntop(family, ip), port)


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    result = []
    for info in _resolve(host, port, family, type, proto, flags):
        if info[0] == 2:
            # lwIP echoes the requested type and gives the host name as canonname
            result.append((AF_INET, type or SOCK_STREAM, proto, host, _address(info[-1])))
            break  # one address per name, as lwIP's resolver returns
    return result


class socket(io.IOBase):
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0, _sock=None):
        if _sock is None:
            try:
                _sock = _unix.socket(_LINUX_AF.get(af, af), type, proto)
            except OSError as exc:
                raise _board_error(exc)
        self._sock = _sock

    def __repr__(self):
        return "<socket>"

    def _call(self, method, *args):
        try:
            return method(*args)
        except OSError as exc:
            raise _board_error(exc)

    def bind(self, address):
        self._call(self._sock.bind, _sockaddr(address))

    def listen(self, backlog=2):
        self._call(self._sock.listen, max(0, backlog))

    def accept(self):
        client, raw = self._call(self._sock.accept)
        return socket(_sock=client), _address(raw)

    def connect(self, address):
        self._call(self._sock.connect, _sockaddr(address))

    def send(self, data):
        return self._call(self._sock.send, data)

    def sendall(self, data):
        return self._call(self._sock.sendall, data)

    def sendto(self, data, address):
        return self._call(self._sock.sendto, data, _sockaddr(address))

    def recv(self, size, flags=0):
        return self._call(self._sock.recv, size, _linux_flags(flags))

    def recvfrom(self, size, flags=0):
        data, raw = self._call(self._sock.recvfrom, size, _linux_flags(flags))
        return data, _address(raw)

    def setsockopt(self, level, option, value):
        if option not in _OPTIONS:
            print("Warning: lwip.setsockopt() option not implemented")
            return
        linux_level, linux_option = _OPTIONS[option]
        self._call(self._sock.setsockopt, linux_level, linux_option, value)

    def settimeout(self, value):
        self._sock.settimeout(value)

    def setblocking(self, flag):
        self._sock.setblocking(flag)

    def makefile(self, *args, **kwargs):
        return self

    def fileno(self):
        return self._sock.fileno()

    def read(self, *size):
        return self._call(self._sock.read, *size)

    def readinto(self, buf, *size):
        return self._call(self._sock.readinto, buf, *size)

    def readline(self, *size):
        return self._call(self._sock.readline, *size)

    def write(self, data, *args):
        return self._call(self._sock.write, data, *args)

    def ioctl(self, request, arg):
        # What select.poll and asyncio ask a stream: its file descriptor, polled by the host.
        if request == _STREAM_GET_FILENO:
            return self._sock.fileno()
        return -1

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _linux_flags(flags):
    return (2 if flags & MSG_PEEK else 0) | (0x40 if flags & MSG_DONTWAIT else 0)


# It reads as the built-in module: <module 'socket'>, no __file__.
__name__ = "socket"
del __file__
