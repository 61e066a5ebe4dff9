"""The search engine: portfolio, then TPE, trials in worker processes, all inside a deadline.

The parent process owns the Optuna study (ask-and-tell) and the clock; workers only fit. Each
trial is scored by cross-validation, fold by fold; after every fold Optuna's pruner
(:func:`atlas.automl.study.make_pruner`) may stop it, so cheap partial evaluations screen
expensive ones. Every finished trial
keeps its out-of-fold predictions and its fold models (bagging: no refit is needed), and the
final model is a greedy ensemble of them. The search stops early enough that ensembling fits in
the budget; a worker past its time is killed.

Every planning decision reads the engine's ``clock`` (``time.monotonic`` unless a test injects
another), so the decisions can be tested without waiting for them.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from atlas.automl.engine_data import (
    EngineConfig,
    EngineResult,
    InferLimitWarning,
    Member,
    TrialProgress,
)
from atlas.automl.ensemble import select_members, tune_threshold
from atlas.automl.learners import LEARNERS, Learner
from atlas.automl.learners.base import FIXED_MEMORY
from atlas.automl.memory import available_memory, private_rss
from atlas.automl.metrics import Metric
from atlas.automl.study import make_pruner, make_sampler
from atlas.automl.trials import TrialRecord, leaderboard
from atlas.automl.validation import covered, make_folds
from atlas.automl.workers import Event, Job, Shared, WorkerPool

KEEP_TOP = 30  # finished trials whose predictions and models are kept for the ensemble
MAX_FAILURES = 3  # a learner that failed this often is not tried again in this search
TRIAL_SHARE = 0.25  # a trial may use this share of the budget...
SLOWEST_FACTOR = 3.0  # ...or this many times the slowest finished trial, if that is longer
MIN_TRIAL_SECONDS = 2.0  # ...and never less than this
ENSEMBLE_SHARE = 0.04  # the search stops this share of the budget before the deadline...
MIN_ENSEMBLE_SECONDS = 0.75  # ...or this many seconds, if that is longer: time to ensemble
MIN_START_SECONDS = 0.05  # no trial starts with less time than this left
COST_OVERRUN = 3.0  # a trial estimated at this many times the time left is skipped
MAX_ASKS = 20  # configurations sampled for one free worker before waiting for results
MIN_CAPPED_ROWS = 100  # a trial whose memory cap leaves fewer rows than this is skipped...
MIN_CAPPED_SHARE = 0.05  # ...or fewer than this share of the training rows
POLL_SECONDS = 0.2  # the longest wait for worker messages between two planning steps
KILL_GRACE = 0.5  # seconds past its time limit before a trial's worker is killed
PRELOAD_MIN_SECONDS = 10.0  # with less search time left, workers import what their trial needs
PARENT_MEMORY = 128 * 2**20  # bytes of each worker's share of memory_limit left to the parent
NOT_COMPLETED = ("failed", "timeout")  # a learner with MAX_FAILURES of these is left out
LOAD_RESERVE_TRIALS = 8  # the search keeps time to load this many of the best trials' models
FIRST_PREDICT_ROWS = 5_000  # ...and for them to predict a first batch of this many rows...
MAX_RESERVE_SHARE = 0.1  # ...but never more than this share of the budget
Clock = Callable[[], float]


def default_learners() -> list[str]:
    """Every learner whose optional dependency is installed (the MLP needs torch)."""
    return [
        name
        for name, cls in LEARNERS.all().items()
        if all(importlib.util.find_spec(dep) is not None for dep in cls.requires)
    ]


def search_limit(started: float, deadline: float | None) -> float | None:
    """When the search stops starting trials: early enough before ``deadline`` to ensemble."""
    if deadline is None:
        return None
    reserve = max(MIN_ENSEMBLE_SECONDS, ENSEMBLE_SHARE * (deadline - started))
    return deadline - reserve


def ready_reserve(best: list[TrialRecord], budget: float) -> float:
    """Seconds kept to load the ``best`` trials' fold models and have them predict
    FIRST_PREDICT_ROWS rows, at most MAX_RESERVE_SHARE of the ``budget``."""
    need = sum(sum(r.load_seconds) + FIRST_PREDICT_ROWS * sum(r.predict_row_seconds) for r in best)
    return min(need, MAX_RESERVE_SHARE * budget)


def trial_time_limit(budget: float, finished: list[float], left: float) -> float:
    """Seconds a trial started now may run: its share of the budget, or a multiple of the
    slowest finished trial, whichever is longer; never past the search's end (``left``)."""
    share = max(TRIAL_SHARE * budget, SLOWEST_FACTOR * max(finished, default=0.0))
    return min(left, max(share, MIN_TRIAL_SECONDS))


