"""Routing cells between board and host, and the last-value rewrite, checked on CPython
(the rewrite's output must be valid Python; the kernel tests run it on MicroPython)."""

import ast

import pytest

from esp32_kernel.cells import RUN_DEVICE, SHOW_RESULT, parse_cell, route_cell, with_result


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def test_device_cell_becomes_one_await_with_its_source():
    out = route_cell(lines("import machine\nprint(1)\n"))
    assert out == [f"{RUN_DEVICE}('import machine\\nprint(1)\\n', first_line=1)\n"]


def test_host_cell_is_left_to_ipython_without_its_marker():
    assert route_cell(lines("%%host\nimport numpy\nnumpy.pi\n")) == ["import numpy\n", "numpy.pi\n"]


def test_other_cell_magics_pass_through():
    cell = lines("%%timeit\n1+1\n")
    assert route_cell(cell) == cell


def test_line_magics_run_in_order_with_device_code_keeping_line_numbers():
    out = route_cell(lines("%connect emulator\nx = 1\n%ports\nx\n"))
    assert out == [
        "get_ipython().run_line_magic('connect', 'emulator')\n",
        f"{RUN_DEVICE}('x = 1\\n', first_line=2)\n",
        "get_ipython().run_line_magic('ports', '')\n",
        f"{RUN_DEVICE}('x\\n', first_line=4)\n",
    ]


def test_magic_only_cell_and_empty_cell():
    assert route_cell(lines("%ports\n")) == ["get_ipython().run_line_magic('ports', '')\n"]
    assert route_cell([]) == []
    assert route_cell(lines("\n   \n")) == ["pass\n"]


def test_percent_inside_code_is_not_a_magic():
    out = route_cell(lines("x = 10 % 3\n"))
    assert out == [f"{RUN_DEVICE}('x = 10 % 3\\n', first_line=1)\n"]


@pytest.mark.parametrize(
    "source, expression_line",
    [
        ("1 + 1", 1),
        ("x = 2\nx * 3", 2),
        ("a = 1; a", 1),
        ("d = {}\nd[\n  'k'\n] if d else None  # comment", 2),
        ("'é' + 'x'", 1),
    ],
)
def test_last_expression_is_captured_on_its_own_line(source, expression_line):
    out = with_result(source, parse_cell(source))
    tree = ast.parse(out)  # still valid Python
    shows = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == SHOW_RESULT]
    assert len(shows) == 1 and shows[0].lineno == expression_line


@pytest.mark.parametrize(
    "source",
    ["x = 1", "print(1);", "print(1 + 1)", "for i in range(3):\n    i", "", "@micropython.asm_xtensa\ndef f(a2) -> int:\n    movi(a2, 1)",
     "x = (1"],
)
def test_cells_without_a_shown_value_are_sent_unchanged(source):
    assert with_result(source, parse_cell(source)) == source
