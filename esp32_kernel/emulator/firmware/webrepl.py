"""webrepl, as MicroPython v1.24's extmod/webrepl/webrepl.py shows it to code on the board.

The unix port has no os.dupterm, so the WebSocket server itself (handshake, "Password: ",
text frames carrying the REPL, the binary GET_VER request) is the supervisor's
(emulator/webrepl_server.py); this module asks it to listen or stop, as a board's
webrepl.start() opens its listening socket. As on a board, a client can reach it only
while the board's WiFi is up (a station connected or the access point active).
"""

import network

import _esp32_bench

_started = False


def stop():
    global _started
    if _started:
        _esp32_bench.send("webrepl_stop")
        _started = False


def start(port=8266, password=None):
    global _started
    stop()
    if password is None:
        try:
            import webrepl_cfg

            password = webrepl_cfg.PASS
        except:  # noqa: E722 - v1.24 catches everything here too
            print("WebREPL is not configured, run 'import webrepl_setup'")
            return
        mode = "normal"
    else:
        mode = "manual override"
    if len(password) > 9:  # _webrepl.password(): the C buffer holds 9 characters
        raise ValueError
    error = _esp32_bench.call("webrepl_start", int(port), _esp32_bench.text(password))
    if error:
        raise OSError(error)
    _started = True
    for i in (network.AP_IF, network.STA_IF):
        iface = network.WLAN(i)
        if iface.active():
            print("WebREPL server started on http://%s:%d/" % (iface.ifconfig()[0], port))
    print("Started webrepl in %s mode" % mode)


def start_foreground(port=8266, password=None):
    start(port, password)
