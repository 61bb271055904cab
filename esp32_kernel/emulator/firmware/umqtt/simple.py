"""umqtt.simple, the board's frozen module: a small MQTT 3.1.1 client over one socket.

QoS 0 and 1 for publishing and subscribing; messages arrive through the callback given to
set_callback(), from wait_msg() (blocking) or check_msg() (not). Packets as the MQTT 3.1.1
specification (OASIS, 2014) lays them out.
"""

import socket
import struct

# control packet types (the first byte's high nibble)
_CONNECT, _CONNACK, _PUBLISH, _PUBACK = 0x10, 0x20, 0x30, 0x40
_SUBSCRIBE, _SUBACK, _PINGREQ, _PINGRESP, _DISCONNECT = 0x82, 0x90, 0xC0, 0xD0, 0xE0


class MQTTException(Exception):
    pass


def _encoded_length(n):
    """The remaining length: 7 bits a byte, least significant first, high bit = more."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return out


def _string(data):
    data = data.encode() if isinstance(data, str) else data
    return struct.pack("!H", len(data)) + data


class MQTTClient:
    def __init__(self, client_id, server, port=0, user=None, password=None, keepalive=0, ssl=None):
        self.client_id = client_id
        self.sock = None
        self.server = server
        self.port = port or (8883 if ssl else 1883)
        self.ssl = ssl
        self.pid = 0
        self.cb = None
        self.user = user
        self.pswd = password
        self.keepalive = keepalive
        self.lw_topic = None
        self.lw_msg = None
        self.lw_qos = 0
        self.lw_retain = False

    def _send_str(self, s):
        self.sock.write(_string(s))

    def _recv_len(self):
        n = shift = 0
        while True:
            byte = self.sock.read(1)[0]
            n |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return n
            shift += 7

    def _packet(self, first, body):
        self.sock.write(bytes([first]) + _encoded_length(len(body)) + body)

    def _next_pid(self):
        self.pid = self.pid % 0xFFFF + 1
        return self.pid

    def set_callback(self, f):
        self.cb = f

    def set_last_will(self, topic, msg, retain=False, qos=0):
        assert 0 <= qos <= 2
        assert topic
        self.lw_topic = topic
        self.lw_msg = msg
        self.lw_qos = qos
        self.lw_retain = retain

    def connect(self, clean_session=True, timeout=None):
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.connect(socket.getaddrinfo(self.server, self.port)[0][-1])
        if self.ssl is True:
            import ssl

            self.sock = ssl.wrap_socket(self.sock, server_hostname=self.server)
        elif self.ssl:
            self.sock = self.ssl.wrap_socket(self.sock, server_hostname=self.server)
        flags = 0x02 if clean_session else 0
        payload = _string(self.client_id)
        if self.lw_topic:
            flags |= 0x04 | self.lw_qos << 3 | (0x20 if self.lw_retain else 0)
            payload += _string(self.lw_topic) + _string(self.lw_msg)
        if self.user is not None:
            flags |= 0x80
            payload += _string(self.user)
            if self.pswd is not None:
                flags |= 0x40
                payload += _string(self.pswd)
        header = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", self.keepalive)
        self._packet(_CONNECT, header + payload)
        reply = self.sock.read(4)
        if reply[0] != _CONNACK or reply[1] != 2:
            raise MQTTException("not a CONNACK: %r" % reply)
        if reply[3]:
            raise MQTTException(reply[3])  # 1-5: refused (protocol, id, server, credentials, not authorized)
        return reply[2] & 1  # the broker kept a session for us

    def disconnect(self):
        self.sock.write(bytes([_DISCONNECT, 0]))
        self.sock.close()

    def ping(self):
        self.sock.write(bytes([_PINGREQ, 0]))

    def publish(self, topic, msg, retain=False, qos=0):
        assert qos in (0, 1), "QoS 2 is not supported"
        body = _string(topic)
        pid = None
        if qos:
            pid = self._next_pid()
            body += struct.pack("!H", pid)
        msg = msg.encode() if isinstance(msg, str) else msg
        self._packet(_PUBLISH | qos << 1 | (1 if retain else 0), body + msg)
        while pid is not None:  # QoS 1: until the broker's PUBACK for this packet
            if self.wait_msg() == _PUBACK:
                length, acked = self.sock.read(1)[0], struct.unpack("!H", self.sock.read(2))[0]
                assert length == 2
                if acked == pid:
                    return

    def subscribe(self, topic, qos=0):
        assert self.cb is not None, "Subscribe callback is not set"
        pid = self._next_pid()
        self._packet(_SUBSCRIBE, struct.pack("!H", pid) + _string(topic) + bytes([qos]))
        while True:
            if self.wait_msg() == _SUBACK:
                reply = self.sock.read(4)  # length, packet id, granted QoS
                if struct.unpack("!H", reply[1:3])[0] == pid:
                    if reply[3] == 0x80:
                        raise MQTTException(reply[3])  # the broker refused the subscription
                    return

    def wait_msg(self):
        """Handle one packet from the broker: a PUBLISH goes to the callback. Returns the
        packet type's byte (None for a PINGRESP, or when non-blocking and nothing came)."""
        first = self.sock.read(1)
        self.sock.setblocking(True)
        if first is None:
            return None
        if first == b"":
            raise OSError(-1)  # the broker closed the connection
        if first[0] == _PINGRESP:
            self.sock.read(1)
            return None
        op = first[0]
        if op & 0xF0 != _PUBLISH:
            return op
        remaining = self._recv_len()
        topic = self.sock.read(struct.unpack("!H", self.sock.read(2))[0])
        remaining -= len(topic) + 2
        qos = op >> 1 & 3
        if qos:
            pid = self.sock.read(2)
            remaining -= 2
        msg = self.sock.read(remaining) if remaining else b""
        self.cb(topic, msg)
        if qos == 1:
            self.sock.write(bytes([_PUBACK, 2]) + pid)
        elif qos == 2:
            raise MQTTException("QoS 2 is not supported")
        return op

    def check_msg(self):
        """wait_msg() without blocking: handles a packet if one is waiting."""
        self.sock.setblocking(False)
        return self.wait_msg()
