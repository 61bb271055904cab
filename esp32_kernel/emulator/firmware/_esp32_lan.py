"""network.LAN as v1.24's ports/esp32/network_lan.c has it, on a board with no Ethernet PHY
wired (an ESP32-DevKitC): the arguments are checked as there, the PHY's power pin is switched
on, then the driver's install finds no PHY answering (on MDIO, or on SPI) and fails, as it does
on such a board. The bench has no Ethernet part."""

import time

import machine
import network

_MDIO_PHYS = (
    network.PHY_LAN8710, network.PHY_LAN8720, network.PHY_IP101, network.PHY_RTL8201,
    network.PHY_KSZ8041, network.PHY_KSZ8081, network.PHY_DP83848,
)  # fmt: skip
_SPI_PHYS = (network.PHY_KSZ8851SNL, network.PHY_DM9051, network.PHY_W5500)


def _pin_id(pin):
    return -1 if pin is None else machine._pin_id(pin)


class LAN:
    def __init__(self, id=None, *, mdc=None, mdio=None, reset=None, power=None, phy_addr, phy_type,
                 spi=None, cs=None, int=None, ref_clk_mode=-1, ref_clk=None):  # fmt: skip
        if id is not None and id != 0:
            raise ValueError("invalid LAN interface identifier")
        mdc, mdio, power = _pin_id(mdc), _pin_id(mdio), _pin_id(power)
        for pin in (reset, cs, int, ref_clk):
            _pin_id(pin)
        if not 0 <= phy_addr <= 0x1F:
            raise ValueError("invalid phy address")
        if phy_type not in _MDIO_PHYS + _SPI_PHYS:
            raise ValueError("invalid phy type")
        if power >= 0:  # switched on before the PHY's reset, and given time to settle
            machine.Pin(power, machine.Pin.OUT, value=1)
            time.sleep_ms(100)
        if phy_type in _MDIO_PHYS and (mdc < 0 or mdio < 0):
            raise ValueError("mdc and mdio must be specified")
        raise OSError("esp_eth_driver_install failed")  # no PHY answers: nothing is wired

    # What a LAN object has on a board; none can be made here (see above).
    def active(self, *args):
        raise OSError("ethernet enable failed")

    def isconnected(self):
        return False

    def status(self):
        return network.ETH_INITIALIZED

    def config(self, *args, **kwargs):
        raise ValueError("unknown config param")

    def ifconfig(self, *args):
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

    def ipconfig(self, *args, **kwargs):
        return None
