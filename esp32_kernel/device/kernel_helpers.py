# Run once on the board after each connect or reboot, in RAM. MicroPython code: it names
# nothing in the user's globals. __r__ shows a cell's last value: it keeps it in `_` and
# writes its repr as a result frame (\x1eR...\x1f) that the kernel takes out of the stream.
# Comments stay on lines of their own: device.source() drops them before sending.
def _setup():
    import builtins, sys, time

    write = sys.stdout.write

    def show(value):
        if value is not None:
            builtins._ = value
            # a frame holds no newline: a multi-line repr sends \x1d for each
            write("\x1eR" + repr(value).replace("\n", "\x1d") + "\x1f")

    try:
        builtins.__r__ = show
    except AttributeError:  # firmware built without overridable builtins
        globals()["__r__"] = show

    # The `nb` module: live data records (esp32_kernel/live/records.py reads them).
    # emit(adc=1, t=2.5) buffers one sample; a batch goes out as one data frame
    #   \x1eD<seq of its first sample> <ticks_us of it, 30 bits> <names>;<dt>,<v>,..;<dt>,<v>,..\x1f
    # (dt: microseconds since the sample before, 0 for the first; names empty for
    # positional values) once `batch` samples wait or `period` us passed since the last frame.
    tu = time.ticks_us
    td = time.ticks_diff
    b = []
    # next seq, names, t of the first buffered, t of the last, t of the last frame,
    # period us, batch, writing now
    s = [0, None, 0, 0, 0, 20000, 64, 0]

    def flush():
        if b and not s[7]:
            s[7] = 1
            try:
                p = "\x1eD%d %d %s;%s\x1f" % (s[0] - len(b), s[2], s[1], ";".join(b))
                b.clear()
                s[4] = tu()
                write(p)
            finally:
                s[7] = 0

    def emit(*a, **k):
        t = tu()
        if a:
            v = ",".join([str(x) for x in a])
            n = ""
        else:
            v = ",".join([str(x) for x in k.values()])
            n = ",".join(k)
        if n != s[1]:
            flush()
            s[1] = n
        if b:
            d = td(t, s[3])
        else:
            d = 0
            s[2] = t & 0x3FFFFFFF
        s[3] = t
        b.append("%d,%s" % (d, v))
        s[0] += 1
        if len(b) >= s[6] or td(t, s[4]) >= s[5]:
            flush()

    def config(period_ms=None, batch=None):
        if period_ms is not None:
            s[5] = int(period_ms * 1000)
        if batch is not None:
            s[6] = max(1, int(batch))
        return s[5] / 1000, s[6]

    class NB:
        pass

    nb = NB()
    nb.emit = emit
    nb.flush = flush
    nb.config = config
    sys.modules["nb"] = nb

    # This runs after each connect too. A folder that %mount served through an earlier
    # connection has nobody to serve it now: unmount it rather than let imports wait. The
    # kernel's modules for files and %mount may be another kernel version's: they are
    # placed again when next needed.
    m = sys.modules.get("_ekm")
    if m:
        try:
            m.umount()
        except Exception:
            pass
    sys.modules.pop("_ekm", None)
    sys.modules.pop("_ekf", None)


_setup()
del _setup
