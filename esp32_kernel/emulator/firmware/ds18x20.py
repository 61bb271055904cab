"""ds18x20, the board's frozen module: DS18S20, DS1822 and DS18B20 thermometers on a OneWire bus."""

_CONVERT_T = 0x44
_READ_SCRATCHPAD = 0xBE
_WRITE_SCRATCHPAD = 0x4E
_FAMILIES = (0x10, 0x22, 0x28)  # DS18S20, DS1822, DS18B20


class DS18X20:
    def __init__(self, onewire):
        self.ow = onewire
        self.buf = bytearray(9)

    def scan(self):
        return [rom for rom in self.ow.scan() if rom[0] in _FAMILIES]

    def convert_temp(self):
        """Start a conversion on every sensor of the bus (it takes up to 750 ms)."""
        self.ow.reset(True)
        self.ow.writebyte(self.ow.SKIP_ROM)
        self.ow.writebyte(_CONVERT_T)

    def read_scratch(self, rom):
        self.ow.reset(True)
        self.ow.select_rom(rom)
        self.ow.writebyte(_READ_SCRATCHPAD)
        self.ow.readinto(self.buf)
        if self.ow.crc8(self.buf):  # the CRC over all nine bytes is 0 when they arrived whole
            raise Exception("CRC error")
        return self.buf

    def write_scratch(self, rom, buf):
        self.ow.reset(True)
        self.ow.select_rom(rom)
        self.ow.writebyte(_WRITE_SCRATCHPAD)
        self.ow.write(buf)

    def read_temp(self, rom):
        data = self.read_scratch(rom)
        if rom[0] == 0x10:  # DS18S20: half degrees, refined by COUNT_REMAIN / COUNT_PER_C
            halves = data[0] - 256 if data[1] else data[0]
            return (halves >> 1) - 0.25 + (data[7] - data[6]) / data[7]
        sixteenths = data[1] << 8 | data[0]
        return (sixteenths - 65536 if sixteenths & 0x8000 else sixteenths) / 16
