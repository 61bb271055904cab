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
