"""Quality rules, declared per dataset and checked on every new version.

Rules are data (pydantic models, loadable from YAML or JSON), never code. A version that fails
any rule is marked ``failed`` and training refuses it unless forced.

    rules:
      - {type: not_null, column: age}
      - {type: range, column: age, min: 18, max: 120}
      - {type: allowed, column: housing, values: [own, rent, free]}
      - {type: unique, columns: [application_id]}
      - {type: freshness, column: applied_at, max_age: 2d}
      - {type: row_count_change, max_change: 0.5}
      - {type: drift, columns: [income, age], max_psi: 0.2}
      - {type: schema}
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from atlas.core.errors import InvalidInputError
from atlas.data.profile import schema_changes


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotNull(_Rule):
    type: Literal["not_null"]
    column: str


class Range(_Rule):
    type: Literal["range"]
    column: str
    min: float | None = None
    max: float | None = None


class Allowed(_Rule):
    type: Literal["allowed"]
    column: str
    values: list[Any]


class Unique(_Rule):
    type: Literal["unique"]
    columns: list[str]


class Freshness(_Rule):
    type: Literal["freshness"]
    column: str
    max_age: str = Field(description="Like 30m, 12h, 2d or 1w.")


class RowCountChange(_Rule):
    type: Literal["row_count_change"]
    max_change: float = Field(gt=0, description="Largest relative change, 0.5 = +-50%.")


class Drift(_Rule):
    type: Literal["drift"]
    columns: list[str] | None = None
    max_psi: float = 0.2


class Schema(_Rule):
    """Columns and dtypes must stay as in the previous version."""

    type: Literal["schema"]


Rule = Annotated[
    NotNull | Range | Allowed | Unique | Freshness | RowCountChange | Drift | Schema,
    Field(discriminator="type"),
]
_RULES = TypeAdapter(list[Rule])


def parse_rules(raw: Any) -> list[Rule]:
    """Rules from a list of dicts (or ``{"rules": [...]}``); errors name the rule and field."""
    if isinstance(raw, dict) and "rules" in raw:
        raw = raw["rules"]
    try:
        return _RULES.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInputError(
            f"Invalid quality rule at {where}: {first['msg']}.",
            hint="Each rule needs a type (not_null, range, allowed, unique, freshness, "
            "row_count_change, drift, schema) and that type's fields.",
        ) from None


def _age(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", text.strip())
    if not match:
        raise InvalidInputError(f"Cannot read max_age {text!r}; use e.g. 30m, 12h, 2d, 1w.")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    return timedelta(**{unit[match.group(2)]: float(match.group(1))})


def psi(expected: pd.Series, actual: pd.Series, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected`` (0 = same distribution;
    > 0.2 is the usual alarm). Numbers are binned on ``expected``'s deciles, categories by
    value; missing values are a bin of their own."""
    eps = 1e-4
    if pd.api.types.is_numeric_dtype(expected) and pd.api.types.is_numeric_dtype(actual):
        edges = np.unique(
            np.nanquantile(expected.to_numpy(dtype=float), np.linspace(0, 1, bins + 1))
        )
        edges[0], edges[-1] = -np.inf, np.inf
        e = pd.cut(expected, edges, include_lowest=True).cat.add_categories("<na>").fillna("<na>")
        a = pd.cut(actual, edges, include_lowest=True).cat.add_categories("<na>").fillna("<na>")
    else:
        e, a = expected.astype(str).fillna("<na>"), actual.astype(str).fillna("<na>")
    p = e.value_counts(normalize=True)
    q = a.value_counts(normalize=True)
    keys = p.index.union(q.index)
    p = p.reindex(keys, fill_value=0).to_numpy() + eps
    q = q.reindex(keys, fill_value=0).to_numpy() + eps
    return float(np.sum((q - p) * np.log(q / p)))


def _missing_column(rule: _Rule, column: str, frame: pd.DataFrame) -> dict[str, Any] | None:
    if column in frame.columns:
        return None
    return {"rule": rule.model_dump(), "passed": False, "detail": f"column {column!r} is missing"}


def check(
    rules: list[Rule],
    frame: pd.DataFrame,
    previous: pd.DataFrame | None,
    previous_profile: list[dict[str, Any]] | None,
    new_profile: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Evaluate every rule; one result dict per rule: rule, passed, detail."""
    return [_check_one(rule, frame, previous, previous_profile, new_profile) for rule in rules]


def _check_one(
    rule: Rule,
    frame: pd.DataFrame,
    previous: pd.DataFrame | None,
    previous_profile: list[dict[str, Any]] | None,
    new_profile: list[dict[str, Any]],
) -> dict[str, Any]:
    def result(passed: bool, detail: str) -> dict[str, Any]:
        return {"rule": rule.model_dump(), "passed": bool(passed), "detail": detail}

    for column in getattr(rule, "columns", None) or [getattr(rule, "column", None)]:
        if column is not None and (missing := _missing_column(rule, column, frame)):
            return missing
    if isinstance(rule, NotNull):
        n = int(frame[rule.column].isna().sum())
        return result(n == 0, f"{n} missing values")
    if isinstance(rule, Range):
        values = pd.to_numeric(frame[rule.column], errors="coerce")
        low = (values < rule.min).sum() if rule.min is not None else 0
        high = (values > rule.max).sum() if rule.max is not None else 0
        return result(low + high == 0, f"{int(low)} below min, {int(high)} above max")
    if isinstance(rule, Allowed):
        allowed = {str(v) for v in rule.values}
        present = frame[rule.column].dropna().astype(str)
        bad = sorted(set(present[~present.isin(allowed)].unique()))[:5]
        return result(not bad, f"unexpected values {bad}" if bad else "all values allowed")
    if isinstance(rule, Unique):
        dupes = int(frame.duplicated(subset=rule.columns).sum())
        return result(dupes == 0, f"{dupes} duplicate rows on {rule.columns}")
    if isinstance(rule, Freshness):
        stamps = pd.to_datetime(frame[rule.column], utc=True, errors="coerce")
        newest = stamps.max()
        if pd.isna(newest):
            return result(False, "no timestamps")
        age = datetime.now(UTC) - newest.to_pydatetime()
        return result(age <= _age(rule.max_age), f"newest row is {age} old")
    if isinstance(rule, Schema):
        if previous_profile is None:
            return result(True, "first version: nothing to compare with")
        changes = schema_changes(previous_profile, new_profile)
        return result(not any(changes.values()), f"schema changes: {changes}")
    if previous is None:
        return result(True, "first version: nothing to compare with")
    if isinstance(rule, RowCountChange):
        change = abs(len(frame) - len(previous)) / max(len(previous), 1)
        return result(change <= rule.max_change, f"rows {len(previous)} -> {len(frame)}")
    if isinstance(rule, Drift):
        columns = rule.columns or [c for c in frame.columns if c in previous.columns]
        scores = {c: psi(previous[c], frame[c]) for c in columns if c in previous.columns}
        worst = max(scores.items(), key=lambda kv: kv[1], default=("-", 0.0))
        return result(worst[1] <= rule.max_psi, f"largest PSI {worst[1]:.3f} ({worst[0]})")
    raise AssertionError(f"unhandled rule {rule!r}")
