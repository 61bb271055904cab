"""bluetooth as v1.24's ESP32 port has it (NimBLE): BLE, UUID and the characteristic flags.

The radio's stack is the supervisor's (emulator/ble.py): it keeps the GATT server's values,
advertises, scans the air, connects, and answers other boards' reads and writes while this
board runs anything. What it tells the board arrives as the events of BLE.irq(handler),
with v1.24's numbers and tuples (bytes where a board passes memoryviews).
"""

from micropython import const

import _esp32_bench

FLAG_READ = const(0x0002)
FLAG_WRITE_NO_RESPONSE = const(0x0004)
FLAG_WRITE = const(0x0008)
FLAG_NOTIFY = const(0x0010)
FLAG_INDICATE = const(0x0020)


class UUID:
    """A 16-bit (UUID(0x180D)) or 128-bit (UUID('6e400001-b5a3-…')) Bluetooth UUID; bytes(uuid)
    gives its little-endian bytes, as on a board."""

    def __init__(self, value):
        if isinstance(value, UUID):
            raw = value._raw
        elif isinstance(value, int):
            if not 0 <= value <= 0xFFFFFFFF:
                raise ValueError("invalid UUID")
            raw = value.to_bytes(2 if value <= 0xFFFF else 4, "little")
        else:
            raw = None
            if isinstance(value, str):  # 128 bits written out; any other str is taken as its bytes
                try:
                    digits = bytes.fromhex(value.replace("-", ""))
                    raw = bytes(reversed(digits)) if len(digits) == 16 else None
                except ValueError:
                    pass
                value = value.encode() if raw is None else value
            raw = raw or bytes(value)
            if len(raw) not in (2, 4, 16):
                raise ValueError("invalid UUID")
        self._raw = raw

    def __iter__(self):  # bytes(uuid)
        return iter(self._raw)

    def __len__(self):
        return len(self._raw)

    def __eq__(self, other):
        return isinstance(other, UUID) and other._raw == self._raw

    def __hash__(self):
        return hash(self._raw)

    def _key(self):  # 16-bit before 32-bit before 128-bit, then by their bytes
        return (len(self._raw), self._raw)

    def __lt__(self, other):
        return self._key() < other._key()

    def __le__(self, other):
        return self._key() <= other._key()

    def __gt__(self, other):
        return self._key() > other._key()

    def __ge__(self, other):
        return self._key() >= other._key()

    def __repr__(self):
        if len(self._raw) == 16:
            h = bytes(reversed(self._raw)).hex()
            return "UUID('%s-%s-%s-%s-%s')" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
        return "UUID(0x%0*x)" % (2 * len(self._raw), int.from_bytes(self._raw, "little"))


_text = _esp32_bench.text  # bytes or str as one word of a request


def _stack(*args):
    """Ask the supervisor's Bluetooth stack (emulator/ble.py); its refusals are OSErrors, as NimBLE's are."""
    answer = _esp32_bench.call("ble", *args)
    if isinstance(answer, dict) and "errno" in answer:
        import _esp32_errno

        raise OSError(getattr(_esp32_errno, answer["errno"]))
    return answer


def _field(value):
    """A field of an event's tuple, from the stack's JSON: "x:<hex>" bytes, "u:<hex>" a UUID."""
    if isinstance(value, str):
        if value[:2] == "x:":
            return bytes.fromhex(value[2:])
        if value[:2] == "u:":
            return UUID(bytes.fromhex(value[2:]))
    return value


class _State:
    handler = None


def _events(_):
    for code, fields in _stack("events"):
        data = tuple(_field(f) for f in fields)
        answer = _State.handler(code, data) if _State.handler is not None else None
        if code == 4:  # _IRQ_GATTS_READ_REQUEST: the stack waits; non-zero denies the read
            _stack("read_answer", data[0], data[1], answer or 0)


