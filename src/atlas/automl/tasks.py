"""Read the task off a target column and encode the target for the learners."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from atlas.core.errors import InvalidInputError

MAX_CLASSES = 100


def infer_task(target: pd.Series, task: str | None = None) -> str:
    """``binary``, ``multiclass`` or ``regression``; checks an explicit choice against the data."""
    values = target.dropna()
    n_unique = values.nunique()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if task == "regression" or (task is None and numeric and _looks_continuous(values)):
        if not numeric:
            raise InvalidInputError(
                f"Target {target.name!r} holds text ({values.iloc[0]!r}...), so it cannot be "
                "regressed.",
                hint="Pick a numeric target, or use a classification task.",
            )
        return "regression"
    if n_unique < 2:
        raise InvalidInputError(
            f"Target {target.name!r} has only one class ({values.unique()[:1].tolist()}); "
            "there is nothing to learn.",
            hint="Check the target column: a classifier needs at least two classes.",
        )
    if n_unique > MAX_CLASSES:
        raise InvalidInputError(
            f"Target {target.name!r} has {n_unique} classes; at most {MAX_CLASSES} are supported.",
            hint="Use --task regression if it is a number.",
        )
    inferred = "binary" if n_unique == 2 else "multiclass"
    if task not in (None, inferred):
        raise InvalidInputError(
            f"Target {target.name!r} has {n_unique} classes, so the task is {inferred}, not {task}."
        )
    return inferred


def _looks_continuous(values: pd.Series) -> bool:
    if values.nunique() > 20:
        return True
    as_float = values.astype(float)
    return bool((as_float != np.round(as_float)).any())


def encode_target(target: pd.Series, task: str) -> tuple[np.ndarray, list[Any] | None]:
    """Class indices and the sorted class list, or float values for regression."""
    if task == "regression":
        return target.to_numpy(dtype=np.float64), None
    classes, codes = np.unique(target.to_numpy(), return_inverse=True)
    return codes.astype(np.int64), [c.item() if isinstance(c, np.generic) else c for c in classes]
