"""``model.json``: what a model package is, what it takes, what it returns, where it came from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

import atlas

Task = Literal["binary", "multiclass", "regression"]
ColumnKind = Literal["numeric", "integer", "boolean", "categorical", "datetime"]
FORMAT_VERSION = 1


class InputColumn(BaseModel):
    """One input field of the signature."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: ColumnKind
    dtype: str = Field(description="The pandas dtype seen at fit time.")
    nullable: bool = True
    categories: list[str] | None = None


class OutputField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    dtype: str
    shape: list[int]


class LearnerRef(BaseModel):
    """A fitted learner inside the package, in a safe native format."""

    model_config = ConfigDict(extra="forbid")

    name: str
    flavor: Literal["lightgbm", "sklearn", "xgboost", "catboost", "torch"]
    path: str
    weight: float = 1.0
    params: dict[str, Any] = Field(default_factory=dict)
    info: dict[str, Any] = Field(
        default_factory=dict,
        description="What its fit learned (the boosting rounds kept, epochs) and where it came "
        "from (trial, fold): what a refit on all rows reuses.",
    )


class DatasetLineage(BaseModel):
    name: str
    version: int
    content_hash: str


class SearchLineage(BaseModel):
    run_id: str
    study_name: str
    storage: str = Field(description="Where the Optuna study lives (password hidden).")
    n_trials: int
    best_trial: int | None = None


class RefitLineage(BaseModel):
    """The bagged version a refit-full package was refitted from (``atlas models refit-full``)."""

    name: str
    version: int
    manifest_sha256: str


class Lineage(BaseModel):
    dataset: DatasetLineage | None = None
    search: SearchLineage | None = None
    refit_of: RefitLineage | None = None


class Manifest(BaseModel):
    """The contents of ``model.json``. ``files`` maps every other file to its sha256."""

    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    name: str
    version: int
    task: Task
    target: str
    classes: list[Any] | None = None
    inputs: list[InputColumn]
    outputs: list[OutputField]
    learners: list[LearnerRef]
    threshold: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    lineage: Lineage = Field(default_factory=Lineage)
    atlas_version: str = atlas.__version__
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    files: dict[str, str] = Field(default_factory=dict)


def outputs_for(task: Task, classes: list[Any] | None) -> list[OutputField]:
    if task == "regression":
        return [OutputField(name="prediction", dtype="float64", shape=[-1])]
    n = len(classes or [])
    return [
        OutputField(name="label", dtype="object", shape=[-1]),
        OutputField(name="probabilities", dtype="float64", shape=[-1, n]),
    ]
