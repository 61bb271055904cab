"""onewire, the board's frozen module: a 1-Wire bus on one pin, over the `_onewire` primitives.

scan() walks the bus's ROM codes with the 1-Wire search (Maxim's application note 187): each
pass follows the last pass's path up to its last unexplored fork, takes the 1 branch there,
and the 0 branch at every fork after it.
"""

import _onewire


class OneWireError(Exception):
    pass


class OneWire:
    SEARCH_ROM = 0xF0
    MATCH_ROM = 0x55
    SKIP_ROM = 0xCC

    def __init__(self, pin):
        self.pin = pin
        pin.init(pin.OPEN_DRAIN, pin.PULL_UP)

    def reset(self, required=False):
        present = _onewire.reset(self.pin)
        if required and not present:
            raise OneWireError
        return present

    def readbit(self):
        return _onewire.readbit(self.pin)

    def readbyte(self):
        return _onewire.readbyte(self.pin)

    def readinto(self, buf):
        for i in range(len(buf)):
            buf[i] = _onewire.readbyte(self.pin)

    def writebit(self, value):
        return _onewire.writebit(self.pin, value)

    def writebyte(self, value):
        return _onewire.writebyte(self.pin, value)

    def write(self, buf):
        for byte in buf:
            _onewire.writebyte(self.pin, byte)

    def select_rom(self, rom):
        self.reset()
        self.writebyte(self.MATCH_ROM)
        self.write(rom)

    def scan(self):
        found = []
        rom = bytearray(8)
        fork = 0  # bit number (1-64) of the last fork where the last pass took 0; 0: none left
        for _ in range(256):  # a bus answering nonsense cannot loop forever
            rom, fork = self._search(rom, fork)
            if rom is None:
                break
            found.append(rom)
            if not fork:
                break
        return found

    def _search(self, previous, fork):
        """One search pass: (the ROM found, its last fork taken as 0) or (None, 0)."""
        if not self.reset():
            return None, 0
        self.writebyte(self.SEARCH_ROM)
        rom = bytearray(8)
        zero_fork = 0
        for number in range(1, 65):
            byte, mask = (number - 1) >> 3, 1 << ((number - 1) & 7)
            bit, complement = self.readbit(), self.readbit()
            if bit and complement:  # no device answered
                return None, 0
            if bit == complement:  # devices differ here: a fork
                bit = previous[byte] & mask if number < fork else number == fork
                if not bit:
                    zero_fork = number
            self.writebit(1 if bit else 0)
            if bit:
                rom[byte] |= mask
        return rom, zero_fork

    def crc8(self, data):
        return _onewire.crc8(data)
