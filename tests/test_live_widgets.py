"""%gpio, %adc, %bench, %wifi through the real kernel and the emulator's bench."""

from __future__ import annotations

import json
import time

import pytest

from kernel_harness import HANG_GUARD, collect, run_cell, running_kernel

from esp32_kernel.emulator.control import ControlChannel


@pytest.fixture(scope="module")
def kc(tmp_path_factory):
    with running_kernel(tmp_path_factory.mktemp("widgets")) as (km, kc):
        kc.manager = km  # for the stop button
        yield kc


def widget(run, model: str, description: str) -> str:
    """The comm id of the widget of that model and description the cell opened."""
    for msg in run.of_type("comm_open"):
        state = msg["content"]["data"].get("state", {})
        if state.get("_model_name") == model and state.get("description") == description:
            return msg["content"]["comm_id"]
    raise AssertionError(f"no {model} {description!r} among the cell's widgets")


def set_value(kc, comm_id: str, **state) -> None:
    """What a front end sends when the user changes a widget."""
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": state, "buffer_paths": []}}))


def click(kc, comm_id: str) -> None:
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}}))


def host_value(kc, expression: str):
    run = run_cell(kc, f"%%host\nimport json\nprint(json.dumps({expression}))")
    assert run.status == "ok", run.error
    return json.loads(run.stdout.strip().splitlines()[-1])


def eventually(kc, expression: str, predicate, timeout: float = HANG_GUARD):
    deadline = time.monotonic() + timeout
    while True:
        value = host_value(kc, expression)
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{expression} stayed {value!r}")
        time.sleep(0.1)


EMULATOR = "get_ipython().kernel.boards.emulator"


def test_gpio_toggle_lights_the_led_and_waits_for_a_running_cell(kc):
    run_cell(kc, "%bench led:2")
    run = run_cell(kc, "%gpio 2 0:in")
    assert run.status == "ok", run.error
    toggle = widget(run, "ToggleButtonModel", "GPIO2")
    set_value(kc, toggle, value=True)
    eventually(kc, f"{EMULATOR}.get_pin(2)['level']", lambda v: v == 1)
    # While a cell runs the change waits, and nothing reaches the link under the cell.
    busy = kc.execute("import time\ntime.sleep(1.5)\nprint('cell done')")
    time.sleep(0.5)
    set_value(kc, toggle, value=False)
    reply = kc.get_shell_msg(timeout=HANG_GUARD)
    while reply["parent_header"].get("msg_id") != busy:
        reply = kc.get_shell_msg(timeout=HANG_GUARD)
    assert reply["content"]["status"] == "ok"
    eventually(kc, f"{EMULATOR}.get_pin(2)['level']", lambda v: v == 0)
    # An input pin's edges come back as records (gpio0) that the indicator follows.
    run_cell(kc, f"%%host\n{EMULATOR}.set_pin(0, 1)")
    eventually(kc, "live.frame('gpio0')['gpio0'].tolist()[-1] if 'gpio0' in live.names() else None", lambda v: v == 1)


def test_adc_panel_follows_the_bench_potentiometer(kc):
    run = run_cell(kc, "%bench pot:34")
    pot = widget(run, "FloatSliderModel", "pot 34")
    run = run_cell(kc, "%adc 34 --rate 50")
    assert run.status == "ok", run.error
    mid = eventually(kc, "live.frame('adc34')['adc34'].tolist()[-1] if 'adc34' in live.names() else None", lambda v: v is not None)
    assert abs(mid - 2047) < 120  # half of 3.3 V at 11 dB
    set_value(kc, pot, value=1.0)
    eventually(kc, "live.frame('adc34')['adc34'].tolist()[-1]", lambda v: v > 4000)
    run_cell(kc, "from machine import Timer\nTimer(3).deinit()")


def test_wifi_connect_keeps_the_password_out_of_the_notebook_and_history(kc):
    run_cell(kc, f"%%host\n{EMULATOR}.add_ap('lab', 'hun' + 'ter22')")  # the cell's text is history too
    run = run_cell(kc, "%wifi")
    assert run.status == "ok", run.error
    ssid = widget(run, "TextModel", "SSID")
    password = widget(run, "PasswordModel", "password")
    connect = widget(run, "ButtonModel", "connect")
    set_value(kc, ssid, value="lab")
    set_value(kc, password, value="hunter22")
    click(kc, connect)
    host_value(kc, '1')  # the shell handles messages in order: the click has landed
    run_cell(kc, "import network, time\nw = network.WLAN(network.STA_IF)\nfor _ in range(50):\n    if w.isconnected(): break\n    time.sleep_ms(100)")
    assert run_cell(kc, "w.isconnected()").result == "True"
    history = host_value(kc, "[c for _, _, c in get_ipython().history_manager.get_range()]")
    assert not any("hunter22" in cell for cell in history)
    state = host_value(kc, "[w.value for w in __import__('ipywidgets').Widget.widgets.values() if type(w).__name__ == 'Password']")
    assert state and "hunter22" not in state


