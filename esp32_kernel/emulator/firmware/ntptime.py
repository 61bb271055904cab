"""ntptime, the board's frozen module: the time from an NTP server (RFC 5905), one UDP query.

`host` and `timeout` are module settings, as on a board. The emulator's sockets are the
host's, so the query goes out for real; a bench route (`route pool.ntp.org:123 ADDR:PORT`)
can send it to a local server instead.
"""

import socket
import struct
import time as _time

host = "pool.ntp.org"
timeout = 1

_NTP_PORT = 123
_NTP_1900_TO_2000 = 3155673600  # seconds from NTP's epoch (1900) to the board's (2000)
_ERA_FLOOR = 3913056000  # 2024-01-01 in NTP seconds: anything earlier has wrapped into era 1


def time():
    """Seconds since 2000-01-01, as the server's transmit timestamp says."""
    query = bytearray(48)
    query[0] = 0x1B  # leap indicator 0, version 3, mode 3: a client's request
    address = socket.getaddrinfo(host, _NTP_PORT)[0][-1]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        sock.sendto(query, address)
        reply = sock.recv(48)
    finally:
        sock.close()
    seconds = struct.unpack("!I", reply[40:44])[0]  # the transmit timestamp's whole seconds
    if seconds < _ERA_FLOOR:
        seconds += 1 << 32
    return seconds - _NTP_1900_TO_2000


def settime():
    """Set the RTC (and so time.time() and localtime) to the server's time, in UTC."""
    import machine

    year, month, day, hour, minute, second, weekday = _time.gmtime(time())[:7]
    machine.RTC().datetime((year, month, day, weekday + 1, hour, minute, second, 0))
