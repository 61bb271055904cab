# `errno` with an ESP32's numbers (newlib's, not Linux's). Installed as sys.modules["errno"].
EPERM = 1
ENOENT = 2
EIO = 5
EBADF = 9
EAGAIN = 11
ENOMEM = 12
EACCES = 13
EEXIST = 17
ENOTDIR = 20
ENODEV = 19
EISDIR = 21
EINVAL = 22
ENOSPC = 28
EROFS = 30
EOPNOTSUPP = 95
ECONNRESET = 104
ENOBUFS = 105
ECONNREFUSED = 111
EADDRINUSE = 112
ECONNABORTED = 113
ETIMEDOUT = 116
EHOSTUNREACH = 118
EINPROGRESS = 119
EALREADY = 120
ENOTCONN = 128


import _esp32_supervisor

if _esp32_supervisor.portable:
    # The portable core's C code raises WASI's numbers (ENOENT is 44 there, and 2 is its
    # EACCES) and prints the names of some from its own table: the names stay right only
    # with its numbers, so errno gives those (wasi-libc's errno.h), and comparisons with
    # errno.ENOENT hold. The README lists this among the portable core's differences.
    EPERM, ENOENT, EIO, EBADF, EAGAIN, ENOMEM, EACCES, EEXIST, ENOTDIR = 63, 44, 29, 8, 6, 48, 2, 20, 54
    ENODEV, EISDIR, EINVAL, ENOSPC, EROFS, EOPNOTSUPP, ECONNRESET = 43, 31, 28, 51, 69, 58, 15
    ENOBUFS, ECONNREFUSED, EADDRINUSE, ECONNABORTED, ETIMEDOUT = 42, 14, 3, 13, 73
    EHOSTUNREACH, EINPROGRESS, EALREADY, ENOTCONN = 23, 26, 7, 53


class _FixedDict(dict):
    # A board's errorcode is a ROM dict: changing it raises TypeError (mp_ensure_not_fixed).
    def _fixed(self, *args, **kwargs):
        raise TypeError

    __setitem__ = __delitem__ = pop = popitem = setdefault = update = clear = _fixed


errorcode = _FixedDict({v: k for k, v in globals().items() if k.startswith("E") and isinstance(v, int)})

# It reads as the built-in module: <module 'errno'>, no __file__.
__name__ = "errno"
del __file__
