"""The rules a ground-truth label must pass, the same for the server's label endpoint, the
``atlas monitor labels`` verb and the monitor's join (which also holds labels written before
the rules to them):

- its ``request_id`` is a logged prediction of that model (``unknown_request_id``);
- a classifier's label is one of the classes of the version that answered
  (``unknown_class``; compared as text: the class ``1`` is the label ``1`` or ``"1"``);
- a regressor's label is a finite number (``not_a_number``);
- it is not empty (``empty``), and its prediction was logged with its output (``no_output``:
  a record the log could only keep as a ``log_error`` row).

A refused label is never written, so it can never replace a valid one. Of several valid labels
for one prediction the newest wins (a correction by a reviewer is a new label); every label
stays in the log's files, each with the time it arrived and who sent it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from atlas.serve.feedback_read import json_object
from atlas.serve.feedback_text import valid_text

REFUSALS_SHOWN = 100  # refusals listed in a report (all are counted)
ECHO_CHARS = 80  # of a refused request id or label, echoed back
CLASSIFIER, REGRESSOR, NO_OUTPUT = "classifier", "regressor", "none"
TRUTH_COLUMNS = ("request_id", "truth", "labelled_at")


@dataclass(frozen=True)
class Refusal:
    index: int  # position in what was sent
    request_id: str
    reason: str  # unknown_request_id | unknown_class | not_a_number | empty | no_output
    message: str


@dataclass
class LabelReport:
    """What became of the labels sent for one model."""

    model: str
    received: int = 0
    matched: int = 0  # labels whose request id is a logged prediction of the model
    accepted: int = 0  # written
    replaced: int = 0  # of the accepted: a newer label for a prediction labelled otherwise
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return len(self.refusals)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "received": self.received,
            "matched": self.matched,
            "accepted": self.accepted,
            "replaced": self.replaced,
            "refused": self.refused,
            "reasons": dict(Counter(r.reason for r in self.refusals)),
            "refusals": [r.__dict__ for r in self.refusals[:REFUSALS_SHOWN]],
        }


def answers(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per request id, what a label is checked against: the answered row (a shadow's only
    when nothing else was logged), its ``version``, ``kind`` and the version's ``classes``."""
    if predictions.empty:
        return pd.DataFrame(columns=["request_id", "version", "kind", "classes"])
    rows = predictions.assign(shadow=predictions["role"].fillna("") == "shadow")
    rows = rows.sort_values("shadow", kind="stable").drop_duplicates("request_id")
    kind = np.where(
        rows["probabilities"].notna(),
        CLASSIFIER,
        np.where(rows["prediction"].notna(), REGRESSOR, NO_OUTPUT),
    )
    classes = _classes(predictions)
    return pd.DataFrame(
        {
            "request_id": rows["request_id"].to_numpy(),
            "version": rows["version"].to_numpy(),
            "kind": kind,
            "classes": [classes.get(v, ()) for v in rows["version"]],
        }
    )


def _classes(predictions: pd.DataFrame) -> dict[Any, tuple[str, ...]]:
    """The classes of each version: the keys of its first readable class probabilities."""
    found: dict[Any, tuple[str, ...]] = {}
    scored = predictions[predictions["probabilities"].notna()]
    for version, texts in scored.groupby("version")["probabilities"]:
        for text in texts:
            probs = json_object(text)
            if probs:
                found[version] = tuple(probs)
                break
    return found


def check(labels: pd.DataFrame, known: pd.DataFrame, model: str) -> list[Refusal | None]:
    """For each row of ``labels`` (``request_id``, ``label``: text or None) its refusal, or
    None when it passes every rule; ``known`` is :func:`answers` of the model's predictions."""
    merged = labels[["request_id", "label"]].merge(known, on="request_id", how="left")
    numbers = pd.to_numeric(merged["label"], errors="coerce").to_numpy(dtype=float)
    out: list[Refusal | None] = []
    for i, row in enumerate(merged.itertuples(index=False)):
        problem = _problem(row, numbers[i], model)
        out.append(None if problem is None else Refusal(i, _echo(row.request_id), *problem))
    return out


def _problem(row: Any, number: float, model: str) -> tuple[str, str] | None:
    label = row.label
    if pd.isna(row.kind):
        return "unknown_request_id", f"No logged prediction of {model!r} has this request_id."
    if label is None or (isinstance(label, float) and np.isnan(label)) or str(label) == "":
        return "empty", "The label is empty."
    if row.kind == NO_OUTPUT:
        return "no_output", "Its prediction was logged without an output to compare with."
    if row.kind == REGRESSOR:
        if np.isfinite(number):
            return None
        return "not_a_number", f"{_echo(label)!r} is not a finite number ({model!r} regresses)."
    if str(label) in row.classes:
        return None
    shown = ", ".join(row.classes)
    return "unknown_class", (
        f"{_echo(label)!r} is not a class of {model!r} version {row.version} ({shown})."
    )


def label_text(value: Any) -> str | None:
    """A label as the log keeps it: valid text (a JSON number as its text: 1 -> "1")."""
    return None if value is None else valid_text(str(value))


def _echo(value: Any) -> str:
    text = valid_text(str(value))
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "..."


def newest_valid(labels: pd.DataFrame, known: pd.DataFrame, model: str) -> pd.DataFrame:
    """Per request id its newest label that passes the rules: ``request_id, truth,
    labelled_at``."""
    labels = labels[labels["request_id"].isin(known["request_id"])]
    ok = [r is None for r in check(labels, known, model)]
    valid = labels[np.array(ok, dtype=bool)].sort_values("labelled_at", kind="stable")
    last = valid.drop_duplicates("request_id", keep="last")
    return last.rename(columns={"label": "truth"})[list(TRUTH_COLUMNS)].reset_index(drop=True)