def test_ble_scan_table_lists_what_the_board_hears(kc):
    run_cell(kc, f"%%host\n{EMULATOR}.bench('ble_sensor', 'greenhouse', 23.5)")
    run = run_cell(kc, "%ble 0.5")  # the scan runs on the board once the cell has ended
    assert run.status == "ok", run.error
    rows = eventually(kc, "[w.value for w in __import__('ipywidgets').Widget.widgets.values() "
                          "if type(w).__name__ == 'HTML' and 'greenhouse' in w.value]", bool)  # fmt: skip
    assert "0x181a" in rows[-1] and "dBm" in rows[-1] and "<td>yes</td>" in rows[-1]  # its service, signal, connectable
    assert rows[-1].count("0x181a") == 1, rows[-1]  # each advertising report replaces the last, not added to it
    assert run_cell(kc, "%ble 100").reply["content"]["ename"] == "UsageError"


def test_bench_sliders_set_the_bluetooth_devices_readings(kc):
    run = run_cell(kc, "%bench ble_sensor:hall heart_rate:wrist")
    assert run.status == "ok", run.error
    set_value(kc, widget(run, "FloatSliderModel", "hall °C"), value=30.5)
    set_value(kc, widget(run, "IntSliderModel", "wrist bpm"), value=140)
    eventually(kc, f"[{EMULATOR}.bench('ble_sensor', 'hall')['celsius'], {EMULATOR}.bench('ble_heart_rate', 'wrist')['bpm']]",
               lambda v: v == [30.5, 140.0])  # fmt: skip


def test_ble_read_lists_a_devices_characteristics_with_their_values(kc):
    mac = host_value(kc, f"{EMULATOR}.bench('ble_sensor', 'cellar', 12.5, 80)['mac']")
    run = run_cell(kc, f"%ble --read {mac}")
    assert run.status == "ok", run.error
    assert "UUID(0x2a6e)" in run.stdout and "read, notify  e204" in run.stdout, run.stdout  # 12.50 °C
    assert "UUID(0x2a6f)" in run.stdout and "401f" in run.stdout  # 80.00 %RH
    failed = run_cell(kc, "%ble --read 02:00:00:00:00:09")
    assert failed.status == "error" and "did not take the connection" in failed.reply["content"]["evalue"]
    assert run_cell(kc, "%ble --read nope").reply["content"]["ename"] == "UsageError"



def test_ble_read_follow_keeps_the_values_live_until_the_stop_button(kc):
    """--follow stays connected, subscribed: the bench sensor's notifications replace its
    values in the table while the cell runs; the stop button ends it and the link goes."""
    mac = host_value(kc, f"{EMULATOR}.bench('ble_sensor', 'attic', 12.5, 80)['mac']")
    control = ControlChannel(host_value(kc, f"{EMULATOR}.control_address"))  # the shell will be busy
    msg_id = kc.execute(f"%ble --read {mac} --follow 30")
    deadline = time.monotonic() + HANG_GUARD
    while control.exchange(["ble_sensor attic"])[0]["connections"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the emulator while the board connects
    if control.exchange(["ble_sensor attic"])[0]["connections"] == 0:
        raise AssertionError(f"the board did not connect: {collect(kc, msg_id).reply['content']}")
    control.exchange(["ble_sensor attic 30 80"])  # 30.00 °C: 0x0bb8, notified within its second
    values = []
    while not any("b80b" in v for v in values) and time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=HANG_GUARD)
        if msg["msg_type"] == "comm_msg":  # (sent from the board's reader thread: no parent)
            values.append(str(msg["content"]["data"].get("state", {}).get("value", "")))
    assert any("b80b" in v and "updates)" in v for v in values), values[-3:]
    kc.manager.interrupt_kernel()  # the stop button
    run = collect(kc, msg_id)
    assert run.status == "error" and run.reply["content"]["ename"] == "KeyboardInterrupt", run.reply["content"]
    assert control.exchange(["ble_sensor attic"])[0]["connections"] == 0  # the board let it go
    after = run_cell(kc, "print('free', 1 + 1)")
    assert after.stdout == "free 2\n", after.reply["content"]
    assert run_cell(kc, "%ble --follow 3").reply["content"]["ename"] == "UsageError"
