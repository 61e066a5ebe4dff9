"""Refit-full: each member of a bagged ensemble fitted once on all training rows.

A fitted ensemble predicts with every fold model of every member (k models a member); for
latency, each member can be refitted once on all the training rows with the configuration its
trial found, boosting rounds and epochs fixed to the mean its folds kept (as AutoGluon's
``refit_full``), and keeps its ensemble weight: k times fewer models to run per prediction.
There is no validation fold left to score the refitted models on; the refit package reports its
own test metrics (:mod:`atlas.automl.refit_version`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from atlas.automl.learners import LEARNERS, Fitted
from atlas.core.errors import InvalidInputError
from atlas.registry.manifest import LearnerRef


@dataclass
class RefitMember:
    """One member of a bagged ensemble: its trial's configuration and its folds' fit infos."""

    learner: str
    trial: int
    params: dict[str, Any]
    weight: float
    infos: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Refitted:
    member: RefitMember
    flavor: str
    params: dict[str, Any]  # the configuration refitted, counts fixed
    fitted: Fitted


def members_of(refs: list[LearnerRef], label: str) -> list[RefitMember]:
    """The members of a package's learners (fold models grouped by the trial they came from).
    ``label`` names the package in the error for one that records no trial (registered before
    ATLAS recorded fit infos, or not made by the AutoML)."""
    members: dict[int, RefitMember] = {}
    for ref in refs:
        info = ref.info
        if "trial" not in info or "learner" not in info:
            raise InvalidInputError(
                f"{label} does not record which trial and fold each learner came from, so it "
                "cannot be refitted.",
                hint="Fit it again with `atlas automl fit` (this ATLAS records them).",
            )
        member = members.setdefault(
            int(info["trial"]), RefitMember(str(info["learner"]), int(info["trial"]), ref.params, 0)
        )
        member.weight += ref.weight
        member.infos.append({k: v for k, v in info.items() if k not in ("learner", "trial")})
    return list(members.values())


def refit_members(
    members: list[RefitMember],
    x: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    n_classes: int,
    categorical: list[int],
    seed: int,
    n_jobs: int = 1,
) -> list[Refitted]:
    """Fit every member once on all of ``x`` (no validation fold, counts fixed), ``n_jobs`` at
    a time (the model libraries release the GIL while they train)."""
    learners = {m.learner: LEARNERS.get(m.learner) for m in members}
    for cls in learners.values():
        cls.preload()

    def refit(member: RefitMember) -> Refitted:
        learner = learners[member.learner](task, n_classes, categorical, seed)
        params = learner.refit_params(member.params, member.infos)
        fitted = learner.fit(params, x, y, sample_weight=learner.sample_weight(params, y))
        return Refitted(member, learner.flavor, params, fitted)

    with ThreadPoolExecutor(max(1, min(n_jobs, len(members)))) as pool:
        return list(pool.map(refit, members))


def predict_refitted(refitted: list[Refitted], x: np.ndarray) -> np.ndarray:
    """The weighted sum of the refitted members' predictions (weights normalised to 1)."""
    total = sum(r.member.weight for r in refitted)
    parts = [r.member.weight / total * r.fitted.predict(x) for r in refitted]
    return np.asarray(np.sum(parts, axis=0))
