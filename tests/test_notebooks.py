"""Every notebook in notebooks/ runs clean, top to bottom, on the real kernel.

nbclient starts the "esp32" kernel as JupyterLab would, in an environment with no board
configured, so the kernel starts its own emulated ESP32 (real MicroPython).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kernel_harness import isolated_env

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
ANSI_COLOURS = re.compile(r"\x1b\[[0-9;]*m")
CELL_HANG_GUARD = 60  # seconds per cell: only to fail instead of hanging

# Text that must appear in a notebook's outputs, beyond "no cell errored".
EXPECTED = {
    "01-first-steps.ipynb": [
        "using the emulated ESP32 at socket://127.0.0.1:",  # the kernel's start-up notice
        "name='micropython'",  # sys.implementation, as the board's repr
        "'esp32'",  # sys.platform
        "tick 0\ntick 1\ntick 2\ntick 3\ntick 4\ndone\n",  # the loop, in order, whole lines
        "12.56637",  # the last expression's value (pi * 2**2)
        "12.57",
        "This cell ran on your computer:",  # the %%host cell
        "Now: emulated ESP32 at socket://127.0.0.1:",  # %ports
    ],
}




def numbers(text: str, pattern: str) -> list[tuple[float, ...]]:
    """Every match of `pattern` in `text`, its groups as floats (or lists of ints)."""
    found = []
    for match in re.finditer(pattern, text):
        found.append(tuple(float(g) if re.fullmatch(r"-?[0-9.]+", g) else g for g in match.groups()))
    assert found, f"no output matched {pattern!r}"
    return found


def one(text: str, pattern: str) -> tuple[float, ...]:
    return numbers(text, pattern)[-1]


def check_blink(out: str) -> None:
    assert one(out, r"LED pin level: (\d)") == (1,)
    levels = one(out, r"levels: \[([0-9, ]+)\]")[0]
    assert levels == "0, 1, 0, 1, 0, 1", "the blink loop toggles the pin every step"
    assert one(out, r"brightness: ([0-9.]+)") == (0.0,), "the bench's LED is off after led.off()"
    for pin in ("'SVP'", "'D2'", "24", "40"):
        assert f"Pin({pin}) -> ValueError: invalid pin" in out
    for gpio in (34, 35, 36, 39):
        assert f"Pin({gpio}, Pin.OUT) -> ValueError: pin can only be input" in out
    assert one(out, r"BOOT button up: GPIO 0 reads (\d)") == (1,)
    assert one(out, r"BOOT button held: GPIO 0 reads (\d)") == (0,)


def check_interrupts(out: str) -> None:
    assert one(out, r"presses counted: (\d+)") == (3,), "three bench presses, three interrupts"
    assert "LED is on" in out, "toggled three times from off"
    bounced = one(out, r"one press counted as (\d+) presses")[0]
    assert bounced > 1, "a bouncy press counts several times without debouncing"
    assert one(out, r"debounced: one press counted as (\d+) press\b") == (1,)


def check_adc(out: str) -> None:
    before, after, change = one(out, r"raw before: (\d+), after: (\d+), changed by (-?\d+)")
    assert 0 <= before <= 4095 and 0 <= after <= 4095
    assert abs(before - 2048) < 50 and abs(after - 3276) < 50 and change > 1000, "the pot moved from 50 % to 80 %"
    tables = numbers(out, r"(ATTN_\w+)\s+raw\s+(\d+)")
    assert len(tables) == 8
    high, low = dict(tables[:4]), dict(tables[4:])
    assert high["ATTN_0DB"] == 4095 and high["ATTN_11DB"] < 4095, "2.64 V saturates the 1.1 V range only"
    assert all(0 < raw < 4095 for raw in low.values()), "0.66 V is inside every range"
    assert low["ATTN_0DB"] > low["ATTN_2_5DB"] > low["ATTN_6DB"] > low["ATTN_11DB"], "smaller ranges, bigger numbers"
    for linear, uv in numbers(out, r"raw\*3\.3/4095 = ([0-9.]+) V   read_uv\(\) = ([0-9.]+) V"):
        assert abs(linear - 0.66) < 0.01 and abs(uv - 0.66) < 0.01
    samples, lowest, highest = one(out, r"(\d+) samples, from ([0-9.]+) V to ([0-9.]+) V")
    assert samples >= 100 and lowest < 0.3 and highest > 3.0, "the live loop saw the knob sweep end to end"
    assert one(out, r"points drawn in the live plot: (\d+)")[0] > 50


def check_pwm_dac(out: str) -> None:
    assert "duty_u16=16384" in out and "duty=25.00%" in out
    assert one(out, r"brightness at 25 % duty: ([0-9.]+)") == (0.25,)
    assert "faded twice; duty now 0" in out
    assert "DAC(Pin(2)) -> ValueError: invalid Pin for DAC" in out
    assert "DAC(Pin(25)).write(256) -> ValueError: value out of range" in out
    for expected, measured in numbers(out, r"expected ([0-9.]+) V, the ADC reads ([0-9.]+) V"):
        assert abs(expected - measured) < 0.02, "the ADC reads what the DAC wrote"
    assert one(out, r"largest difference set vs measured: ([0-9.]+) V")[0] < 0.02
    samples, set_lo, set_hi, meas_lo, meas_hi = one(out, r"(\d+) samples: set ([0-9.]+)–([0-9.]+) V, measured ([0-9.]+)–([0-9.]+) V")
    assert samples == 160 and set_lo < 0.05 and set_hi > 3.25 and meas_lo < 0.05 and meas_hi > 3.25
    assert one(out, r"points drawn in the live plot: (\d+)")[0] > 50


def check_wifi(out: str) -> None:
    scanned = {ssid: (rssi, channel) for ssid, rssi, channel in numbers(out, r"(\S+)\s+(-\d+)\s+(\d+)  (?:WPA2_PSK|OPEN)")}
    assert set(scanned) == {"classroom", "lab-sensors", "cafe-guest"}
    assert all(-100 < rssi < 0 for rssi, _ in scanned.values()), "RSSI is negative dBm"
    assert scanned["classroom"][1] == 6 and abs(scanned["classroom"][0] + 55) <= 8
    assert "STAT_WRONG_PASSWORD after" in out and "STAT_GOT_IP after" in out
    assert "connected to classroom — address 192.168." in out
    count, low, high = one(out, r"RSSI: (\d+) samples, min (-\d+) dBm, max (-\d+) dBm")
    assert count == 30 and -70 < low <= high < -40, "RSSI over time near the AP's -55 dBm"
    assert "ADC2 (GPIO 4) with WiFi on -> OSError 116" in out
    assert "ADC1 (GPIO 34) still works: True" in out
    assert "WiFi off; connected: False" in out


def check_sensors(out: str) -> None:
    temp, humidity = one(out, r"DHT22: ([0-9.]+) °C, ([0-9.]+) %RH")
    assert (temp, humidity) == (23.5, 41.0)
    assert "found 1 DS18B20: ['281b015e1a0b00be']" in out
    assert one(out, r"temperatures \(°C\): \[([0-9.]+)\]") == (21.25,)
    assert one(out, r"after warming \(°C\): \[([0-9.]+)\]") == (30.0,)
    rainbow = "[[40, 0, 0], [40, 20, 0], [40, 40, 0], [0, 40, 0], [0, 40, 40], [0, 0, 40], [20, 0, 40], [40, 0, 40]]"
    assert f"the bench's strip shows: {rainbow}" in out, "the strip received the rainbow, colours in order"
    assert "30.00 °C -> 7 LEDs lit" in out
    bar = one(out, r"the bench's strip shows: (\[\[35, 0, 5\].*\])")[0]
    assert bar.count("[35, 0, 5]") == 7 and bar.endswith("[0, 0, 0]]")
    assert "strip off" in out


def check_sound(out: str) -> None:
    heard = [(float(a), int(b)) for a, b in re.findall(r"level ([0-9.]+) of full scale, pitch about ([0-9]+) Hz", out)]
    assert [level for level, _ in heard] == [0.21, 0.42], heard  # 0.3 and 0.6 of full scale, over root 2
    assert abs(heard[0][1] - 440) <= 20 and abs(heard[1][1] - 1000) <= 20, heard  # zero crossings in 64 ms
    assert "plotted 10 ms of sound" in out and "done listening" in out and "FigureWidget" in out
    assert "the speaker played 1.0 s, 500 Hz, level 0.26" in out  # 12000 / 32768 / sqrt(2)
    assert "the speaker's last second: 500 Hz, level 0.06" in out  # a quarter of it


def check_mqtt(out: str) -> None:
    assert "connected: True" in out and "Mosquitto broker on this computer" in out
    readings = re.findall(r"the dashboard got ([0-9.]+) on esp32-lab/[0-9a-f]{4}/temperature", out)
    assert len(readings) == 5, "every reading the board published reached the dashboard"
    assert "FigureWidget" in out, "the readings were plotted"
    assert "got on -> LED on" in out and "LED on GPIO 2: 1" in out and "the bench's LED on GPIO 2: lit" in out
    assert "disconnected" in out and "the dashboard is closed" in out


def check_espnow(out: str) -> None:
    receiver = one(out, r"receiver's MAC: ([0-9a-f:]{17})")[0]
    assert "as board 'remote'" in out and "broadcast acknowledged: True" in out
    assert f"[remote] the receiver is {receiver}" in out, "the remote learned the receiver's MAC from its broadcast"
    assert "remote: sent 3 presses" in out and "[default] receiver: received 3 presses; LED is on" in out
    assert one(out, r"RSSI (-\d+) dBm") == (-73,), "20 m away on the bench's air"
    assert "remote: ESP-NOW off" in out and "receiver: ESP-NOW off" in out and "Disconnected board 'remote'" in out


def check_ble_sensor(out: str) -> None:
    name = one(out, r"advertising as (esp32-[0-9a-f]{4})")[0]
    assert f"the phone found {name} at -32 dBm" in out
    assert one(out, r"the phone read ([0-9.]+) °C") == (22.0,), "the thermistor's 22 °C through GATT"
    times, last, warmest = one(out, r"notified (\d+) times, last ([0-9.]+) °C \(warmest ([0-9.]+) °C\)")
    assert times >= 4 and last == warmest == 32.0, "notifications followed the warming thermistor"
    assert "FigureWidget" in out and "BLE off" in out and "the phone is disconnected" in out


def check_deploy(out: str) -> None:
    assert "Wrote /blink.py on the board" in out and "blinked 3 times" in out
    assert "Wrote /main.py on the board" in out and "# main.py: runs at every power-on" in out
    assert "Soft reset: MicroPython restarted" in out
    assert "\nFalse\n" in out, "the soft reset cleared the board's variables"
    assert "Hard reset (the emulator's reset line)" in out
    assert "main.py: started" in out, "the hard reset ran main.py"
    assert "back at the prompt" in out
    assert "Renamed main.py to main.py.disabled" in out
    assert "Removed /main.py.disabled." in out and "Removed /blink.py." in out
    listings = re.findall(r"^(?:blink\.py|boot\.py|main\.py(?:\.disabled)?)$", out, re.M)
    assert listings[-1] == "boot.py" and "main.py" not in listings, "main.py never left behind"


def check_logging(out: str) -> None:
    rows = one(out, r"logger stopped; (\d+) rows kept on the board")[0]
    samples, seconds = one(out, r"(\d+) samples over ([0-9.]+) s")
    assert samples >= 40 and samples == rows and 2.0 < seconds < 10, "20 Hz for a few seconds, every sample kept"
    rise, low, high, rate = one(out, r"warmed by ([0-9.]+) °C \(([0-9.]+) → ([0-9.]+) °C\), about ([0-9.]+) °C per second")
    assert abs(low - 25) < 0.5 and abs(high - 40) < 0.5 and 1 < rate < 20, "the thermistor warmed from 25 to 40 °C"
    assert one(out, r"correlation of temperature and knob: ([0-9.-]+)")[0] > 0.9
    assert one(out, r"plotted (\d+) samples") == (samples,)
    assert one(out, r"(\d+) rows from the board's list; last temperature ([0-9.]+) °C")[0] == rows
    read_back, t_lo, t_hi = one(out, r"(\d+) rows read back from lab10-log.csv; temperature ([0-9.]+)–([0-9.]+) °C")
    assert read_back == rows and abs(t_lo - 25) < 0.5 and abs(t_hi - 40) < 0.5
    assert "sha256 checked" in out and "saved lab10-live.csv" in out and "Removed /log.csv." in out


# Checks of the values a notebook's outputs show (all its code cells' text together).
CHECKS = {
    "03-blink-and-pins.ipynb": check_blink,
    "04-gpio-interrupts.ipynb": check_interrupts,
    "05-adc.ipynb": check_adc,
    "06-pwm-and-dac.ipynb": check_pwm_dac,
    "07-wifi.ipynb": check_wifi,
    "08-sensors.ipynb": check_sensors,
    "09-deploy-main-py.ipynb": check_deploy,
    "10-logging-and-pandas.ipynb": check_logging,
    "11-sound-i2s.ipynb": check_sound,
    "12-mqtt.ipynb": check_mqtt,
    "13-espnow.ipynb": check_espnow,
    "14-ble-sensor.ipynb": check_ble_sensor,
}


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOKS_DIR}"


def cell_text(cell) -> str:
    """All the text a code cell showed: streams, results and errors."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            parts.append(output["data"].get("text/plain", ""))
        elif output["output_type"] == "error":
            parts.append(ANSI_COLOURS.sub("", "\n".join(output["traceback"])))
    return "".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_clean_top_to_bottom(path: Path, tmp_path: Path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "esp32", "the notebook should ask for the ESP32 kernel"
    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    client = NotebookClient(
        nb,
        kernel_name="esp32",
        timeout=CELL_HANG_GUARD,
        startup_timeout=CELL_HANG_GUARD,
        allow_errors=True,  # collect every error below, with its cell, instead of stopping at the first
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env=isolated_env(tmp_path))  # passed on to the kernel manager's start_kernel

    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    errors = [
        f"cell {i} ({c.source.splitlines()[0] if c.source else ''!r}):\n{cell_text(c)}"
        for i, c in enumerate(code_cells)
        if any(o["output_type"] == "error" for o in c.get("outputs", []))
    ]
    assert not errors, "cells errored:\n" + "\n\n".join(errors)
    assert all(c.execution_count for c in code_cells), "every code cell should have run"

    everything = "\n".join(cell_text(c) for c in code_cells)
    missing = [text for text in EXPECTED.get(path.name, []) if text not in everything]
    assert not missing, f"missing from the outputs: {missing}\n--- outputs ---\n{everything}"
    check = CHECKS.get(path.name)
    if check is not None:
        try:
            check(everything)
        except AssertionError as e:
            raise AssertionError(f"{path.name}: {e}\n--- outputs ---\n{everything}") from None


def test_lab_notebooks_are_generated():
    """notebooks/src/make_notebooks.py writes the lab notebooks; they have values checked."""
    labs = [p.name for p in NOTEBOOKS if p.name[:2].isdigit() and int(p.name[:2]) >= 3]
    assert labs and all(name in CHECKS for name in labs), f"lab notebooks without value checks: {set(labs) - set(CHECKS)}"
