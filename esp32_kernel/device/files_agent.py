# The board's half of file transfer (esp32_kernel/files.py is the host's half). Run once
# in RAM when a transfer finds it missing; it becomes the module `_ekf` (sys.modules only,
# nothing in the user's globals). MicroPython code: comments on lines of their own.
#
# Upload, put(path, n, sha, wbits, skip): the host streams n encoded bytes on stdin. Encoding:
# \x10 escapes \x10 as \x10 1 and Ctrl-C as \x10 2 (a Ctrl-C byte would interrupt us);
# \x10 9 aborts. The board writes \x06 when ready (the host may send two windows of 128
# bytes) and \x06 after each 128 bytes it took, \x15 once a write failed (the host then
# sends the abort). The data goes to PATH.part~, is read back and hashed, and only then
# renamed over PATH. With skip, a PATH that has this sha256 already is left alone (=).
#
# Download, get(path, z): the board sends the size as a line, the file with \x10 escaping
# \x10, Ctrl-D (which ends the raw REPL's output) and ':' (reboot marks contain one),
# then \x10 0 and the sha256 of what it read. With z (a board whose deflate can compress)
# and a first block that shrinks, the line is "size z" and the file goes raw-deflated with
# a window of 2**z bytes (escaped the same way).
def _setup():
    import sys, os, io, hashlib, binascii

    try:
        import deflate
    except ImportError:
        deflate = None
    rd = sys.stdin.buffer
    wr = sys.stdout.buffer.write
    E = b"\x10"
    C = 128

    def take(n):
        b = rd.read(n)
        while len(b) < n:
            b += rd.read(n - len(b))
        return b

    # The encoded stream as decoded chunks; acknowledges each block it takes.
    class Src(io.IOBase):
        def __init__(s, n):
            s.n = n
            s.c = b""
            s.p = b""

        def chunk(s):
            if not s.n:
                return b""
            k = min(C, s.n)
            b = s.c + take(k)
            s.n -= k
            wr(b"\x06")
            s.c = b""
            if s.n and b[-1:] == E:
                s.c = E
                b = b[:-1]
            if E in b:
                if E + b"9" in b:
                    # the host's abort: a stop, as a Ctrl-C is
                    raise KeyboardInterrupt
                b = b.replace(E + b"2", b"\x03").replace(E + b"1", E)
            return b

        def readinto(s, buf):
            while not s.p:
                s.p = s.chunk()
                if not s.p and not s.n:
                    return 0
            k = min(len(buf), len(s.p))
            buf[:k] = s.p[:k]
            s.p = s.p[k:]
            return k

    def digest(p):
        h = hashlib.sha256()
        n = 0
        b = bytearray(512)
        with open(p, "rb") as f:
            while True:
                k = f.readinto(b)
                if not k:
                    break
                n += k
                h.update(b if k == 512 else b[:k])
        return binascii.hexlify(h.digest()).decode(), n

    def gone(p):
        try:
            os.remove(p)
        except OSError:
            pass

    # Close and remove the temporary file, whatever stop presses land meanwhile (a stop
    # sends Ctrl-C twice, a reconnect more): each one that lands starts it again.
    def clean(f, t):
        try:
            try:
                f.close()
            except OSError:
                pass
            gone(t)
        except:
            clean(f, t)

    # Rename within one folder, by names relative to it: the unix port's VfsPosix (the
    # emulator) fails a rename whose two paths are both absolute. A FAT file system does
    # not rename over a file: remove it first there.
    def move(t, p):
        d, _, q = p.rpartition("/")
        w = os.getcwd()
        os.chdir(d or "/" if p[:1] == "/" else d or w)
        try:
            try:
                os.rename(t.rpartition("/")[2], q)
            except OSError:
                os.remove(q)
                os.rename(t.rpartition("/")[2], q)
        finally:
            os.chdir(w)

    def put(p, n, sha, wbits, skip):
        if skip and kind(p) == "f" and digest(p)[0] == sha:
            wr(b"=")
            return -1
        t = p + ".part~"
        src = Src(n)
        f = open(t, "wb")
        try:
            wr(b"\x06")
            if wbits:
                data = deflate.DeflateIO(src, deflate.RAW, wbits)
            else:
                data = src
            b = bytearray(512)
            err = None
            while True:
                k = data.readinto(b)
                if not k:
                    break
                try:
                    f.write(b if k == 512 else b[:k])
                except OSError as e:
                    err = e
                    break
            if err:
                wr(b"\x15")
                try:
                    while src.n:
                        src.chunk()
                except KeyboardInterrupt:
                    pass
                raise err
            f.close()
            got = digest(t)
            if got[0] != sha:
                raise ValueError("hash mismatch after writing (%d bytes); %s was not changed" % (got[1], p))
        except:
            # bare, as in clean(): testing the exception's type is a check where a second
            # Ctrl-C could land and escape with the temporary file left behind
            clean(f, t)
            raise
        move(t, p)
        return got[1]

    def send(c):
        if E in c:
            c = c.replace(E, E + b"1")
        if b"\x04" in c:
            c = c.replace(b"\x04", E + b"2")
        if b":" in c:
            c = c.replace(b":", E + b"3")
        wr(c)

    # Deflate output lands in a BytesIO (the compressor writes byte by byte) that is
    # sent and rewound after each block.
    def drain(o):
        k = o.tell()
        if k:
            send(o.getvalue()[:k])
            o.seek(0)

    # Would block c shrink by a tenth under compression? (a small window tells, cheaply)
    def shrinks(c):
        o = io.BytesIO()
        d = deflate.DeflateIO(o, deflate.RAW, 8)
        d.write(c)
        d.close()
        return o.tell() < len(c) * 0.9

    def get(p, z=0):
        n = os.stat(p)[6]
        h = hashlib.sha256()
        b = bytearray(1024)
        o = d = None
        with open(p, "rb") as f:
            k = f.readinto(b)
            c = bytes(b if k == 1024 else b[:k])
            if z and k >= 256 and shrinks(c):
                o = io.BytesIO()
                d = deflate.DeflateIO(o, deflate.RAW, z)
                wr((str(n) + " " + str(z) + "\n").encode())
            else:
                wr(str(n).encode() + b"\n")
            while k:
                h.update(c)
                if d:
                    d.write(c)
                    drain(o)
                else:
                    send(c)
                k = f.readinto(b)
                c = bytes(b if k == 1024 else b[:k])
        if d:
            d.close()
            drain(o)
        wr(E + b"0" + binascii.hexlify(h.digest()))

    def ls(p):
        out = []
        for e in os.ilistdir(p):
            d = e[1] == 0x4000
            if len(e) > 3 and not d:
                z = e[3]
            elif d:
                z = 0
            else:
                z = os.stat(p.rstrip("/") + "/" + e[0])[6]
            out.append((e[0], d, z))
        return out

    def kind(p):
        try:
            return "d" if os.stat(p)[0] & 0x4000 else "f"
        except OSError:
            return ""

    def rm(p, r):
        if kind(p) == "d":
            if not r:
                raise OSError(21)
            for e in os.ilistdir(p):
                rm(p.rstrip("/") + "/" + e[0], r)
            os.rmdir(p)
        else:
            os.remove(p)

    def mkdirs(p):
        q = ""
        for part in p.split("/"):
            if not part:
                if not q:
                    q = "/"
                continue
            q = q.rstrip("/") + "/" + part if q else part
            if kind(q) == "":
                os.mkdir(q)
            elif kind(q) != "d":
                raise OSError(20)

    # Every file under p with its hash: [(path relative to p, sha256 hex, size)].
    def tree(p, r=""):
        out = []
        for e in os.ilistdir(p.rstrip("/") + "/" + r if r else p):
            q = r + "/" + e[0] if r else e[0]
            if e[1] == 0x4000:
                out.extend(tree(p, q))
            else:
                out.append((q,) + digest(p.rstrip("/") + "/" + q))
        return out

    def caps():
        z = deflate is not None and hasattr(deflate, "DeflateIO")
        return {"inflate": z, "deflate": z and hasattr(deflate.DeflateIO, "write"), "sha256": hasattr(hashlib, "sha256")}

    class M:
        pass

    m = M()
    for f in (put, get, ls, kind, rm, mkdirs, tree, caps, digest):
        setattr(m, f.__name__, f)
    sys.modules["_ekf"] = m


_setup()
del _setup
