"""A live Bokeh figure as an ipywidget that a view made later (the page reloaded, the
notebook opened in a second window) shows as it is now, and keeps following.

jupyter_bokeh's `BokehModel` has two habits that break such a view:

- its state is the document serialized once, when the widget was made; a new view asks for
  the state and gets the figure as first made (no series yet), to which later patches no
  longer apply. Here the state is serialized again each time it is asked for, with the
  auto ranges free (BokehJS sends the ranges it computed back to the kernel: a view built
  with them pinned would stop following the data);
- each patch goes out as three comm messages (header, metadata, content) that the view
  reassembles in order. A view that comes to life between two of them reads every later
  patch out of step and silently drops it: a frozen plot. So while a new view is being
  made (its whole state was asked for: ipywidgets' `request_states` on a page load, a
  widget's `request_state`), patches wait, until a view speaks (BokehJS reports the size
  and ranges it computed) or `NEW_VIEW_GUARD` has passed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

from bokeh.core.json_encoder import serialize_json
from jupyter_bokeh import BokehModel

NEW_VIEW_GUARD = 2.0  # seconds patches wait at most for a new view to speak
STATE_WAIT = 5.0  # seconds a widget request on another thread waits for the event loop


class FigureWidget(BokehModel):
    """Made on the kernel's event loop, where the live plots change the document."""

    def __init__(self, model, **kwargs) -> None:
        self._owner = threading.current_thread()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._held: list | None = None  # patches waiting for a new view, else None
        self._guard: asyncio.TimerHandle | None = None
        self._opened = False  # the first view is made from the comm_open: nothing to hold
        super().__init__(model, **kwargs)
        self._opened = True

    def get_state(self, key=None, drop_defaults=False):
        state = super().get_state(key, drop_defaults)
        if "render_bundle" in state and getattr(self, "_model", None) is not None:
            state["render_bundle"] = self._on_loop(self._state_for_a_new_view)
        return state

    def _state_for_a_new_view(self) -> str:
        """The document now, for a view about to be made (the whole state is asked for
        only then): patches made from now on wait until it exists."""
        bundle = self._model_to_traits(self._model)
        _free_auto_ranges(bundle["docs_json"])
        if self._opened and self._loop is not None:  # (no loop, no guard: nothing held)
            if self._held is None:
                self._held = []
            self._loop.call_soon_threadsafe(self._arm_guard)
        return serialize_json(bundle)

    def _arm_guard(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
        self._guard = self._loop.call_later(NEW_VIEW_GUARD, self._release)

    def _on_loop(self, work):
        """`work()` run on the event loop, where the live plots change the document; widget
        messages may come on ipykernel's subshell threads."""
        loop = getattr(self, "_loop", None)
        if loop is None or threading.current_thread() is getattr(self, "_owner", None):
            return work()
        done: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(work())
            except BaseException as e:  # handed to the waiting thread
                done.set_exception(e)

        loop.call_soon_threadsafe(run)
        try:
            return done.result(timeout=STATE_WAIT)
        except concurrent.futures.TimeoutError:  # host code holds the loop: nothing renders now
            return work()

    def _handle_msg(self, msg) -> None:
        if self._loop is not None and threading.current_thread() is not self._owner:
            self._loop.call_soon_threadsafe(self._handle_msg_here, msg)  # see _on_loop
        else:
            self._handle_msg_here(msg)

    def _handle_msg_here(self, msg) -> None:
        super()._handle_msg(msg)
        data = msg["content"]["data"]
        from_a_view = data.get("method") == "custom" and data.get("content", {}).get("event") == "jsevent"
        if self._held is not None and from_a_view:
            self._release()  # a view spoke: the new one is there

    def _document_patched(self, event) -> None:
        if self._held is not None:
            self._held.append(event)
        else:
            super()._document_patched(event)

    def _release(self) -> None:
        held, self._held = self._held, None
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None
        for event in held or ():
            super()._document_patched(event)


def _free_auto_ranges(node) -> None:
    """Drop the start and end that BokehJS computed for each DataRange1d (in place)."""
    if isinstance(node, dict):
        if node.get("name") == "DataRange1d" and isinstance(node.get("attributes"), dict):
            node["attributes"] = {k: v for k, v in node["attributes"].items() if k not in ("start", "end")}
        for value in node.values():
            _free_auto_ranges(value)
    elif isinstance(node, list):
        for value in node:
            _free_auto_ranges(value)
