"""btree, as MicroPython v1.24 has it (extmod/modbtree.c): a sorted key/value database in a stream.

The API and its semantics are the board's: bytes keys in byte order, `keys/values/items(start,
end, flags)` with INCL and DESC, `seq`, KeyError, writes reaching the stream at flush() and
close(). The file format is not: a board's is Berkeley DB 1.85's pages; this one is the whole
database, rewritten at each flush, so a database file does not move between the emulator and a
board (the README's list of differences says so).
"""

import struct

INCL = 1
DESC = 2
_KEYS, _VALUES, _ITEMS = 0x40, 0x80, 0xC0
# Berkeley DB's sequence flags, which seq() takes
_R_CURSOR, _R_FIRST, _R_LAST, _R_NEXT, _R_PREV = 1, 3, 6, 7, 9
_MAGIC = b"esp32-kernel btree 1"
_HEADER = len(_MAGIC) + 4  # the magic and the record count: 24 bytes
_EFTYPE = 79  # newlib's "Inappropriate file type or format", as __bt_open fails with


def _readinto(stream, buf):
    """Bytes read into buf; a stream's negative answer is its error, as the stream layer raises it."""
    n = stream.readinto(buf)
    if n is not None and n < 0:
        raise OSError(-n)
    return n or 0


def _seek(stream, offset):
    if hasattr(stream, "seek"):
        stream.seek(offset)
        return
    answer = stream.ioctl(2, offset)  # MP_STREAM_SEEK, for a stream that has only ioctl
    if answer is not None and answer < 0:
        raise OSError(-answer)


def _bytes(data):
    return data.encode() if isinstance(data, str) else bytes(data)


class _BTree:
    def __init__(self, stream):
        self._stream = stream
        self._keys = []  # sorted
        self._values = {}
        self._cursor = -1
        self._next = 0  # what the next iter() walks (set by keys/values/items)
        self._start = self._end = None
        self._load()

    def _load(self):
        """Read the database from the stream: our header (24 bytes, as a Berkeley DB meta page's
        first read), then the records. An empty stream is a new database."""
        header = bytearray(_HEADER)
        if not _readinto(self._stream, header):
            _seek(self._stream, 0)
            return
        if header[: len(_MAGIC)] != _MAGIC:
            raise OSError(_EFTYPE)
        data = bytearray(header)
        chunk = bytearray(512)
        while True:
            n = _readinto(self._stream, chunk)
            if not n:
                break
            data += chunk[:n]
        at = len(_MAGIC)
        (count,) = struct.unpack_from("<I", data, at)
        at += 4
        for _ in range(count):
            klen, vlen = struct.unpack_from("<II", data, at)
            at += 8
            key = bytes(data[at : at + klen])
            self._keys.append(key)
            self._values[key] = bytes(data[at + klen : at + klen + vlen])
            at += klen + vlen

    def __repr__(self):
        return "<btree %x>" % (id(self) if self._stream is not None else 0)

    def _open(self):
        if self._stream is None:  # closed: every operation is a ValueError, as modbtree.c's
            raise ValueError

    def _index(self, key):
        """Where key is, or would go, in the sorted keys."""
        low, high = 0, len(self._keys)
        while low < high:
            middle = (low + high) // 2
            if self._keys[middle] < key:
                low = middle + 1
            else:
                high = middle
        return low

    def flush(self):
        self._open()
        stream = self._stream
        _seek(stream, 0)
        stream.write(_MAGIC + struct.pack("<I", len(self._keys)))
        for key in self._keys:
            value = self._values[key]
            stream.write(struct.pack("<II", len(key), len(value)))
            stream.write(key)
            stream.write(value)
        stream.flush()
        return 0

    def close(self):
        if self._stream is None:
            return 0
        self.flush()
        self._stream = None
        return 0

    def put(self, key, value, flags=None):
        self[key] = value
        return 0

    def get(self, key, default=None):
        self._open()
        return self._values.get(_bytes(key), default)

    def seq(self, flags, key=None):
        self._open()
        if flags == _R_FIRST:
            self._cursor = 0
        elif flags == _R_LAST:
            self._cursor = len(self._keys) - 1
        elif flags == _R_CURSOR:
            self._cursor = self._index(_bytes(key))
        elif flags == _R_NEXT:
            self._cursor += 1
        elif flags == _R_PREV:
            self._cursor -= 1
        else:
            raise OSError(22)  # EINVAL
        if not 0 <= self._cursor < len(self._keys):
            return None
        found = self._keys[self._cursor]
        return (found, self._values[found])

    def __getitem__(self, key):
        self._open()
        value = self._values.get(_bytes(key))
        if value is None:
            raise KeyError  # with no argument, as modbtree.c raises it
        return value

    def __setitem__(self, key, value):
        self._open()
        key, value = _bytes(key), _bytes(value)
        if key not in self._values:
            self._keys.insert(self._index(key), key)
        self._values[key] = value

    def __delitem__(self, key):
        self._open()
        key = _bytes(key)
        if self._values.pop(key, None) is None:
            raise KeyError
        self._keys.pop(self._index(key))

    def __contains__(self, key):
        self._open()
        return _bytes(key) in self._values

    def _walk(self, mode, start, end, flags):
        self._next = mode | flags
        self._start, self._end = start, end
        return self

    def keys(self, start=None, end=None, flags=0):
        return self._walk(_KEYS, start, end, flags)

    def values(self, start=None, end=None, flags=0):
        return self._walk(_VALUES, start, end, flags)

    def items(self, start=None, end=None, flags=0):
        return self._walk(_ITEMS, start, end, flags)

    def __iter__(self):
        self._open()
        flags = self._next or _KEYS
        if not self._next:
            self._start = self._end = None
        self._next = 0
        desc = flags & DESC
        start, end = self._start, self._end
        if start is not None:
            self._cursor = self._index(_bytes(start))  # the first key >= start, either way
        else:
            self._cursor = len(self._keys) - 1 if desc else 0
        end = None if end is None else _bytes(end)
        while 0 <= self._cursor < len(self._keys):
            key = self._keys[self._cursor]
            if end is not None:
                past = (key < end) if desc else (key > end)
                if past or (key == end and not flags & INCL):
                    return
            value = self._values[key]
            kind = flags & _ITEMS
            yield key if kind == _KEYS else value if kind == _VALUES else (key, value)
            self._cursor += -1 if desc else 1


def open(stream, *, flags=0, cachesize=0, pagesize=0, minkeypage=0):
    if not hasattr(stream, "readinto"):
        raise OSError(95)  # EOPNOTSUPP: not a stream, as mp_get_stream_raise says
    if pagesize and (not 512 <= pagesize <= 65536 or pagesize & (pagesize - 1)):
        raise OSError(22)  # EINVAL: Berkeley DB's pages are a power of two, 512 B to 64 KiB
    return _BTree(stream)
