"""The README's tour of the magics names only magics the kernel has, and has them all."""

import re
from pathlib import Path

import pytest

from kernel_harness import run_cell, start_kernel

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def tour_magics() -> set[str]:
    tour = README.split("## A tour of the magics", 1)[1].split("\n## ", 1)[0]
    first_column = [row.split("|")[1] for row in tour.splitlines() if row.startswith("| `%")]
    return {m.lstrip("%") for cell in first_column for m in re.findall(r"`(%%?[a-z_]+)", cell)}


@pytest.fixture(scope="module")
def kc(tmp_path_factory):
    km, kc = start_kernel(tmp_path_factory.mktemp("readme"))
    run_cell(kc, "pass")
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_every_magic_in_the_tour_exists(kc):
    listed = run_cell(kc, "%%host\nm = get_ipython().magics_manager.lsmagic()\nsorted(m['line']) + sorted(m['cell'])").result
    missing = {name for name in tour_magics() if f"'{name}'" not in listed}
    assert not missing, f"the README's tour names magics the kernel lacks: {missing}"


def test_the_tour_covers_every_magic_of_ours(kc):
    ours = run_cell(
        kc,
        "%%host\nimport inspect\nm = get_ipython().magics_manager.registry\n"
        "sorted({n for cls in m.values() if type(cls).__module__.startswith('esp32_kernel')"
        " for kind in cls.magics.values() for n in kind})",
    ).result
    names = set(re.findall(r"'([a-z_]+)'", ours))
    undocumented = names - tour_magics() - {"host_writefile", "host_reset"}
    assert not undocumented, f"magics missing from the README's tour: {undocumented}"


def test_the_magics_example_runs(kc):
    example = README.split("around them:\n\n```python\n", 1)[1].split("```", 1)[0]
    run = run_cell(kc, example)
    assert run.status == "ok", run.error
    assert run.result == "'esp32'"


def readme_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_live_data_examples_run(kc):
    plot, host = (b for b in readme_blocks() if b.startswith(("%plot", "%%host\np = live")))
    run = run_cell(kc, plot)
    assert run.status == "ok", run.error
    assert run.of_type("display_data"), "the %plot example showed no plot"
    run = run_cell(kc, host)
    assert run.status == "ok", run.error
    saved = run_cell(kc, "%%host\nimport pandas\nlen(pandas.read_csv('run.csv'))").result
    assert saved == "1000"  # every sample the loop emitted, in the CSV the example saved


def test_the_files_example_runs(kc):
    (writefile,) = (b for b in readme_blocks() if b.startswith("%%writefile /main.py"))
    assert run_cell(kc, writefile).status == "ok"
    assert "led.value(not led.value())" in run_cell(kc, "%cat /main.py").stdout
    run_cell(kc, "%rm /main.py")
