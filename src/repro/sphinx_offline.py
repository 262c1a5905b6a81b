"""A Sphinx extension that keeps the built book offline.

jupyter-book 1.x always loads ``sphinx_thebe``, which injects its configuration script twice per
page (a console error: ``THEBE_JS_URL`` declared twice) and points at a CDN. Live kernels through
Binder are not available to this book's readers anyway, so this extension unhooks sphinx-thebe's
event handlers; the pages then load nothing from outside the machine (checked by
``tests/test_book.py`` in headless Chromium).
"""
from __future__ import annotations


def _drop_thebe(app) -> None:
    for event, listeners in app.events.listeners.items():
        listeners[:] = [l for l in listeners if getattr(l.handler, "__module__", "") != "sphinx_thebe"]


def setup(app):
    app.connect("builder-inited", _drop_thebe, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
