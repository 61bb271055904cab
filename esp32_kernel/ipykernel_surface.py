"""ipykernel's private surface, in one place: what the kernel uses of ipykernel beyond its
public API, so an upgrade that changes it breaks here (and in tests/test_ipykernel_surface.py,
which checks every member named below) instead of somewhere in the cell logic.

Tested with ipykernel 7.4 (pyproject.toml allows 7.4.x only). What each is for:
- answering completion and inspection beside a running device cell: `_publish_status`,
  `_get_shell_context_var` + `_shell_parent_ident` (the cell's parent, restored after),
  `dispatch_shell(msg, None, concurrent=True)`, and the overridden `shell_main(subshell_id, msg)`
  and `dispatch_control(msg)`;
- the device-cell fast path: `_allow_stdin` (a password box needs it), the displayhook's
  `session`/`pub_socket`/`parent_header`/`topic` (an execute_result as IPython sends it),
  the shell's `_showtraceback` (the cell's error shown as ours);
- interrupts: the overridden `_send_interrupt_children()` and `pre_handler_hook()`, whose
  SIGINT handler ipykernel restores from `saved_sigint_handler`;
- no fixed sleep before each reply: `_execute_sleep`.
"""

from __future__ import annotations

import signal

from ipykernel.ipkernel import IPythonKernel

# The members named here, as the tests check them: (owner, name, parameters or None for data).
MEMBERS = (
    ("kernel", "_publish_status", ("status", "channel", "parent")),
    ("kernel", "_get_shell_context_var", ("var",)),
    ("kernel", "_shell_parent_ident", None),
    ("kernel", "dispatch_shell", ("msg", "subshell_id", "concurrent")),
    ("kernel", "shell_main", ("subshell_id", "msg")),
    ("kernel", "dispatch_control", ("msg",)),
    ("kernel", "_allow_stdin", None),
    ("kernel", "_send_interrupt_children", ()),
    ("kernel", "pre_handler_hook", ()),
    ("kernel", "post_handler_hook", ()),
    ("kernel", "_execute_sleep", None),
    ("shell", "_showtraceback", ("etype", "evalue", "stb")),
    ("displayhook", "session", None),
    ("displayhook", "pub_socket", None),
    ("displayhook", "parent_header", None),
    ("displayhook", "topic", None),
)


def publish_status(kernel: IPythonKernel, state: str, parent: dict) -> None:
    kernel._publish_status(state, "shell", parent=parent)


def shell_parent(kernel: IPythonKernel) -> tuple:
    """The shell's current parent (identities and header), to restore after answering beside."""
    return kernel._get_shell_context_var(kernel._shell_parent_ident), kernel.get_parent("shell")


def restore_shell_parent(kernel: IPythonKernel, saved: tuple) -> None:
    ident, parent = saved
    kernel.set_parent(ident, parent, channel="shell")


def dispatch_beside(kernel: IPythonKernel, msg):
    """A coroutine that handles shell request `msg` beside the one being handled."""
    return kernel.dispatch_shell(msg, None, concurrent=True)


def allow_stdin(kernel: IPythonKernel, allowed: bool) -> None:
    kernel._allow_stdin = allowed


def handle_sigint_while_handling(kernel: IPythonKernel, handler) -> None:
    """Install `handler` for SIGINT while ipykernel handles a request (it restores its own after)."""
    kernel.saved_sigint_handler = signal.signal(signal.SIGINT, handler)


def reply_without_sleeping(kernel: IPythonKernel) -> None:
    """ipykernel sleeps 0.5 ms before every execute_reply (a FIXME: outputs that "on rare
    occasions" reached clients after the reply). The outputs are flushed before the reply
    (ipykernel waits for its IOPub thread to send them), and clients end a cell on the idle
    status, which follows them on IOPub: the sleep only delays the reply."""
    kernel._execute_sleep = 0.0


def show_traceback(shell, etype: type, value: BaseException, stb: list[str]) -> None:
    shell._showtraceback(etype, value, stb)


def publish_execute_result(shell, count: int, text: str) -> None:
    """An execute_result, sent as IPython's displayhook sends it."""
    hook = shell.displayhook
    content = {"execution_count": count, "data": {"text/plain": text}, "metadata": {}}
    hook.session.send(hook.pub_socket, "execute_result", content, hook.parent_header, ident=hook.topic)
