"""The train/test split of a dataset's labelled rows, the same for a fit and for its refit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from atlas.automl.tasks import encode_target

DEFAULT_TEST_SIZE = 0.2  # share of the labelled rows held out to score the registered model


@dataclass
class Split:
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: np.ndarray  # class indices into ``classes`` (or values, for regression)
    y_test: np.ndarray
    classes: list[Any] | None


def split_labelled(
    labelled: pd.DataFrame, target: str, task: str, seed: int, test_size: float
) -> Split:
    """Features and encoded target of ``labelled`` (no missing target), split with ``seed``;
    stratified when every class has two rows."""
    y, classes = encode_target(labelled[target], task)
    features = labelled.drop(columns=[target])
    stratify = y if task != "regression" and np.bincount(y).min() >= 2 else None
    x_train, x_test, y_train, y_test = train_test_split(
        features, y, test_size=test_size, random_state=seed, stratify=stratify
    )
    return Split(x_train, x_test, y_train, y_test, classes)
