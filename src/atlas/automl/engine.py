"""The search engine: portfolio, then TPE, trials in worker processes, all inside a deadline.

The parent process owns the Optuna study (ask-and-tell) and the clock; workers only fit. Each
trial is scored by cross-validation, fold by fold; after every fold Optuna's successive-halving
pruner may stop it, so cheap partial evaluations screen expensive ones. Every finished trial
keeps its out-of-fold predictions and its fold models (bagging: no refit is needed), and the
final model is a greedy ensemble of them. The search stops early enough that ensembling fits in
the budget; a worker past its time is killed.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from atlas.automl.ensemble import greedy_ensemble, tune_threshold
from atlas.automl.learners import LEARNERS, Learner
from atlas.automl.memory import available_memory, private_rss
from atlas.automl.metrics import Metric
from atlas.automl.study import make_pruner, make_sampler
from atlas.automl.trials import TrialRecord, leaderboard
from atlas.automl.validation import covered, make_folds
from atlas.automl.workers import Event, Job, Shared, WorkerPool

KEEP_TOP = 30  # finished trials whose predictions and models are kept for the ensemble
MAX_FAILURES = 3  # a learner that failed this often is not tried again in this search
TRIAL_SHARE = 0.25  # a trial may use this share of the budget (or 3x the slowest good trial)


@dataclass
class TrialProgress:
    n_trials: int
    elapsed: float
    best_score: float | None
    learner: str
    score: float | None


@dataclass
class Member:
    trial: int
    learner: str
    flavor: str
    params: dict[str, Any]
    weight: float
    files: list[Path]


@dataclass
class EngineResult:
    members: list[Member]
    leaderboard: Any
    best_trial: int | None
    best_score: float | None
    ensemble_score: float | None
    threshold: float | None
    n_trials: int
    seconds: float
    oof: np.ndarray | None = field(default=None, repr=False)


@dataclass
class EngineConfig:
    task: str
    n_classes: int
    categorical: list[int]
    metric: Metric
    time_budget: float | None = 60.0
    n_trials: int | None = None
    seed: int = 0
    n_jobs: int = 1
    learners: list[str] | None = None
    n_folds: int = 5
    memory_limit: int | None = None
    ensemble: bool = True


def default_learners() -> list[str]:
    """Every learner whose optional dependency is installed (the MLP needs torch)."""
    return [
        name
        for name, cls in LEARNERS.items()
        if all(importlib.util.find_spec(dep) is not None for dep in cls.requires)
    ]


class SearchEngine:
    def __init__(
        self,
        config: EngineConfig,
        study: optuna.Study,
        workdir: Path,
        deadline: float | None,
        on_trial: Callable[[TrialProgress], None] | None = None,
    ) -> None:
        self.cfg = config
        self.study = study
        self.workdir = workdir
        self.deadline = deadline
        self.on_trial = on_trial
        names = [
            n for n in (config.learners or default_learners()) if config.task in LEARNERS[n].tasks
        ]
        self.learners: dict[str, Learner] = {
            n: LEARNERS[n](config.task, config.n_classes, config.categorical, config.seed)
            for n in names
        }
        self.records: dict[int, TrialRecord] = {}
        self.folds: list[tuple[np.ndarray, np.ndarray]] = []
        self.worker_memory = 0
        self.started = time.monotonic()

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

    def _search_deadline(self) -> float | None:
        if self.deadline is None:
            return None
        budget = self.deadline - self.started
        return self.deadline - max(0.75, 0.04 * budget)

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
        total = cfg.memory_limit or available_memory()
        self.worker_memory = max(total // n_workers - 128 * 2**20, 64 * 2**20)
        pool = WorkerPool(n_workers, Shared(x, y, folds, self.learners, cfg.seed))
        limit = self._search_deadline()
        asked = 0
        try:
            while True:
                now = time.monotonic()
                if limit is not None and now >= limit:
                    break
                can_ask = cfg.n_trials is None or asked < cfg.n_trials
                for worker in pool.idle() if can_ask else []:
                    job = self._next_job(len(folds), n_train, x.shape[1], limit)
                    if job is None:
                        break
                    pool.submit(worker, job)
                    asked += 1
                    if cfg.n_trials is not None and asked >= cfg.n_trials:
                        break
                if not pool.busy() and not (cfg.n_trials is None or asked < cfg.n_trials):
                    break
                timeout = 0.2 if limit is None else min(0.2, max(limit - now, 0.0))
                for event in pool.wait(timeout):
                    self._handle(event, pool, y)
                self._enforce_limits(pool)
        finally:
            for worker in pool.busy():
                assert worker.job is not None
                self._fail(worker.job.trial, "stopped: the time budget ran out")
            pool.close()
        return self._finish(y, folds)

    def _next_job(
        self, n_folds: int, n_train: int, n_features: int, limit: float | None
    ) -> Job | None:
        for _ in range(20):
            if limit is not None and limit - time.monotonic() <= 0.05:
                return None
            trial = self.study.ask()
            name = trial.suggest_categorical("learner", list(self.learners))
            learner = self.learners[name]
            params = learner.suggest(trial)
            left = float("inf") if limit is None else limit - time.monotonic()
            estimate = learner.estimate_cost(n_train, n_features) * n_folds
            if estimate > 3 * left and self.records:
                self._skip(
                    trial, name, params, f"skipped: needs ~{estimate:.0f} s, {left:.0f} left"
                )
                continue
            failures = sum(r.learner == name and r.state == "failed" for r in self.records.values())
            if failures >= MAX_FAILURES:
                self._skip(trial, name, params, f"skipped: {name} failed {failures} times")
                continue
            cap = self._row_cap(learner, n_train, n_features)
            if cap is not None and cap < max(100, n_train // 20):
                self._skip(trial, name, params, "skipped: would not fit in memory")
                continue
            record = TrialRecord(trial, name, params, started=time.monotonic(), row_cap=cap)
            self.records[trial.number] = record
            return Job(
                trial=trial.number,
                learner=name,
                params=params,
                folds=list(range(n_folds)),
                hard_deadline=self._trial_deadline(limit),
                max_rows=cap,
                out_dir=self.workdir / f"trial-{trial.number}",
            )
        return None

    def _trial_deadline(self, limit: float | None) -> float:
        """When a trial started now must be done: its share of the budget, or three times the
        slowest trial that finished, whichever is longer; never past the search's end."""
        if limit is None or self.deadline is None:
            return float("inf")
        done = [r.seconds for r in self.records.values() if r.state == "complete"]
        share = max(TRIAL_SHARE * (self.deadline - self.started), 3 * max(done, default=0.0), 2.0)
        return min(limit, time.monotonic() + share)

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
            record.add_fold(valid, p["pred"], p["info"], p["file"], p["seconds"], len(y))
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
        record.seconds = time.monotonic() - record.started
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

    def _fail(self, trial_number: int, why: str) -> None:
        record = self.records[trial_number]
        if record.state in ("complete", "failed"):
            return
        record.state, record.note = "failed", why
        record.seconds = time.monotonic() - record.started
        record.drop_artifacts()
        record.trial.set_user_attr("note", why)
        self.study.tell(record.trial, state=optuna.trial.TrialState.FAIL)
        self._progress(record)

    def _enforce_limits(self, pool: WorkerPool) -> None:
        now = time.monotonic()
        for worker in pool.busy():
            job = worker.job
            assert job is not None
            if now > job.hard_deadline + 0.5:
                pool.replace(worker)
                self._fail(job.trial, "killed: past its time limit")
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
        finished = sum(r.state in ("complete", "pruned", "failed") for r in self.records.values())
        self.on_trial(
            TrialProgress(
                finished, time.monotonic() - self.started, best, record.learner, record.score
            )
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
                time.monotonic() - self.started,
            )
        ens_score: float
        if self.cfg.ensemble and len(pool) > 1:
            weights, ens_score = greedy_ensemble([p[mask] for p in oofs], y[mask], metric)
        else:
            weights, ens_score = np.eye(len(pool))[0], float(pool[0].score or 0.0)
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
            )
            for w, r in zip(weights, pool, strict=True)
            if w > 0
        ]
        weight_of = {m.trial: m.weight for m in members}
        board["ensemble_weight"] = [weight_of.get(t, 0.0) for t in board["trial"]]
        return EngineResult(
            members=members,
            leaderboard=board,
            best_trial=pool[0].trial.number,
            best_score=pool[0].score,
            ensemble_score=float(ens_score) if ens_score is not None else None,
            threshold=threshold,
            n_trials=len(self.records),
            seconds=time.monotonic() - self.started,
            oof=oof,
        )


def make_study(
    metric: Metric,
    seed: int,
    storage: optuna.storages.BaseStorage | str | None,
    study_name: str | None,
    n_folds: int,
) -> optuna.Study:
    """A new study, or the one called ``study_name`` resumed (its trials guide the sampler)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
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
