"""Shared helpers for the lab-course generators: one notebook from a list of cells.

Each notebook module in this folder has NAME and CELLS: a list of ("md", text) and
("code", text). `python notebooks/src/make_notebooks.py` writes them all.
"""

from __future__ import annotations

import textwrap

import nbformat

METADATA = {
    "kernelspec": {"display_name": "ESP32 (MicroPython)", "language": "python", "name": "esp32"},
    "language_info": {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": "3.4",
    },
}


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata=METADATA)
    for i, (kind, text) in enumerate(cells):
        text = textwrap.dedent(text).strip("\n")
        make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        nb.cells.append(make(text, id=f"cell-{i:02d}"))  # fixed ids: regenerating changes nothing
    nbformat.validate(nb)
    return nb
