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

if _esp32_supervisor.portable:  # its numbers are WASI's (_esp32_portable.py)
    from _esp32_portable import ERRNO

    globals().update(ERRNO)
    del ERRNO


class _FixedDict(dict):
    # A board's errorcode is a ROM dict: changing it raises TypeError (mp_ensure_not_fixed).
    def _fixed(self, *args, **kwargs):
        raise TypeError

    __setitem__ = __delitem__ = pop = popitem = setdefault = update = clear = _fixed


errorcode = _FixedDict({v: k for k, v in globals().items() if k.startswith("E") and isinstance(v, int)})

# It reads as the built-in module: <module 'errno'>, no __file__.
__name__ = "errno"
del __file__
