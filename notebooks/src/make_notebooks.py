"""Write the lab-course notebooks (03–14) from the cell lists in this folder.

    .venv/bin/python notebooks/src/make_notebooks.py [NAME…]

Outputs are not stored: the notebooks are saved unexecuted, as 01 and 02 are.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lab import build  # noqa: E402

MODULES = [
    "nb03_blink_and_pins",
    "nb04_gpio_interrupts",
    "nb05_adc",
    "nb06_pwm_and_dac",
    "nb07_wifi",
    "nb08_sensors",
    "nb09_deploy_main_py",
    "nb10_logging_and_pandas",
    "nb11_sound_i2s",
    "nb12_mqtt",
    "nb13_espnow",
    "nb14_ble_sensor",
]


def main(wanted: list[str]) -> None:
    for name in MODULES:
        if wanted and not any(w in name for w in wanted):
            continue
        module = importlib.import_module(name)
        path = HERE.parent / module.NAME
        nbformat.write(build(module.CELLS), path)
        print("wrote", path.relative_to(HERE.parent.parent))


if __name__ == "__main__":
    main(sys.argv[1:])
