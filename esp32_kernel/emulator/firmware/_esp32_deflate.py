# The `deflate` module as a v1.24 build with MICROPY_PY_DEFLATE_COMPRESS has it: the unix
# port's own decompressor, plus DeflateIO.write() (compression), which the unix port lacks.
# Installed as sys.modules["deflate"].
#
# The compressor emits what extmod/moddeflate.c with lib/uzlib/lz77.c emits: one final block
# of fixed Huffman codes; for each position the longest match (3..259 bytes, cut at the end
# of the current write()) in the history window of 2**wbits bytes, the oldest one when
# several are as long, else a literal. MicroPython searches the window byte by byte; here a
# hash chain over 3-byte prefixes finds the same match in far fewer steps, since every match
# of 3 bytes or more starts with the same 3 bytes.
from deflate import AUTO, RAW, ZLIB, GZIP
import deflate as _builtin
from array import array
import binascii
import io
import _esp32_errno

DEFAULT_WBITS = 8  # moddeflate.c: when wbits is 0, the smallest window
_MAX_MATCH = 259  # lz77.c's search loop stops one past 258; the encoder splits it
_HASH_BITS = 10


def _mirror(b):
    r = 0
    for _ in range(8):
        r = (r << 1) | (b & 1)
        b >>= 1
    return r


def _log2(x):
    r = 0
    while x > 1:
        x >>= 1
        r += 1
    return r


_MIRROR = None
# code tables, built on first use (a board pays for them only then): literal byte, and
# match length 3..258, -> bits in output order | bit count << 24
_LIT = None
_LEN = None


def _tables():
    global _MIRROR, _LIT, _LEN
    if _LIT is None:
        _MIRROR = bytes([_mirror(i) for i in range(256)])
        _LIT = array("I", [_MIRROR[0x30 + c] | 8 << 24 if c <= 143 else 1 + 2 * _MIRROR[0x90 - 144 + c] | 9 << 24
                           for c in range(256)])
        _LEN = array("I", bytes(4 * 259))
        for n in range(3, 259):
            bits, count = _length_code(n)
            _LEN[n] = bits | count << 24


def _length_code(n):
    # defl_static.c's uzlib_match, length part, for 3 <= n <= 258
    n -= 3
    lcode = 28
    x = _log2(n) if n else 0
    if n < 255:
        if x:
            x -= 1
        lcode = x * 4 + ((n >> (x - 1 if x else 0)) & 3)
    if lcode <= 22:
        bits, count = _MIRROR[(lcode + 1) * 2], 7
    else:
        bits, count = _MIRROR[lcode + 169], 8
    if n < 255 and x > 1:
        extra = x - 1
        bits |= (n - ((n >> extra) << extra)) << count
        count += extra
    return bits, count


def _distance_code(d):
    # ... and its distance part, for 1 <= d <= 32768
    d -= 1
    x = _log2(d) if d else 0
    y = (d >> (x - 1 if x else 0)) & 1
    bits, count = _MIRROR[(x * 2 + y) * 8], 5
    if x > 1:
        extra = x - 1
        bits |= (d - ((d >> extra) << extra)) << count
        count += extra
    return bits, count