class BLE:
    """Every BLE() is a handle on the one radio, as on a board."""

    def active(self, flag=None):
        if flag is not None:
            _esp32_bench.on("ble", 0, _events if flag else None)
            _stack("active", int(bool(flag)))
        return _stack("active")

    def config(self, *args, **kwargs):
        if args and kwargs or len(args) > 1:
            raise TypeError("must query one param")
        if args:
            value = _stack("config", args[0])
            if args[0] == "mac":
                return (value[0], bytes.fromhex(value[1]))
            if args[0] == "gap_name":
                return bytes.fromhex(value)
            return value
        for key, value in kwargs.items():
            if key == "gap_name":
                value = _text(value)
            elif key == "mac":
                raise ValueError("unknown config param")
            _stack("config", key, value if isinstance(value, str) else int(value))

    def irq(self, handler):
        if handler is not None and not callable(handler):
            raise ValueError("invalid handler")
        _events(None)  # what happened so far goes to the handler that was set then
        _State.handler = handler
        _stack("irq", 1 if handler is not None else 0)  # with none, the stack's events go nowhere

    # GAP

    def gap_advertise(self, interval_us, adv_data=None, *, resp_data=None, connectable=True):
        if interval_us is None:
            _stack("advertise", "-")
            return
        _stack("advertise", int(interval_us), _text(adv_data or b""), _text(resp_data or b""), int(bool(connectable)))

    def gap_scan(self, duration_ms, interval_us=1280000, window_us=11250, active=False):
        if duration_ms is None:
            _stack("scan", "-")
            return
        _stack("scan", int(duration_ms), int(interval_us), int(window_us), int(bool(active)))

    def gap_connect(self, addr_type, addr, scan_duration_ms=2000, min_conn_interval_us=None, max_conn_interval_us=None):
        if addr_type is None:  # cancels a connect in progress
            _stack("connect", "-")
            return
        _stack("connect", int(addr_type), _text(addr), 2000 if scan_duration_ms is None else int(scan_duration_ms))

    def gap_disconnect(self, conn_handle):
        return _stack("disconnect", int(conn_handle))

    def gap_pair(self, conn_handle):
        _stack("pair", int(conn_handle))

    def gap_passkey(self, conn_handle, action, passkey):
        _stack("passkey", int(conn_handle), int(action), int(passkey))

    # GATT server

    def gatts_register_services(self, services):
        definition = []
        for service in services:
            uuid, characteristics = service[0], service[1]
            chars = []
            for characteristic in characteristics:
                descriptors = [[bytes(UUID(d[0])).hex(), d[1]] for d in (characteristic[2] if len(characteristic) > 2 else ())]
                chars.append([bytes(UUID(characteristic[0])).hex(), characteristic[1], descriptors])
            definition.append([bytes(UUID(uuid)).hex(), chars])
        import json

        handles = _stack("register", _text(json.dumps(definition)))
        return tuple(tuple(service) for service in handles)

    def gatts_read(self, value_handle):
        return bytes.fromhex(_stack("read", int(value_handle)))

    def gatts_write(self, value_handle, data, send_update=False):
        _stack("write", int(value_handle), _text(data), int(bool(send_update)))

    def gatts_notify(self, conn_handle, value_handle, data=None):
        _stack("notify", int(conn_handle), int(value_handle), "-" if data is None else "x" + _text(data))

    def gatts_indicate(self, conn_handle, value_handle, data=None):
        _stack("indicate", int(conn_handle), int(value_handle), "-" if data is None else "x" + _text(data))

    def gatts_set_buffer(self, value_handle, length, append=False):
        _stack("set_buffer", int(value_handle), int(length), int(bool(append)))

    # GATT client

    def gattc_discover_services(self, conn_handle, uuid=None):
        _stack("discover", "services", int(conn_handle), 1, 0xFFFF, bytes(UUID(uuid)).hex() if uuid else "-")

    def gattc_discover_characteristics(self, conn_handle, start_handle, end_handle, uuid=None):
        _stack("discover", "characteristics", int(conn_handle), int(start_handle), int(end_handle),
                          bytes(UUID(uuid)).hex() if uuid else "-")  # fmt: skip

    def gattc_discover_descriptors(self, conn_handle, start_handle, end_handle):
        _stack("discover", "descriptors", int(conn_handle), int(start_handle), int(end_handle), "-")

    def gattc_read(self, conn_handle, value_handle):
        _stack("gattc_read", int(conn_handle), int(value_handle))

    def gattc_write(self, conn_handle, value_handle, data, mode=0):
        _stack("gattc_write", int(conn_handle), int(value_handle), _text(data), int(mode))

    def gattc_exchange_mtu(self, conn_handle):
        _stack("exchange_mtu", int(conn_handle))
