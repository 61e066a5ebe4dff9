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
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from atlas.core.errors import InvalidInputError
from atlas.data.profile import schema_changes

MAX_ROW_COUNT_CHANGE = 1e6  # a relative change past a million-fold is a typo
MAX_PSI = 100.0  # PSI past this is not a threshold anyone means
MAX_AGE = timedelta(days=100 * 365)
_AGE = re.compile(r"(\d{1,9}(?:\.\d{1,9})?)([smhdw])", re.ASCII)
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
SHOWN_VALUES = 5  # values listed in a verdict (unexpected or allowed ones)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotNull(_Rule):
    type: Literal["not_null"]
    column: str


class Range(_Rule):
    type: Literal["range"]
    column: str
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self


class Allowed(_Rule):
    type: Literal["allowed"]
    column: str
    values: list[Any]


class Unique(_Rule):
    type: Literal["unique"]
    columns: list[str] = Field(min_length=1)


class Freshness(_Rule):
    type: Literal["freshness"]
    column: str
    max_age: str = Field(description="Like 30m, 12h, 2d or 1w.")

    @field_validator("max_age")
    @classmethod
    def _readable(cls, text: str) -> str:
        parse_age(text)
        return text


class RowCountChange(_Rule):
    type: Literal["row_count_change"]
    max_change: float = Field(
        gt=0, le=MAX_ROW_COUNT_CHANGE, allow_inf_nan=False, description="0.5 = +-50%."
    )


class Drift(_Rule):
    type: Literal["drift"]
    columns: list[str] | None = None
    max_psi: float = Field(default=0.2, gt=0, le=MAX_PSI, allow_inf_nan=False)


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
        msg = first["msg"].removeprefix("Value error, ")
        raise InvalidInputError(
            f"Invalid quality rule at {where}: {msg}.",
            hint="Each rule needs a type (not_null, range, allowed, unique, freshness, "
            "row_count_change, drift, schema) and that type's fields.",
        ) from None


def parse_age(text: str) -> timedelta:
    """``30m``, ``12h``, ``2d``, ``1w``: a positive age of at most :data:`MAX_AGE`."""
    match = _AGE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"cannot read max_age {text!r}; use e.g. 30m, 12h, 2d, 1w")
    seconds = float(match.group(1)) * _AGE_UNITS[match.group(2)]
    if not 0 < seconds <= MAX_AGE.total_seconds():
        raise ValueError(f"max_age {text!r} must be above 0 and at most {MAX_AGE.days} days")
    return timedelta(seconds=seconds)


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


def verdict(rule: _Rule, passed: bool, observed: str, expected: str) -> dict[str, Any]:
    """One rule's result: the rule, its column(s), passed, what was observed and expected
    (``detail`` is the observation, kept for readers of older verdicts)."""
    columns = getattr(rule, "columns", None)
    return {
        "rule": rule.model_dump(),
        "column": getattr(rule, "column", None) or (", ".join(columns) if columns else None),
        "passed": bool(passed),
        "observed": observed,
        "expected": expected,
        "detail": observed,
    }


def check(
    rules: list[Rule],
    frame: pd.DataFrame,
    previous: pd.DataFrame | None,
    previous_profile: list[dict[str, Any]] | None,
    new_profile: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Evaluate every rule; one :func:`verdict` per rule."""
    return [_check_one(rule, frame, previous, previous_profile, new_profile) for rule in rules]


def _check_one(
    rule: Rule,
    frame: pd.DataFrame,
    previous: pd.DataFrame | None,
    previous_profile: list[dict[str, Any]] | None,
    new_profile: list[dict[str, Any]],
) -> dict[str, Any]:
    for column in getattr(rule, "columns", None) or [getattr(rule, "column", None)]:
        if column is not None and column not in frame.columns:
            return verdict(rule, False, f"column {column!r} is missing", "the column exists")
    if isinstance(rule, Schema):
        if previous_profile is None:
            return verdict(rule, True, "first version: nothing to compare with", "-")
        changes = schema_changes(previous_profile, new_profile)
        return verdict(
            rule, not any(changes.values()), f"schema changes: {changes}", "the same schema"
        )
    if isinstance(rule, RowCountChange | Drift):
        if previous is None:
            return verdict(rule, True, "first version: nothing to compare with", "-")
        return _against_previous(rule, frame, previous)
    return _on_this_version(rule, frame)


def _on_this_version(rule: Rule, frame: pd.DataFrame) -> dict[str, Any]:
    if isinstance(rule, NotNull):
        n = int(frame[rule.column].isna().sum())
        return verdict(rule, n == 0, f"{n} missing values", "no missing values")
    if isinstance(rule, Range):
        return _range(rule, frame[rule.column])
    if isinstance(rule, Allowed):
        allowed = {str(v) for v in rule.values}
        present = frame[rule.column].dropna().astype(str)
        bad = sorted(set(present[~present.isin(allowed)].unique()))[:SHOWN_VALUES]
        observed = f"unexpected values {bad}" if bad else "all values allowed"
        return verdict(rule, not bad, observed, f"one of {sorted(allowed)[:SHOWN_VALUES]}")
    if isinstance(rule, Unique):
        dupes = int(frame.duplicated(subset=rule.columns).sum())
        return verdict(
            rule, dupes == 0, f"{dupes} duplicate rows on {rule.columns}", "no duplicate rows"
        )
    if isinstance(rule, Freshness):
        newest = pd.to_datetime(frame[rule.column], utc=True, errors="coerce").max()
        expected = f"newest row at most {rule.max_age} old"
        if pd.isna(newest):
            return verdict(rule, False, "no timestamps", expected)
        age = datetime.now(UTC) - newest.to_pydatetime()
        return verdict(rule, age <= parse_age(rule.max_age), f"newest row is {age} old", expected)
    raise AssertionError(f"unhandled rule {rule!r}")


def _range(rule: Range, column: pd.Series) -> dict[str, Any]:
    values = pd.to_numeric(column, errors="coerce")
    low = int((values < rule.min).sum()) if rule.min is not None else 0
    high = int((values > rule.max).sum()) if rule.max is not None else 0
    bounds = [f">= {rule.min:g}" if rule.min is not None else "", ""]
    bounds[1] = f"<= {rule.max:g}" if rule.max is not None else ""
    seen = f" (values from {values.min():g} to {values.max():g})" if values.notna().any() else ""
    observed = f"{low} below min, {high} above max{seen}"
    return verdict(rule, low + high == 0, observed, " and ".join(b for b in bounds if b))


def _against_previous(
    rule: RowCountChange | Drift, frame: pd.DataFrame, previous: pd.DataFrame
) -> dict[str, Any]:
    if isinstance(rule, RowCountChange):
        change = abs(len(frame) - len(previous)) / max(len(previous), 1)
        observed = f"rows {len(previous)} -> {len(frame)} ({change:.0%} change)"
        return verdict(
            rule, change <= rule.max_change, observed, f"at most {rule.max_change:.0%} change"
        )
    columns = rule.columns or [c for c in frame.columns if c in previous.columns]
    scores = {c: psi(previous[c], frame[c]) for c in columns if c in previous.columns}
    worst = max(scores.items(), key=lambda kv: kv[1], default=("-", 0.0))
    return verdict(
        rule,
        worst[1] <= rule.max_psi,
        f"largest PSI {worst[1]:.3f} ({worst[0]})",
        f"PSI at most {rule.max_psi:g} against the previous version",
    )