class _Compressor:
    def __init__(self, wbits, out):
        _tables()
        self.window = 1 << wbits
        self.out = out  # bytearray the compressed bytes go to
        self.bits = 3  # the block header: final block, fixed Huffman codes
        self.nbits = 3
        self.buf = bytearray()  # the history window, then the current write's bytes
        self.base = 0  # stream position of buf[0]
        self.pos = 0  # stream position of the next byte to encode
        self.inserted = 0  # positions below this are in the hash chains
        # hash chains: head holds the latest position + 1 of each hash (0: none), prev the
        # distance from each position back to the one before it (0: none in the window)
        self.head = array("i", bytes(4 << _HASH_BITS))
        self.prev = array("H", bytes(2 * self.window))

    def _put(self, bits, count):
        bits = self.bits | (bits << self.nbits)
        count += self.nbits
        out = self.out
        while count >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            count -= 8
        self.bits, self.nbits = bits, count

    def compress(self, data):
        buf = self.buf
        buf.extend(data)
        base = self.base
        end = base + len(buf)
        pos = self.pos
        window = self.window
        mask = window - 1
        hmask = (1 << _HASH_BITS) - 1
        head, prev, lit, lens = self.head, self.prev, _LIT, _LEN
        put = self._put
        while pos < end:
            i = pos - base
            left = end - pos
            best = 0
            if left >= 3:
                # enter the history (every byte before pos, as lz77.c pushes them) into the chains
                q = self.inserted
                while q < pos:
                    j = q - base
                    h = ((buf[j] << 8) ^ (buf[j + 1] << 4) ^ buf[j + 2]) & hmask
                    d = q + 1 - head[h]
                    prev[q & mask] = d if d <= window else 0
                    head[h] = q + 1
                    q += 1
                self.inserted = q
                history = min(pos, window)
                limit = left if left < _MAX_MATCH else _MAX_MATCH
                h = ((buf[i] << 8) ^ (buf[i + 1] << 4) ^ buf[i + 2]) & hmask
                p = head[h] - 1
                need = 3
                while p >= 0 and pos - p <= history:
                    k = p - base
                    if buf[k : k + need] == buf[i : i + need]:
                        n = need
                        while n < limit:
                            step = limit - n if limit - n < 16 else 16
                            if buf[k + n : k + n + step] == buf[i + n : i + n + step]:
                                n += step
                            else:
                                while buf[k + n] == buf[i + n]:
                                    n += 1
                                break
                        # newest first: an equal length further back replaces it (the oldest wins)
                        best, at = n, p
                        need = n
                    d = prev[p & mask]
                    if not d:
                        break
                    p -= d
            if best:
                d = pos - at
                db, dn = _distance_code(d)
                n = best
                while n > 0:
                    this = 258 if n > 260 else n if n <= 258 else n - 3
                    n -= this
                    code = lens[this]
                    ln = code >> 24
                    put((code & 0xFFFFFF) | (db << ln), ln + dn)
                pos += best
            else:
                code = lit[buf[i]]
                put(code & 0xFFFFFF, code >> 24)
                pos += 1
        self.pos = pos
        # keep only the window's worth of history
        drop = len(buf) - window
        if drop > 0:
            # positions dropped here are already in the chains or too close to the end to start a match
            q = self.inserted
            while q < end - 2 and q < base + drop:
                j = q - base
                h = ((buf[j] << 8) ^ (buf[j + 1] << 4) ^ buf[j + 2]) & hmask
                d = q + 1 - head[h]
                prev[q & mask] = d if d <= window else 0
                head[h] = q + 1
                q += 1
            self.inserted = q
            self.buf = buf[drop:]
            self.base = base + drop

    def finish(self):
        self._put(0, 14)  # end of block, then zero bits up to a byte


class DeflateIO(io.IOBase):
    """deflate.DeflateIO: reading as the built-in does, writing compressed. A stream, so
    print(file=...), json.dump() and the like can write to it."""

    def __init__(self, stream, format=AUTO, wbits=0, close=False):
        if wbits and not 5 <= wbits <= 15:
            raise ValueError("wbits")
        self._stream = stream
        self._format = format
        self._wbits = wbits
        self._close = close
        self._reader = None
        self._writer = None
        self._length = 0
        self._check = 0

    def _read_side(self):
        if self._reader is None:
            self._reader = _builtin.DeflateIO(self._stream, self._format, self._wbits)
        return self._reader

    def read(self, *n):
        return self._read_side().read(*n)

    def readinto(self, *a):
        return self._read_side().readinto(*a)

    def readline(self, *n):
        return self._read_side().readline(*n)

    def write(self, data):
        if self._stream is None:
            raise OSError(_esp32_errno.EINVAL)
        out = bytearray()
        if self._writer is None:
            wbits = self._wbits or DEFAULT_WBITS
            if self._format == ZLIB:
                cmf = 0x08 | (max(wbits - 8, 1) << 4)
                out.extend(bytes([cmf, 0x80 | (31 - ((cmf * 256 + 0x80) % 31))]))
                self._check = 1
            elif self._format == GZIP:
                out.extend(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\x03")
            self._writer = _Compressor(wbits, out)
        data = data.encode() if isinstance(data, str) else bytes(data)  # a stream write takes str too
        self._length += len(data)
        if self._format == ZLIB:
            self._check = _adler32(data, self._check)
        elif self._format == GZIP:
            self._check = binascii.crc32(data, self._check)
        self._writer.out = out
        self._writer.compress(data)
        if out:
            self._stream.write(out)
        return len(data)

    def close(self):
        if self._stream is None:
            return
        if self._writer is not None:
            out = bytearray()
            self._writer.out = out
            self._writer.finish()
            if self._format == ZLIB:
                out.extend(self._check.to_bytes(4, "big"))
            elif self._format == GZIP:
                out.extend((self._check & 0xFFFFFFFF).to_bytes(4, "little"))
                out.extend((self._length & 0xFFFFFFFF).to_bytes(4, "little"))
            self._stream.write(out)
        if self._reader is not None:
            self._reader.close()
        if self._close and hasattr(self._stream, "close"):
            self._stream.close()
        self._stream = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _adler32(data, value):
    a, b = value & 0xFFFF, value >> 16
    for c in data:
        a = (a + c) % 65521
        b = (b + a) % 65521
    return (b << 16) | a

# It reads as the built-in module: <module 'deflate'>, no __file__.
__name__ = "deflate"
del __file__
