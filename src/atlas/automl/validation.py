"""Honest validation: k-fold (stratified where it applies) or a holdout, chosen by data size."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

Folds = list[tuple[np.ndarray, np.ndarray]]

SMALL_CELLS = 500_000  # rows x features up to which 5 folds are affordable
LARGE_ROWS = 200_000  # rows from which one holdout split is enough


def choose_n_folds(n_rows: int, n_features: int) -> int:
    """5 folds for small tables, 3 for medium ones, a single holdout (1) for large ones."""
    if n_rows >= LARGE_ROWS:
        return 1
    return 5 if n_rows * max(n_features, 1) <= SMALL_CELLS else 3


def make_folds(task: str, y: np.ndarray, n_folds: int, seed: int) -> Folds:
    """``n_folds`` >= 2: k-fold; 1: an 80/20 holdout. Stratified when every class can be."""
    index = np.arange(len(y))
    stratify = task != "regression" and np.bincount(y).min() >= max(n_folds, 2)
    if n_folds <= 1:
        train, valid = train_test_split(
            index, test_size=0.2, random_state=seed, stratify=y if stratify else None
        )
        return [(np.sort(train), np.sort(valid))]
    splitter = (
        StratifiedKFold(n_folds, shuffle=True, random_state=seed)
        if stratify
        else KFold(n_folds, shuffle=True, random_state=seed)
    )
    return [(tr, va) for tr, va in splitter.split(index, y if stratify else None)]


def covered(folds: Folds, n_rows: int) -> np.ndarray:
    """Rows that have an out-of-fold prediction (all of them for k-fold)."""
    mask = np.zeros(n_rows, dtype=bool)
    for _, va in folds:
        mask[va] = True
    return mask
