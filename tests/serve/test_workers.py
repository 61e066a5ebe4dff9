"""``atlas serve --workers 2``: the real command in a subprocess on a free port, over real HTTP.

Both worker processes answer on the one port; ``/metrics``, wherever a scrape lands, counts
every request of every worker (a killed worker's counts included, and its replacement's);
the feedback log holds every answer; SIGTERM stops the workers and the parent, leaving no
process behind. The option's bounds are checked through the real entry point."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from atlas.cli.main import main
from atlas.registry import ModelRegistry
from atlas.serve.feedback import FeedbackLog

ATLAS = str(Path(sys.executable).with_name("atlas"))
WORKERS = 2
ROUND = 16  # requests sent at a time, each on a new connection
THREADS = 4
TIMEOUT_S = 120.0  # generous: the shared machine may be busy; nothing is timed
POLL_S = 0.1
MODEL = "credit"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(what: str, check: Callable[[], Any], log: Path | None = None) -> Any:
    """Poll ``check`` until it returns something truthy (its value), or fail after
    ``TIMEOUT_S`` (with the server's ``log``)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            value = check()
            if value:
                return value
        time.sleep(POLL_S)
    pytest.fail(f"timed out waiting for {what}; server log:\n{log.read_text() if log else ''}")


def _samples(text: str, name: str) -> dict[str, float]:
    """``name``'s samples in exposition ``text``: the label part (or '') -> value."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")):
            labels, value = line[len(name) :].rsplit(" ", 1)
            out[labels] = out.get(labels, 0.0) + float(value)
    return out


def _pids(text: str) -> dict[int, float]:
    """Requests answered by each live worker (``atlas_worker_requests{pid="..."}``)."""
    return {
        int(labels.split('pid="')[1].split('"')[0]): value
        for labels, value in _samples(text, "atlas_worker_requests").items()
    }


class Served:
    """The ``atlas serve --workers 2`` process (its own session) and its URL."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.proc, self.url, self.log = proc, url, log
        self.sent: list[str] = []

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", timeout=10).text

    def predict(self, row: dict[str, Any], request_id: str) -> str:
        """One answer, on a new connection; a failed request fails the test (it would leave
        the server with counts the test does not know of)."""
        body = {"records": [row], "request_id": request_id}
        try:
            answer = httpx.post(f"{self.url}/v1/models/{MODEL}:predict", json=body, timeout=30)
        except httpx.HTTPError as exc:
            raise AssertionError(f"{request_id}: {exc!r}") from None
        assert answer.status_code == 200, answer.text
        return str(answer.json()["request_id"])

    def send_round(self, row: dict[str, Any]) -> None:
        ids = [f"req-{len(self.sent) + i}" for i in range(ROUND)]
        with ThreadPoolExecutor(THREADS) as pool:
            self.sent += list(pool.map(lambda rid: self.predict(row, rid), ids))

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)


@pytest.fixture
def served(make_settings, make_draft, tmp_path: Path) -> Iterator[tuple[Served, Any, Any]]:
    settings = make_settings()
    registry = ModelRegistry.from_settings(settings)
    draft = make_draft()
    registry.register(MODEL, draft)
    registry.promote(MODEL, 1)
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [ATLAS, "serve", "--workers", str(WORKERS), "--host", "127.0.0.1", "--port", f"{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Served(proc, f"http://127.0.0.1:{port}", log)
    try:
        _until("the server", lambda: httpx.get(server.url + "/v2/health/live").is_success, log)
        yield server, settings, draft
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _row(draft: Any) -> dict[str, Any]:
    row = draft.frame.iloc[0].to_dict()
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}


def test_two_workers_answer_on_one_port_and_metrics_count_them_all(served) -> None:
    server, settings, draft = served
    row = _row(draft)

    def both_answered() -> dict[int, float] | None:
        server.send_round(row)
        pids = _until("every answer in /metrics", lambda: _counted(server), server.log)
        return pids if len(pids) == WORKERS else None

    pids = _until("both workers to answer", both_answered, server.log)
    children = {p.pid for p in server.workers()}
    assert set(pids) <= children, (pids, children, server.log.read_text())
    text = server.metrics()
    assert sum(_samples(text, "atlas_requests_total").values()) == len(server.sent)
    assert sum(_samples(text, "atlas_request_seconds_count").values()) == len(server.sent)
    _until("the log's counts", lambda: _written(server) == len(server.sent), server.log)

    # a worker killed hard is replaced; the counts of the dead one stay in the totals
    victim, dead = next(iter(pids.items()))
    os.kill(victim, signal.SIGKILL)
    replaced = _until("a new worker", lambda: _replacement(server, set(pids)), server.log)
    server.send_round(row)
    _until("the new worker's answers", lambda: _counted(server, dead), server.log)
    after = server.metrics()
    assert victim not in _pids(after) and replaced in {p.pid for p in server.workers()}
    assert sum(_samples(after, "atlas_requests_total").values()) == len(server.sent)

    survivors = server.workers()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=TIMEOUT_S) == 0, server.log.read_text()
    gone, alive = psutil.wait_procs(survivors, timeout=TIMEOUT_S)
    assert not alive and len(gone) == len(survivors)
    logged = FeedbackLog.from_settings(settings).joined(MODEL)
    assert sorted(logged["request_id"]) == sorted(server.sent)


def _counted(server: Served, dead: float = 0.0) -> dict[int, float] | None:
    """Each live worker's answers, once they add up to every request sent but the ``dead``
    workers' (the workers publish their own figures every second)."""
    pids = _pids(server.metrics())
    return pids if sum(pids.values()) == len(server.sent) - dead else None


def _written(server: Served) -> float:
    return sum(_samples(server.metrics(), "atlas_feedback_written_total").values())


def _replacement(server: Served, old: set[int]) -> int | None:
    fresh = set(_pids(server.metrics())) - old
    return next(iter(fresh)) if fresh else None


@pytest.mark.parametrize("value", ["0", "65", "nan", "x", "1.5"])
def test_the_worker_count_is_bounded(value: str, monkeypatch, capsys, make_settings) -> None:
    make_settings()
    code, err = _atlas(monkeypatch, capsys, "serve", "--workers", value)
    assert code == 2 and "Invalid value for '--workers'" in err
    assert "The worker count" in err and "Traceback" not in err


def test_workers_on_ray_are_refused(monkeypatch, capsys, make_settings) -> None:
    make_settings()
    code, err = _atlas(monkeypatch, capsys, "serve", "--workers", "2", "--ray")
    assert code == 2 and "--replicas" in err and "Traceback" not in err


def _atlas(monkeypatch, capsys, *args: str) -> tuple[object, str]:
    monkeypatch.setattr(sys, "argv", ["atlas", *args])
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit) as stopped:
        main()
    return stopped.value.code, " ".join(capsys.readouterr().err.split())
