"""dht, the board's frozen module: DHT11 and DHT22 sensors, read by machine.dht_readinto
(the bench's sensor on the pin answers with its five bytes)."""

from machine import dht_readinto


class DHTBase:
    def __init__(self, pin):
        self.pin = pin
        self.buf = bytearray(5)  # humidity (2 bytes), temperature (2), checksum

    def measure(self):
        dht_readinto(self.pin, self.buf)
        if sum(self.buf[:4]) & 0xFF != self.buf[4]:
            raise Exception("checksum error")


class DHT11(DHTBase):
    def humidity(self):
        return self.buf[0]

    def temperature(self):
        return self.buf[2]


class DHT22(DHTBase):
    def humidity(self):
        return (self.buf[0] << 8 | self.buf[1]) * 0.1

    def temperature(self):
        tenths = (self.buf[2] & 0x7F) << 8 | self.buf[3]  # sign and magnitude
        return -tenths * 0.1 if self.buf[2] & 0x80 else tenths * 0.1
