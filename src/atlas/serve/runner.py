"""Run the server: in the foreground (``atlas serve``) or in a background thread (demo, tests)."""

from __future__ import annotations

import gc
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI


class BackgroundServer:
    """A real uvicorn server on a real socket, in a thread; ``port=0`` picks a free port."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = uvicorn.Config(app, host=host, port=port, log_level="warning")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="atlas-server", daemon=True)
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The inference server did not start on {self.host}.")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()


def freeze_heap() -> None:
    """Move every object alive now (the imported libraries, the app) out of the garbage
    collector's reach. Without it a full collection walks the ~400,000 objects that model
    libraries bring, and stalls every request in flight for 20-200 ms a few times a second
    under load; requests' own short-lived objects are still collected as before."""
    gc.collect()
    gc.freeze()


def serve_forever(app: FastAPI, host: str, port: int) -> None:
    """Foreground serving; no per-request access log (it costs ~0.1 ms a request: use the
    Prometheus metrics and the feedback log instead)."""
    freeze_heap()
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
