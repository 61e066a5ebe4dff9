"""`atlas serve` freezes the heap before it serves: full garbage collections then skip the
hundreds of thousands of objects that model libraries bring (they stalled requests 20-200 ms)."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from atlas.serve import runner


def test_serve_forever_freezes_the_heap_first(monkeypatch) -> None:
    seen: dict[str, int] = {}

    def fake_run(app, **kwargs) -> None:
        seen["frozen"] = gc.get_freeze_count()
        seen["port"] = kwargs["port"]

    monkeypatch.setattr(runner.uvicorn, "run", fake_run)
    try:
        runner.serve_forever(FastAPI(), "127.0.0.1", 8123)
    finally:
        gc.unfreeze()  # give the test process its collector back
    assert seen["port"] == 8123
    assert seen["frozen"] > 10_000  # the interpreter and the libraries imported so far
