"""network, as an ESP32 under MicroPython v1.24 shows it: WLAN against the bench's access points.

Messages and status codes follow ports/esp32/network_wlan.c and network_common.c. A station's
connect() returns at once, as on a board; status() goes CONNECTING then GOT_IP, or
STAT_WRONG_PASSWORD / STAT_NO_AP_FOUND, after delays the bench picks. No packets flow: the
emulator's sockets are the host's (see README-section.md).
"""

import time

import _esp32_bench
import _esp32_supervisor

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_BEACON_TIMEOUT = 200
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_ASSOC_FAIL = 203
STAT_HANDSHAKE_TIMEOUT = 204
STAT_NO_AP_FOUND_W_COMPATIBLE_SECURITY = 210
STAT_NO_AP_FOUND_IN_AUTHMODE_THRESHOLD = 211
STAT_NO_AP_FOUND_IN_RSSI_THRESHOLD = 212
AUTH_OPEN = 0
AUTH_WEP = 1
AUTH_WPA_PSK = 2
AUTH_WPA2_PSK = 3
AUTH_WPA_WPA2_PSK = 4
AUTH_WPA2_ENTERPRISE = 5
AUTH_WPA3_PSK = 6
AUTH_WPA2_WPA3_PSK = 7
AUTH_WAPI_PSK = 8
AUTH_OWE = 9
AUTH_WPA3_ENT_192 = 10
AUTH_WPA3_EXT_PSK = 11
AUTH_WPA3_EXT_PSK_MIXED_MODE = 12
AUTH_MAX = 13
# Ethernet (network.LAN): the names a board has, though no PHY is on the bench
PHY_LAN8710 = 0
PHY_LAN8720 = 1
PHY_IP101 = 2
PHY_RTL8201 = 3
PHY_DP83848 = 4
PHY_KSZ8041 = 5
PHY_KSZ8081 = 6
PHY_KSZ8851SNL = 100
PHY_DM9051 = 101
PHY_W5500 = 102
ETH_INITIALIZED = 0
ETH_STARTED = 1
ETH_STOPPED = 2
ETH_CONNECTED = 3
ETH_DISCONNECTED = 4
ETH_GOT_IP = 5
MODE_11B = 1
MODE_11G = 2
MODE_11N = 4
MODE_LR = 8

_hostname = "mpy-esp32"


def hostname(name=None):
    global _hostname
    if name is None:
        return _hostname
    _hostname = str(name)


def country(code=None):
    return "01" if code is None else None


_phy_mode = MODE_11B | MODE_11G | MODE_11N


def phy_mode(mode=None):
    global _phy_mode
    if mode is None:
        return _phy_mode
    _phy_mode = int(mode)


_dns = None  # set by ipconfig(dns=...); else the DHCP server's, as on a board
_channel = 1  # the radio's: both interfaces share it (an access point joined sets it)


def _radio():
    """Tell the air (ESP-NOW) what the radio does now: which interfaces are up, on which channel."""
    sta, ap = WLAN._all.get(STA_IF), WLAN._all.get(AP_IF)
    _esp32_bench.call("espnow", "radio", int(bool(sta and sta._active)), int(bool(ap and ap._active)), _channel)  # in effect on return


def ipconfig(*args, **kwargs):
    """network.ipconfig('dns') / ('prefer'), and setting them, as v1.24's modnetwork.c."""
    global _dns
    if args and kwargs:
        raise TypeError("either pos or kw args are allowed")
    if args:
        if len(args) > 1:
            raise TypeError("can query only one param")
        if args[0] == "dns":
            station = WLAN._all.get(STA_IF)
            return _dns or (station._addresses()[3] if station else "0.0.0.0")
        if args[0] == "prefer":
            return 4
        raise ValueError("unexpected key")
    for key, value in kwargs.items():
        if key == "dns":
            _dns = str(value)
        elif key != "prefer":
            raise ValueError("unexpected key")


