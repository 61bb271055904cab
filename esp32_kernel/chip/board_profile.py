"""Board profiles: what board the emulated ESP32 sits on (boards/*.json).

A profile names the board, its firmware's identity (the banner's "Generic ESP32 module with
ESP32"), its flash and PSRAM sizes, its onboard LEDs and buttons (placed on the bench), and
the labels printed beside its pins ↔ the chip's GPIO numbers (the bench takes either).
MicroPython's ESP32_GENERIC firmware knows no board labels: on the board, pins are GPIO
numbers, as on a real DevKitC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

BOARDS_DIR = Path(__file__).parent / "boards"
DEFAULT_BOARD = "esp32-devkitc"


@dataclass(frozen=True)
class BoardProfile:
    id: str
    name: str
    description: str
    machine: str
    flash_size: int
    psram: int
    leds: tuple = ()
    buttons: tuple = ()
    labels: dict = field(default_factory=dict)
    unavailable_gpios: tuple = ()
    aliases: tuple = ()
    firmware: str = "ESP32_GENERIC"
    xtal_mhz: int = 40  # the ROM prints at 115200 × xtal/40 baud: 74880 on 26 MHz boards
    # Firmware built with MICROPY_PY_DEFLATE_COMPRESS (stock v1.24 ESP32 builds are not):
    # deflate.DeflateIO can write, so downloads can be compressed on the board.
    deflate_compress: bool = False
    path: Path | None = None

    @property
    def rom_baud(self) -> int:
        return 115200 * self.xtal_mhz // 40

    @property
    def banner(self) -> bytes:
        return f"MicroPython v1.24.0 on 2024-10-25; {self.machine}".encode()

    def describe(self) -> dict:
        return {
            "id": self.id, "name": self.name, "description": self.description, "machine": self.machine,
            "flash_size": self.flash_size, "psram": self.psram, "leds": list(self.leds), "buttons": list(self.buttons),
            "labels": dict(self.labels), "unavailable_gpios": list(self.unavailable_gpios), "xtal_mhz": self.xtal_mhz,
            "deflate_compress": self.deflate_compress,
        }  # fmt: skip


def available() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def load(name: str | None = None) -> BoardProfile:
    """A profile by id, alias or name (case-insensitive), or from a JSON file's path."""
    name = name or DEFAULT_BOARD
    path = Path(name)
    if not (path.suffix == ".json" and path.is_file()):
        wanted = name.strip().lower().replace("_", "-").replace(" ", "-")
        path = None
        for candidate in sorted(BOARDS_DIR.glob("*.json")):
            data = json.loads(candidate.read_text())
            names = {candidate.stem, data.get("name", "").lower().replace(" ", "-"), *[a.lower() for a in data.get("aliases", [])]}
            if wanted in names:
                path = candidate
                break
        if path is None:
            raise ValueError(f"unknown board {name!r}; boards: {', '.join(available())}")
    data = json.loads(path.read_text())
    return BoardProfile(
        id=data["id"], name=data["name"], description=data.get("description", ""), machine=data["machine"],
        flash_size=int(data["flash_size"]), psram=int(data.get("psram", 0)),
        leds=tuple(data.get("leds", ())), buttons=tuple(data.get("buttons", ())), labels=dict(data.get("labels", {})),
        unavailable_gpios=tuple(data.get("unavailable_gpios", ())), aliases=tuple(data.get("aliases", ())),
        firmware=data.get("firmware", "ESP32_GENERIC"), xtal_mhz=int(data.get("xtal_mhz", 40)),
        deflate_compress=bool(data.get("deflate_compress", False)), path=path.resolve(),
    )  # fmt: skip


def write_variant(path: Path, base: str | None = None, **changes) -> Path:
    """Write a profile to `path`: the board `base` with `changes` (e.g. xtal_mhz=26,
    deflate_compress=True), for an emulator started with board=str(path)."""
    data = json.loads(load(base).path.read_text())
    data.update(id=Path(path).stem, aliases=[], **changes)
    Path(path).write_text(json.dumps(data, indent=2))
    return Path(path)


def partition_table(flash_size: int) -> list[tuple[int, int, int, int, str]]:
    """(type, subtype, address, size, label) per partition, as ports/esp32/partitions-4MiB.csv
    (which ESP32_GENERIC is built with) lays them out; the vfs partition takes the rest."""
    return [
        (1, 0x02, 0x9000, 0x6000, "nvs"),
        (1, 0x01, 0xF000, 0x1000, "phy_init"),
        (0, 0x00, 0x10000, 0x1F0000, "factory"),
        (1, 0x81, 0x200000, max(flash_size - 0x200000, 0), "vfs"),
    ]
