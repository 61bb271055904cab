# The board's half of %mount (esp32_kernel/mount.py is the host's half): a file system
# object mounted at /remote whose every operation is a request to the kernel over the
# running code's own link. Run once in RAM by %mount; it becomes the module `_ekm`.
# MicroPython code: comments on lines of their own.
#
# A request is a frame on stdout: \x1e M OP ARG.. \x1f, each ARG base64 (frames hold no
# newline, and base64 has no ':' that could look like a reboot mark). The kernel answers on
# stdin: \x18, "STATUS LENGTH\n", then LENGTH bytes with \x10 escaping \x10 (as \x10 1)
# and Ctrl-C (as \x10 2). STATUS < 0 is an error whose name is the data (ENOENT, ...).
# Ctrl-C is off while a request is under way (a raw Ctrl-C byte then is the kernel's
# interrupt, seen before the answer or just after it): the exchange always completes, so
# no answer bytes are left for the REPL, and the KeyboardInterrupt is raised after it.
def _setup():
    import sys, os, io, errno, micropython, select, binascii

    rd = sys.stdin.buffer
    wr = sys.stdout.buffer.write
    poll = select.poll()
    poll.register(rd, select.POLLIN)
    one = bytearray(1)
    # the largest answer the kernel sends: an ESP32's console input buffer holds 260 bytes
    CHUNK = 240
    # ms the kernel has to answer before the mount is declared dead
    PATIENCE = 15000
    state = {"fs": None, "ro": False}

    class Dead(Exception):
        pass

    # Few allocations per request: a long session on a board's small heap must not be
    # fragmented by the garbage of thousands of requests (ipoll allocates nothing).
    def waiting(ms):
        for _ in poll.ipoll(ms):
            return True
        return False

    def b64(s):
        if isinstance(s, str):
            s = s.encode()
        return binascii.b2a_base64(s)[:-1]

    def call(op, *args):
        if state["fs"] is None:
            raise OSError(errno.ENODEV)
        seen_intr = False
        micropython.kbd_intr(-1)
        try:
            wr(b"\x1eM")
            wr(op)
            for a in args:
                wr(b" ")
                wr(b64(a))
            wr(b"\x1f")
            while True:
                if not waiting(PATIENCE):
                    raise Dead
                rd.readinto(one)
                if one[0] == 0x18:
                    break
                if one[0] == 3:
                    seen_intr = True
            # the answer follows at once, whole: "STATUS LENGTH\n" then the data
            status = n = field = 0
            sign = 1
            while True:
                rd.readinto(one)
                c = one[0]
                if c == 10:
                    break
                if c == 32:
                    field = 1
                elif c == 45:
                    sign = -1
                elif field:
                    n = n * 10 + c - 48
                else:
                    status = status * 10 + c - 48
            status *= sign
            data = bytearray(n) if n else b""
            got = 0
            if n:
                mv = memoryview(data)
                while got < n:
                    got += rd.readinto(mv[got:], n - got)
        except Dead:
            micropython.kbd_intr(3)
            dead()
            raise OSError(errno.EIO)
        except KeyboardInterrupt:
            # an interrupt that slipped in before Ctrl-C was off: let the answer pass
            seen_intr = True
            drain()
            status, data = -1, b"EIO"
        micropython.kbd_intr(3)
        # a Ctrl-C that came just after the answer, while Ctrl-C was still off
        if waiting(0):
            rd.readinto(one)
            if one[0] == 3:
                seen_intr = True
        if seen_intr:
            raise KeyboardInterrupt
        if b"\x10" in data:
            data = bytes(data).replace(b"\x102", b"\x03").replace(b"\x101", b"\x10")
        if status < 0:
            raise OSError(getattr(errno, bytes(data).decode(), errno.EIO))
        return status, data

    def drain():
        while waiting(300):
            rd.readinto(one)

    # The kernel did not answer: it is gone (restarted, disconnected). Unmount rather than
    # make every later import wait for it.
    def dead():
        try:
            umount()
        except Exception:
            pass

    class File(io.IOBase):
        def __init__(s, fd, text):
            s.fd = fd
            s.text = text

        def __enter__(s):
            return s

        def __exit__(s, *a):
            s.close()

        def __iter__(s):
            return s

        def __next__(s):
            line = s.readline()
            if not line:
                raise StopIteration
            return line

        def ioctl(s, req, arg):
            if req == 1:
                return 0
            if req == 2:
                import machine

                machine.mem32[arg] = s.seek(machine.mem32[arg], machine.mem32[arg + 4])
                return 0
            if req == 4:
                s.close()
                return 0
            if req == 11:
                return CHUNK
            return -1

        def flush(s):
            pass

        def close(s):
            if s.fd is not None:
                fd = s.fd
                s.fd = None
                if state["fs"] is not None:
                    call(b"C", str(fd))

        # n bytes, all there are if n < 0: chunks joined at the end (one large block of RAM)
        def _raw(s, n):
            parts = []
            got = 0
            while n < 0 or got < n:
                k = CHUNK if n < 0 else min(CHUNK, n - got)
                data = call(b"R", str(s.fd), str(k))[1]
                if not data:
                    break
                parts.append(bytes(data))
                got += len(data)
            return b"".join(parts)

        # bytes as text, with a character cut at their end finished from the file
        def _text(s, data):
            for _ in range(3):
                try:
                    return str(data, "utf8")
                except UnicodeError:
                    more = call(b"R", str(s.fd), "1")[1]
                    if not more:
                        break
                    data += more
            return str(data, "utf8")

        # in text mode n counts characters, as a board's own files do
        def read(s, n=-1):
            data = s._raw(n)
            if not s.text:
                return data
            text = s._text(data)
            while n >= 0 and len(text) < n:
                more = s._raw(n - len(text))
                if not more:
                    break
                text += s._text(more)
            return text

        def readinto(s, buf):
            data = call(b"R", str(s.fd), str(min(len(buf), CHUNK)))[1]
            buf[: len(data)] = data
            return len(data)

        def readline(s):
            out = bytearray()
            while True:
                data = call(b"G", str(s.fd))[1]
                out.extend(data)
                if not data or data[-1:] == b"\n":
                    break
            return str(out, "utf8") if s.text else bytes(out)

        def readlines(s):
            return [line for line in s]

        def write(s, buf):
            if isinstance(buf, str):
                buf = buf.encode()
            buf = bytes(buf)
            done = 0
            while done < len(buf):
                done += call(b"W", str(s.fd), buf[done : done + 1024])[0]
            return done

        def seek(s, n, whence=0):
            return call(b"K", str(s.fd), str(n), str(whence))[0]

        def tell(s):
            return s.seek(0, 1)

    class RemoteFS:
        def __init__(s):
            s.cwd = "/"

        def _abs(s, p):
            return p if p.startswith("/") else s.cwd + p

        def mount(s, readonly, mkfs):
            pass

        def umount(s):
            pass

        def chdir(s, p):
            p = s._abs(p)
            if not p.endswith("/"):
                p += "/"
            if p != "/" and not s.stat(p)[0] & 0x4000:
                raise OSError(errno.ENOTDIR)
            s.cwd = p

        def getcwd(s):
            return s.cwd

        def stat(s, p):
            f = call(b"S", s._abs(p))[1].decode().split()
            mode, size, mtime = int(f[0]), int(f[1]), int(f[2])
            return (mode, 0, 0, 0, 0, 0, size, mtime, mtime, mtime)

        def statvfs(s, p):
            f = [int(x) for x in call(b"V", s._abs(p))[1].decode().split()]
            return (f[0], f[0], f[1], f[2], f[2], 0, 0, 0, 0, 255)

        def ilistdir(s, p):
            p = s._abs(p)
            i = 0
            while True:
                data = call(b"L", p, str(i))[1]
                if not data:
                    return
                for entry in bytes(data).split(b"\x00"):
                    kind, _, rest = entry.partition(b" ")
                    size, _, name = rest.partition(b" ")
                    i += 1
                    yield (name.decode(), 0x4000 if kind == b"d" else 0x8000, 0, int(size))

        def open(s, p, mode):
            fd = call(b"O", s._abs(p), mode)[0]
            return File(fd, "b" not in mode)

        def remove(s, p):
            call(b"D", s._abs(p))

        def rename(s, a, b):
            call(b"N", s._abs(a), s._abs(b))

        def mkdir(s, p):
            call(b"M", s._abs(p))

        def rmdir(s, p):
            call(b"X", s._abs(p))

    def mount():
        if state["fs"] is None:
            fs = RemoteFS()
            state["fs"] = fs
            try:
                os.mount(fs, "/remote")
            except BaseException:
                state["fs"] = None
                raise
        os.chdir("/remote")

    def umount():
        if state["fs"] is None:
            return False
        state["fs"] = None
        if os.getcwd().startswith("/remote"):
            os.chdir("/")
        os.umount("/remote")
        return True

    def mounted():
        return state["fs"] is not None

    class M:
        pass

    m = M()
    for f in (mount, umount, mounted):
        setattr(m, f.__name__, f)
    sys.modules["_ekm"] = m


_setup()
del _setup
