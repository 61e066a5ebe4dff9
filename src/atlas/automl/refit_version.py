"""``atlas models refit-full``: a registered bagged ensemble refitted on all its training rows,
registered as the next version with lineage to the bagged one.

The training rows are found again from the package's lineage: the dataset version it was
trained on (checked against its content hash) and its run's seed and test share, split exactly
as ``fit_dataset`` split them; the refitted package is scored on the same test rows, so its test
metrics compare with the bagged version's. Nothing is registered if any step fails.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from atlas.automl.estimator import worker_count
from atlas.automl.metrics import report
from atlas.automl.refit import members_of, predict_refitted, refit_members
from atlas.automl.runs import RunLog
from atlas.automl.split import DEFAULT_TEST_SIZE, Split, split_labelled
from atlas.core.errors import InvalidInputError
from atlas.core.logging import get_logger
from atlas.core.settings import Settings, get_settings
from atlas.data import DatasetStore
from atlas.registry import (
    Lineage,
    Manifest,
    ModelRegistry,
    ModelVersion,
    PackageDraft,
    RefitLineage,
    TabularPreprocessor,
)

log = get_logger(__name__)


@dataclass
class RefitReport:
    model: ModelVersion
    refit_of: ModelVersion
    learners_before: int
    learners_after: int
    test_metrics: dict[str, float]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model.to_json(),
            "refit_of": {"name": self.refit_of.name, "version": self.refit_of.version},
            "learners_before": self.learners_before,
            "learners_after": self.learners_after,
            "test_metrics": self.test_metrics,
            "seconds": round(self.seconds, 3),
        }


def refit_full(
    name: str, ref: int | str | None = None, *, n_jobs: int = -1, settings: Settings | None = None
) -> RefitReport:
    """Refit version ``ref`` of model ``name`` (default: production, else the newest) on all its
    training rows; register and return the new version."""
    began = time.monotonic()
    s = settings or get_settings()
    registry = ModelRegistry.from_settings(s)
    source, manifest, _folder = registry.fetch(name, ref)
    label = f"Model {name} v{source.version}"
    if manifest.lineage.refit_of is not None:
        raise InvalidInputError(
            f"{label} is already a refit of v{manifest.lineage.refit_of.version}.",
            hint=f"Refit the bagged version: atlas models refit-full {name}:"
            f"{manifest.lineage.refit_of.version}",
        )
    members = members_of(manifest.learners, label)
    params = _run_params(s, source)  # the fit's seed and test share
    split = _training_split(s, params, manifest, label)
    preprocessor = TabularPreprocessor(manifest.inputs)
    x = preprocessor.transform(split.x_train)
    refitted = refit_members(
        members,
        x,
        _codes(split, manifest),
        task=manifest.task,
        n_classes=len(manifest.classes or []),
        categorical=preprocessor.categorical_indices,
        seed=int(params.get("seed", 0)),
        n_jobs=worker_count(n_jobs),
    )
    pred = predict_refitted(refitted, preprocessor.transform(split.x_test))
    test_metrics = report(manifest.task, _codes(split, manifest, test=True), pred)
    with tempfile.TemporaryDirectory(prefix="atlas-refit-") as tmp:
        draft = PackageDraft(
            folder=Path(tmp),
            task=manifest.task,
            target=manifest.target,
            inputs=manifest.inputs,
            classes=manifest.classes,
            threshold=manifest.threshold,
            metrics={f"test_{k}": v for k, v in test_metrics.items()},
            params=manifest.params,
            lineage=Lineage(
                dataset=manifest.lineage.dataset,
                search=manifest.lineage.search,
                refit_of=RefitLineage(
                    name=name, version=source.version, manifest_sha256=source.manifest_sha256
                ),
            ),
        )
        for r in refitted:
            draft.add_learner(
                f"{r.member.learner}-t{r.member.trial}-full",
                r.flavor,
                r.fitted.artifact,
                weight=r.member.weight,
                params=r.params,
                info={"learner": r.member.learner, "trial": r.member.trial, "refit_full": True},
            )
        version = registry.register(name, draft)
    seconds = time.monotonic() - began
    log.info("automl.refit_full", model=name, version=version.version, of=source.version)
    return RefitReport(
        version, source, len(manifest.learners), len(refitted), test_metrics, seconds
    )


def _run_params(settings: Settings, source: ModelVersion) -> dict[str, Any]:
    if source.run_id is None:
        return {}
    params: dict[str, Any] = RunLog.from_settings(settings).get(source.run_id)["params"]
    return params


def _training_split(
    settings: Settings, params: dict[str, Any], manifest: Manifest, label: str
) -> Split:
    """The rows the package was trained and tested on, split as ``fit_dataset`` split them
    with its run's ``params`` (seed, test share)."""
    lineage = manifest.lineage.dataset
    if lineage is None:
        raise InvalidInputError(
            f"{label} records no training dataset, so its rows cannot be found again.",
            hint="Refit-full needs a model registered by `atlas automl fit`.",
        )
    dv, frame = DatasetStore.from_settings(settings).load(lineage.name, lineage.version)
    if dv.content_hash != lineage.content_hash:
        raise InvalidInputError(
            f"Dataset {lineage.name} v{lineage.version} has changed since {label} was trained "
            "(its content hash differs), so the training rows cannot be found again.",
            hint="Fit a new model on the dataset as it is now.",
        )
    labelled = frame[frame[manifest.target].notna()]
    seed = int(params.get("seed", 0))
    test_size = float(params.get("test_size", DEFAULT_TEST_SIZE))
    return split_labelled(labelled, manifest.target, manifest.task, seed, test_size)


def _codes(split: Split, manifest: Manifest, test: bool = False) -> np.ndarray:
    """The split's target as the package's class indices (or values, for regression)."""
    y = split.y_test if test else split.y_train
    if manifest.task == "regression" or split.classes is None:
        return y
    labels = np.asarray(split.classes, dtype=object)[y]
    codes = pd.Index(list(manifest.classes or [])).get_indexer(labels)
    return np.asarray(codes, dtype=np.int64)
