"""Every private member of ipykernel the kernel relies on (esp32_kernel/ipykernel_surface.py)
is there, with the parameters we call it with: an ipykernel upgrade that changes one fails
here, by name, before a cell misbehaves."""

from __future__ import annotations

import inspect

import pytest
from ipykernel.ipkernel import IPythonKernel
from ipykernel.zmqshell import ZMQInteractiveShell

from esp32_kernel.ipykernel_surface import MEMBERS
from kernel_harness import run_cell

CLASSES = {"kernel": IPythonKernel, "shell": ZMQInteractiveShell}
METHODS = [(o, n, p) for o, n, p in MEMBERS if p is not None]
DATA = [(o, n) for o, n, p in MEMBERS if p is None]


@pytest.mark.parametrize(("owner", "name", "parameters"), METHODS, ids=[f"{o}.{n}" for o, n, _ in METHODS])
def test_a_method_we_call_or_override_has_our_parameters(owner, name, parameters):
    method = getattr(CLASSES[owner], name, None)
    assert callable(method), f"ipykernel's {CLASSES[owner].__name__} has no {name} any more"
    assert tuple(inspect.signature(method).parameters)[1:] == parameters


def test_the_data_members_we_read_and_set_are_on_a_running_kernel(kernel):
    _, kc = kernel
    assert run_cell(kc, "1 + 1").result == "2"  # a device cell has run (it sets _allow_stdin)
    owners = "{'kernel': k, 'shell': k.shell, 'displayhook': k.shell.displayhook}"
    checks = ", ".join(f"({o!r}, {n!r})" for o, n in DATA)
    run = run_cell(kc, f"%%host\nk = get_ipython().kernel\nowners = {owners}\n"
                       f"print([f'{{o}}.{{n}}' for o, n in [{checks}] if not hasattr(owners[o], n)])")  # fmt: skip
    assert run.stdout == "[]\n", run.reply["content"]
