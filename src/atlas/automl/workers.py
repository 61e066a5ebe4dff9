"""Trial workers: forked processes that fit one configuration fold by fold.

Workers are forked after the data is in memory, so they share it copy-on-write and nothing is
pickled on the way in. After each fold a worker sends the out-of-fold predictions back and waits
for "go" or "stop" (the parent asks Optuna's pruner). A worker that runs past its hard limit,
grows past its memory cap, or crashes is killed and replaced; the search goes on without it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import numpy as np

from atlas.automl.inference import load_back, row_seconds
from atlas.automl.learners import Learner
from atlas.automl.validation import Folds
from atlas.registry.flavors import save_learner

_CONTEXT = mp.get_context("fork")
FOLD_MARGIN_SHARE = 0.1  # of a fold's time, kept to send its results before the hard limit...
MAX_FOLD_MARGIN = 1.0  # ...but never more seconds than this
IDLE_SLEEP = 0.05  # seconds a wait with no busy worker sleeps


@dataclass
class Shared:
    """What every worker inherits at fork time."""

    x: np.ndarray
    y: np.ndarray
    folds: Folds
    learners: dict[str, Learner]
    seed: int


@dataclass
class Job:
    trial: int
    learner: str
    params: dict[str, Any]
    folds: list[int]
    time_limit: float  # seconds the trial may run, from when its worker starts it
    max_rows: int | None
    out_dir: Path
    infer_batch: int | None = None  # rows a predict is timed on (an infer_limit), fold 0 only


@dataclass
class Worker:
    process: Any
    conn: Connection
    job: Job | None = None
    started: float = 0.0

    @property
    def pid(self) -> int:
        return int(self.process.pid)


@dataclass
class Event:
    kind: str  # fold | done | error | died
    worker: Worker
    trial: int
    payload: dict[str, Any] = field(default_factory=dict)


def _soft_deadline(hard: float, folds_left: int) -> float:
    """Share what is left of the hard limit between the remaining folds, minus a margin."""
    span = max(hard - time.monotonic(), 0.0)
    margin = min(MAX_FOLD_MARGIN, FOLD_MARGIN_SHARE * span)
    return time.monotonic() + (span - margin) / max(folds_left, 1)


def _run_job(conn: Connection, shared: Shared, job: Job) -> None:
    learner = shared.learners[job.learner]
    rng = np.random.default_rng(shared.seed + job.trial)
    hard_deadline = time.monotonic() + job.time_limit
    for step, fold in enumerate(job.folds):
        train, valid = shared.folds[fold]
        if job.max_rows is not None and len(train) > job.max_rows:
            train = np.sort(rng.choice(train, job.max_rows, replace=False))
        y_train = shared.y[train]
        began = time.perf_counter()
        fitted = learner.fit(
            job.params,
            shared.x[train],
            y_train,
            shared.x[valid],
            shared.y[valid],
            learner.sample_weight(job.params, y_train),
            _soft_deadline(hard_deadline, len(job.folds) - step),
        )
        predict_began = time.perf_counter()
        pred = fitted.predict(shared.x[valid])
        predict_seconds = time.perf_counter() - predict_began
        folder = job.out_dir / f"fold-{fold}"
        path = folder / save_learner(learner.flavor, fitted.artifact, folder)
        seconds = time.perf_counter() - began
        # loaded back as predict will load it: what loading costs, and what it predicts at
        loaded, load_seconds = load_back(learner.flavor, path, learner.task)
        payload = {
            "step": step,
            "fold": fold,
            "pred": pred,
            "info": fitted.info,
            "seconds": seconds,
            "file": str(path),
            "load_seconds": load_seconds,
            "predict_row_seconds": predict_seconds / max(len(valid), 1),
        }
        if job.infer_batch is not None and step == 0:
            payload["row_seconds"] = row_seconds(loaded, shared.x[valid], job.infer_batch)
        conn.send(("fold", job.trial, payload))
        if conn.recv() == "stop":
            break
    conn.send(("done", job.trial, {}))


def _worker_main(conn: Connection, shared: Shared) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        while True:
            job = conn.recv()
            if job is None:
                return
            try:
                _run_job(conn, shared, job)
            except Exception as exc:  # a failing learner fails its trial, not the search
                conn.send(("error", job.trial, {"error": f"{type(exc).__name__}: {exc}"[:500]}))


class WorkerPool:
    def __init__(self, n_workers: int, shared: Shared) -> None:
        self.shared = shared
        self.workers = [self._spawn() for _ in range(n_workers)]

    def _spawn(self) -> Worker:
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=_worker_main, args=(child, self.shared), daemon=True, name="atlas-trial"
        )
        process.start()
        child.close()
        return Worker(process, parent)

    def idle(self) -> list[Worker]:
        return [w for w in self.workers if w.job is None]

    def busy(self) -> list[Worker]:
        return [w for w in self.workers if w.job is not None]

    def submit(self, worker: Worker, job: Job) -> None:
        worker.job, worker.started = job, time.monotonic()
        worker.conn.send(job)

    def reply(self, worker: Worker, go: bool) -> None:
        worker.conn.send("go" if go else "stop")

    def wait(self, timeout: float) -> list[Event]:
        """Messages from busy workers, and workers that died, within ``timeout`` seconds."""
        busy = self.busy()
        if not busy:
            time.sleep(max(min(timeout, IDLE_SLEEP), 0))
            return []
        by_conn = {w.conn: w for w in busy}
        by_sentinel = {w.process.sentinel: w for w in busy}
        ready = wait([*by_conn, *by_sentinel], timeout=max(timeout, 0))
        events = []
        for obj in ready:
            worker = by_conn.get(obj)  # type: ignore[call-overload,unused-ignore]
            if worker is not None and worker.job is not None:
                try:
                    kind, trial, payload = worker.conn.recv()
                except (EOFError, OSError):
                    continue  # the sentinel reports the death
                if kind in ("done", "error"):
                    worker.job = None
                events.append(Event(kind, worker, trial, payload))
        for obj in ready:
            worker = by_sentinel.get(obj)  # type: ignore[call-overload,unused-ignore]
            if worker is not None and worker.job is not None:
                trial = worker.job.trial
                worker.process.join(timeout=2)
                code = worker.process.exitcode
                self.replace(worker)
                events.append(Event("died", worker, trial, {"error": f"worker exit code {code}"}))
        return events

    def replace(self, worker: Worker) -> None:
        """Kill ``worker`` (if alive) and put a fresh one in its place."""
        if worker.process.is_alive():
            os.kill(worker.pid, signal.SIGKILL)
        worker.process.join(timeout=5)
        worker.conn.close()
        index = self.workers.index(worker)
        self.workers[index] = self._spawn()

    def close(self) -> None:
        for worker in self.workers:
            if worker.job is None and worker.process.is_alive():
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
            else:
                os.kill(worker.pid, signal.SIGKILL)
        for worker in self.workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                os.kill(worker.pid, signal.SIGKILL)
                worker.process.join(timeout=2)
            worker.conn.close()