def worker_memory(total: int, n_workers: int) -> int:
    """Each worker's share of ``total`` bytes, less what the parent keeps."""
    return max(total // n_workers - PARENT_MEMORY, FIXED_MEMORY)


class SearchEngine:
    def __init__(
        self,
        config: EngineConfig,
        study: optuna.Study,
        workdir: Path,
        deadline: float | None,
        on_trial: Callable[[TrialProgress], None] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.cfg = config
        self.study = study
        self.workdir = workdir
        self.deadline = deadline
        self.on_trial = on_trial
        self.clock = clock
        classes = {n: LEARNERS.get(n) for n in config.learners or default_learners()}
        self.learners: dict[str, Learner] = {
            n: cls(config.task, config.n_classes, config.categorical, config.seed)
            for n, cls in classes.items()
            if config.task in cls.tasks
        }
        self.records: dict[int, TrialRecord] = {}
        self.folds: list[tuple[np.ndarray, np.ndarray]] = []
        self.worker_memory = 0
        self.started = clock()

    # -- planning ----------------------------------------------------------------------
    def _enqueue_portfolio(self, n_rows: int, n_features: int) -> None:
        """Each learner's portfolio, cheapest first, so a short budget still gets models."""
        entries = []
        for learner in self.learners.values():
            cost = learner.estimate_cost(n_rows, n_features)
            for rank, params in enumerate(learner.portfolio()):
                entries.append((rank, cost, learner.name, params))
        for _rank, _cost, name, params in sorted(entries, key=lambda e: (e[0], e[1])):
            self.study.enqueue_trial({"learner": name, **params}, skip_if_exists=True)

    def _left(self, limit: float | None) -> float:
        return float("inf") if limit is None else limit - self.clock()

    def _row_cap(self, learner: Learner, n_train: int, n_features: int) -> int | None:
        """Rows a trial of ``learner`` may train on so its estimate fits its worker's share."""
        need = learner.estimate_memory(n_train, n_features)
        if need <= self.worker_memory:
            return None
        return int(n_train * self.worker_memory / need)

    # -- the loop ----------------------------------------------------------------------
    def run(self, x: np.ndarray, y: np.ndarray) -> EngineResult:
        cfg = self.cfg
        folds = self.folds = make_folds(cfg.task, y, cfg.n_folds, cfg.seed)
        n_train = len(folds[0][0])
        self._enqueue_portfolio(n_train, x.shape[1])
        n_workers = 1 if cfg.n_trials is not None and cfg.time_budget is None else cfg.n_jobs
        # each worker's share of memory_limit (default: what the machine has free now); a
        # worker that grows past it is killed before the kernel's OOM killer picks a victim
        self.worker_memory = worker_memory(cfg.memory_limit or available_memory(), n_workers)
        limit = self._search_end()
        if self._left(limit) <= MIN_START_SECONDS:
            return self._finish(y, folds)  # no time for a trial: the caller's fallback decides
        # workers inherit the libraries imported before the fork; importing all of them (torch
        # alone takes seconds) would eat a short budget, where each worker imports its trial's
        if self._left(limit) >= PRELOAD_MIN_SECONDS:
            for learner in self.learners.values():
                learner.preload()
        pool = WorkerPool(n_workers, Shared(x, y, folds, self.learners, cfg.seed))
        try:
            self._loop(pool, y, n_train, x.shape[1])
        finally:
            for worker in pool.busy():
                assert worker.job is not None
                self._fail(worker.job.trial, "search deadline", "timeout")
            pool.close()
        return self._finish(y, folds)

    def _search_end(self) -> float | None:
        """When the search stops: :func:`search_limit`, less the time the best trials' fold
        models take to load and to predict a first batch (both measured in the workers), so
        ``fit`` returns a loaded model and its first prediction stays inside the budget."""
        limit = search_limit(self.started, self.deadline)
        if limit is None or self.deadline is None:
            return limit
        done = sorted(
            (r for r in self.records.values() if r.state == "complete" and r.oof is not None),
            key=lambda r: r.sort_key(self.cfg.metric),
        )
        return limit - ready_reserve(done[:LOAD_RESERVE_TRIALS], self.deadline - self.started)

    def _loop(self, pool: WorkerPool, y: np.ndarray, n_train: int, n_features: int) -> None:
        """Keep every worker busy until the limit, the trial count, or nothing is left to run."""
        n_trials = self.cfg.n_trials
        asked = 0
        while self._left(limit := self._search_end()) > 0:
            for worker in pool.idle():
                if n_trials is not None and asked >= n_trials:
                    break
                job = self._next_job(len(self.folds), n_train, n_features, limit)
                if job is None:
                    break
                pool.submit(worker, job)
                asked += 1
            all_asked = n_trials is not None and asked >= n_trials
            if not pool.busy() and (all_asked or self._nothing_left()):
                return
            for event in pool.wait(min(POLL_SECONDS, max(self._left(limit), 0.0))):
                self._handle(event, pool, y)
            if self._left(self._search_end()) <= 0:
                return  # what still runs is stopped by the budget, not by its own limit
            self._enforce_limits(pool)

    def _nothing_left(self) -> bool:
        """Whether every learner is out of the search (failed too often, or skipped for memory
        every time it was asked): nothing could run, so waiting for the limit is pointless."""
        return all(self._excluded(name) for name in self.learners)

    def _excluded(self, name: str) -> bool:
        mine = [r for r in self.records.values() if r.learner == name]
        failures = sum(r.state in NOT_COMPLETED for r in mine)
        return failures >= MAX_FAILURES or (bool(mine) and all(r.state == "skipped" for r in mine))

    def _next_job(
        self, n_folds: int, n_train: int, n_features: int, limit: float | None
    ) -> Job | None:
        for _ in range(MAX_ASKS):
            if self._left(limit) <= MIN_START_SECONDS:
                return None
            trial = self.study.ask()
            name = trial.suggest_categorical("learner", list(self.learners))
            learner = self.learners[name]
            params = learner.suggest(trial)
            left = self._left(limit)
            estimate = learner.estimate_cost(n_train, n_features) * n_folds
            if estimate > COST_OVERRUN * left and self.records:
                self._skip(
                    trial, name, params, f"skipped: needs ~{estimate:.0f} s, {left:.0f} left"
                )
                continue
            failures = sum(
                r.learner == name and r.state in NOT_COMPLETED for r in self.records.values()
            )
            if failures >= MAX_FAILURES:
                why = f"skipped: {name} failed or timed out {failures} times"
                self._skip(trial, name, params, why)
                continue
            cap = self._row_cap(learner, n_train, n_features)
            if cap is not None and cap < max(MIN_CAPPED_ROWS, MIN_CAPPED_SHARE * n_train):
                self._skip(trial, name, params, "skipped: would not fit in memory")
                continue
            record = TrialRecord(trial, name, params, started=self.clock(), row_cap=cap)
            self.records[trial.number] = record
            return Job(
                trial=trial.number,
                learner=name,
                params=params,
                folds=list(range(n_folds)),
                time_limit=self._time_limit(limit),
                max_rows=cap,
                out_dir=self.workdir / f"trial-{trial.number}",
                infer_batch=self.cfg.infer_batch if self.cfg.infer_limit is not None else None,
            )
        return None

    def _time_limit(self, limit: float | None) -> float:
        """Seconds a trial started now may run (:func:`trial_time_limit`)."""
        if limit is None or self.deadline is None:
            return float("inf")
        done = [r.seconds for r in self.records.values() if r.state == "complete"]
        return trial_time_limit(self.deadline - self.started, done, self._left(limit))

    def _skip(self, trial: optuna.Trial, name: str, params: dict[str, Any], why: str) -> None:
        record = TrialRecord(trial, name, params)
        record.state, record.note = "skipped", why
        self.records[trial.number] = record
        trial.set_user_attr("note", why)
        self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)

    def _handle(self, event: Event, pool: WorkerPool, y: np.ndarray) -> None:
        record = self.records[event.trial]
        if event.kind == "fold":
            p = event.payload
            valid = self.folds[p["fold"]][1]
            record.add_fold(
                valid,
                p["pred"],
                p["info"],
                p["file"],
                p["seconds"],
                len(y),
                p["load_seconds"],
                p["predict_row_seconds"],
            )
            record.row_seconds = p.get("row_seconds", record.row_seconds)
            partial = record.partial_score(self.cfg.metric, y)
            record.trial.report(partial, p["step"])
            go = not record.trial.should_prune()
            pool.reply(event.worker, go)
            if not go:
                record.state = "pruned"
        elif event.kind == "done":
            self._complete(record, y)
        else:
            self._fail(event.trial, event.payload.get("error", "failed"))

    def _complete(self, record: TrialRecord, y: np.ndarray) -> None:
        record.seconds = self.clock() - record.started
        if record.state == "pruned":
            record.trial.set_user_attr("seconds", record.seconds)
            self.study.tell(record.trial, state=optuna.trial.TrialState.PRUNED)
            record.drop_artifacts()
        else:
            record.state = "complete"
            record.score = record.partial_score(self.cfg.metric, y)
            record.trial.set_user_attr("seconds", record.seconds)
            self.study.tell(record.trial, record.score)
            self._keep_top()
        self._progress(record)

    def _fail(self, trial_number: int, why: str, state: str = "failed") -> None:
        """End a trial that did not complete: ``failed`` (an error) or ``timeout`` (stopped at
        its own time limit or at the search deadline; ``why`` says which)."""
        record = self.records[trial_number]
        if record.state in ("complete", *NOT_COMPLETED):
            return
        record.state, record.note = state, why
        record.seconds = self.clock() - record.started
        record.drop_artifacts()
        record.trial.set_user_attr("note", why)
        self.study.tell(record.trial, state=optuna.trial.TrialState.FAIL)
        self._progress(record)

    def _enforce_limits(self, pool: WorkerPool) -> None:
        now = self.clock()
        for worker in pool.busy():
            job = worker.job
            assert job is not None
            if now > self.records[job.trial].started + job.time_limit + KILL_GRACE:
                pool.replace(worker)
                why = f"per-trial limit ({job.time_limit:.1f} s)"
                self._fail(job.trial, why, "timeout")
            elif private_rss(worker.pid) > self.worker_memory:
                pool.replace(worker)
                self._fail(job.trial, "killed: past the memory limit")

    def _keep_top(self) -> None:
        done = sorted(
            (r for r in self.records.values() if r.state == "complete" and r.oof is not None),
            key=lambda r: r.sort_key(self.cfg.metric),
        )
        for record in done[KEEP_TOP:]:
            record.drop_artifacts()

    def _progress(self, record: TrialRecord) -> None:
        if self.on_trial is None:
            return
        scores = [r.score for r in self.records.values() if r.score is not None]
        best = None
        if scores:
            best = max(scores) if self.cfg.metric.greater_is_better else min(scores)
        ended = ("complete", "pruned", *NOT_COMPLETED)
        finished = sum(r.state in ended for r in self.records.values())
        elapsed = self.clock() - self.started
        self.on_trial(
            TrialProgress(finished, elapsed, best, record.learner, record.score, record.state)
        )

    # -- the result --------------------------------------------------------------------
    def _finish(self, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> EngineResult:
        metric = self.cfg.metric
        mask = covered(folds, len(y))
        pool = sorted(
            (r for r in self.records.values() if r.state == "complete" and r.oof is not None),
            key=lambda r: r.sort_key(metric),
        )
        oofs = [r.oof for r in pool if r.oof is not None]
        board = leaderboard(self.records.values(), metric)
        if not pool:
            return EngineResult(
                [],
                board,
                None,
                None,
                None,
                None,
                len(self.records),
                self.clock() - self.started,
            )
        costs = self._row_costs(pool)
        chosen = select_members(
            [p[mask] for p in oofs],
            [float(r.score or 0.0) for r in pool],
            y[mask],
            metric,
            ensemble=self.cfg.ensemble,
            costs=costs,
            limit=self.cfg.infer_limit,
            overhead=self.cfg.preprocess_row_seconds,
        )
        if chosen.warning is not None:
            warnings.warn(chosen.warning, InferLimitWarning, stacklevel=2)
        weights, ens_score = chosen.weights, chosen.score
        oof = np.sum([w * p for w, p in zip(weights, oofs, strict=True) if w > 0], axis=0)
        threshold = None
        if self.cfg.task == "binary" and metric.needs == "label":
            threshold, ens_score = tune_threshold(y[mask], oof[mask][:, 1], metric)
        members = [
            Member(
                r.trial.number,
                r.learner,
                self.learners[r.learner].flavor,
                r.params,
                float(w),
                [Path(f) for f in r.files],
                load_seconds=sum(r.load_seconds),
                row_seconds=c,
                infos=list(r.infos),
            )
            for w, r, c in zip(weights, pool, _or_none(costs, len(pool)), strict=True)
            if w > 0
        ]
        weight_of = {m.trial: m.weight for m in members}
        board["ensemble_weight"] = [weight_of.get(t, 0.0) for t in board["trial"]]
        if costs is not None:  # what an infer_limit was checked against
            cost_of = {r.trial.number: float(c) for r, c in zip(pool, costs, strict=True)}
            board["row_seconds"] = [cost_of.get(t) for t in board["trial"]]
        return EngineResult(
            members=members,
            leaderboard=board,
            best_trial=pool[0].trial.number,
            best_score=pool[0].score,
            ensemble_score=float(ens_score) if ens_score is not None else None,
            threshold=threshold,
            n_trials=len(self.records),
            seconds=self.clock() - self.started,
            oof=oof,
            row_seconds=self._ensemble_row_seconds(members),
            warning=chosen.warning,
        )

    def _ensemble_row_seconds(self, members: list[Member]) -> float | None:
        """Preprocessing and every member's fold models, per row (with an infer_limit)."""
        if self.cfg.infer_limit is None:
            return None
        models = sum(m.row_seconds or 0.0 for m in members)
        return self.cfg.preprocess_row_seconds + models

    def _row_costs(self, pool: list[TrialRecord]) -> np.ndarray | None:
        """Each candidate's predict time per row, all its fold models together (with a limit)."""
        if self.cfg.infer_limit is None:
            return None
        return np.array([(r.row_seconds or 0.0) * len(r.files) for r in pool])


def _or_none(values: np.ndarray | None, n: int) -> list[float | None]:
    return [None] * n if values is None else [float(v) for v in values]


def make_study(
    metric: Metric,
    seed: int,
    storage: optuna.storages.BaseStorage | str | None,
    study_name: str | None,
    n_folds: int,
) -> optuna.Study:
    """A new study, or the one called ``study_name`` resumed (its trials guide the sampler)."""
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction="maximize" if metric.greater_is_better else "minimize",
        sampler=make_sampler(seed),
        pruner=make_pruner(n_folds),
        load_if_exists=study_name is not None,
    )
    study.set_user_attr("metric", metric.name)
    return study
