"""espnow as v1.24's ESP32 firmware freezes it: ESPNow, the driver (_espnow) with the ways
to receive that a program uses most — recv() (new bytes each time), irecv() (the same two
buffers each time: no allocation), iteration, and irq(callback) called with the ESPNow."""

from _espnow import *  # noqa: F401,F403 — the constants, as `import espnow` gives them
from _espnow import ESPNowBase, MAX_DATA_LEN


class ESPNow(ESPNowBase):
    _buffers = [None, bytearray(MAX_DATA_LEN)]  # what irecv() fills and returns
    _nothing = (None, None)

    def __init__(self):
        pass

    def irecv(self, timeout_ms=None):
        return self._buffers if self.recvinto(self._buffers, timeout_ms) else self._nothing

    def recv(self, timeout_ms=None):
        if not self.recvinto(self._buffers, timeout_ms):
            return self._nothing
        return [bytes(self._buffers[0]), bytes(self._buffers[1])]

    def irq(self, callback):
        super().irq(callback, self)

    def __iter__(self):
        return self

    def __next__(self):
        return self.irecv()