class WLAN:
    IF_STA = STA_IF
    IF_AP = AP_IF
    SEC_OPEN = AUTH_OPEN
    SEC_WEP = AUTH_WEP
    SEC_WPA = AUTH_WPA_PSK
    SEC_WPA2 = AUTH_WPA2_PSK
    SEC_WPA_WPA2 = AUTH_WPA_WPA2_PSK
    SEC_WPA2_ENT = AUTH_WPA2_ENTERPRISE
    SEC_WPA3 = AUTH_WPA3_PSK
    SEC_WPA2_WPA3 = AUTH_WPA2_WPA3_PSK
    SEC_WAPI = AUTH_WAPI_PSK
    SEC_OWE = AUTH_OWE
    PM_NONE = 0
    PM_PERFORMANCE = 1
    PM_POWERSAVE = 2
    _all = {}

    def __new__(cls, interface=STA_IF):
        if interface not in (STA_IF, AP_IF):
            raise ValueError("invalid WLAN interface identifier")
        self = WLAN._all.get(interface)
        if self is None:
            self = object.__new__(cls)
            self._if = interface
            self._active = False
            self._ssid = None
            self._outcome = None
            self._started = 0
            self._txpower = 20.0
            mac = bytearray(_esp32_supervisor.unique_id)
            mac[5] = (mac[5] + interface) & 0xFF
            self._mac = bytes(mac)
            self._ap_ssid = "ESP_%02X%02X%02X" % (mac[3], mac[4], mac[5])
            self._ap_key = ""
            self._ap_authmode = AUTH_OPEN
            WLAN._all[interface] = self
        return self

    def __init__(self, interface=STA_IF):
        pass

    def active(self, value=None):
        if value is None:
            return self._active
        self._active = bool(value)
        if not self._active:
            self._ssid = self._outcome = None
        _esp32_bench.wifi_active = any(w._active for w in WLAN._all.values())
        _esp32_bench.send("wifi_active", int(_esp32_bench.wifi_active))
        _esp32_bench.send("wlan_active", self._if, int(self._active))  # WebREPL is reachable through it
        _radio()
        return None

    def _require(self, interface):
        if self._if != interface:
            raise OSError("STA required" if interface == STA_IF else "AP required")

    def scan(self):
        if not (self._if == STA_IF and self._active):
            raise OSError("STA must be active")
        time.sleep_ms(1500)  # a blocking all-channel scan takes about this long
        return [
            (ap["ssid"].encode(), bytes(int(b, 16) for b in ap["bssid"].split(":")), ap["channel"], ap["rssi"], ap["authmode"], False)
            for ap in _esp32_bench.call("wifi_scan")
        ]

    def connect(self, ssid=None, key=None, *, bssid=None, **kwargs):
        self._require(STA_IF)
        if not self._active:
            raise OSError("Wifi Not Started")
        if ssid is None:
            ssid = self._ssid or ""
        self._ssid = ssid
        self._outcome = _esp32_bench.call("wifi_connect", _esp32_bench.text(ssid), _esp32_bench.text(key or ""))
        self._started = time.ticks_ms()
        if self._outcome[2]:  # the access point's channel, which the radio takes
            global _channel
            _channel = self._outcome[2]["channel"]
            _radio()

    def disconnect(self):
        self._outcome = None
        _esp32_bench.send("wlan_disconnected")

    def _state(self):
        if not self._active or self._outcome is None:
            return STAT_IDLE
        status, delay_s, _ = self._outcome
        if time.ticks_diff(time.ticks_ms(), self._started) < int(delay_s * 1000):
            return STAT_CONNECTING
        return status

    def status(self, param=None):
        if param is None:
            return self._state() if self._if == STA_IF else None
        if param == "rssi":
            self._require(STA_IF)
            if self._state() != STAT_GOT_IP:
                raise OSError("Wifi Not Connected")
            rssi = _esp32_bench.call("wifi_rssi", _esp32_bench.text(self._ssid))
            if rssi is None:
                raise OSError("Wifi Not Connected")
            return rssi
        if param == "stations":
            self._require(AP_IF)
            return []
        raise ValueError("unknown status param")

    def isconnected(self):
        if self._if == STA_IF:
            return self._state() == STAT_GOT_IP
        return False

    def _addresses(self):
        if self._if == AP_IF:
            return ("192.168.4.1", "255.255.255.0", "192.168.4.1", "0.0.0.0")
        if self._state() == STAT_GOT_IP:
            host = 100 + self._mac[5] % 100
            return ("192.168.1.%d" % host, "255.255.255.0", "192.168.1.1", "192.168.1.1")
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

    def ifconfig(self, config=None):
        if config is None:
            return self._addresses()
        return None

    def ipconfig(self, *args, **kwargs):
        if args:
            if len(args) > 1:
                raise TypeError("must query one param")
            ip, mask, gw, dns = self._addresses()
            if args[0] == "addr4":
                return (ip, mask)
            if args[0] == "gw4":
                return gw
            if args[0] == "dhcp4":
                return True
            raise ValueError("unexpected key")
        return None

    def config(self, *args, **kwargs):
        if args and kwargs:
            raise TypeError("either pos or kw args are allowed")
        if kwargs:
            for key, value in kwargs.items():
                if key == "mac":
                    if len(value) != 6:
                        raise ValueError("invalid buffer length")
                    self._mac = bytes(value)
                elif key in ("ssid", "essid"):
                    if self._if == AP_IF:
                        self._ap_ssid = str(value)
                    else:
                        self._ssid = str(value)
                elif key in ("key", "password"):
                    self._ap_key = str(value)
                elif key == "channel":
                    global _channel
                    _channel = int(value)
                    _radio()
                elif key in ("authmode", "security"):
                    self._ap_authmode = int(value)
                elif key in ("hostname", "dhcp_hostname"):
                    hostname(value)
                elif key == "txpower":
                    self._txpower = int(float(value) * 4) * 0.25
                elif key in ("reconnects", "max_clients", "hidden", "pm", "protocol"):
                    pass
                else:
                    raise ValueError("unknown config param")
            return None
        if len(args) != 1:
            raise TypeError("can query only one param")
        key = args[0]
        if key == "mac":
            return self._mac
        if key in ("ssid", "essid"):
            return self._ap_ssid if self._if == AP_IF else (self._ssid or "")
        if key == "channel":
            return _channel
        if key in ("hostname", "dhcp_hostname"):
            return _hostname
        if key in ("authmode", "security"):
            return self._ap_authmode
        if key == "txpower":
            return self._txpower
        if key == "reconnects":
            return -1
        if key == "pm":
            return 1
        raise ValueError("unknown config param")


def __getattr__(name):
    if name == "__set_name__":  # see _esp32_sys.__getattr__
        from _esp32_sys import _no_set_name

        return _no_set_name
    if name == "LAN":  # loaded on first use (a frozen module's way): it costs heap only then
        import _esp32_lan

        return _esp32_lan.LAN
    raise AttributeError("'module' object has no attribute '%s'" % name)
