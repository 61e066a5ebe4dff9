"""Point-in-time matching and dynamic sample selection, as DuckDB SQL.

Each event gets, per view, the newest row of its entity with ``row time <= event time`` (an
ASOF LEFT JOIN: never a later row, so nothing leaks from the future); a row older than the
view's TTL at the event's time counts as missing. The join runs over narrow (key, time, row
id) columns only; the feature values of the chosen rows are fetched afterwards by
:mod:`gather <atlas.data.features.gather>`. All values travel as ``?`` parameters; the only
identifiers in the SQL are column names checked against the schema, quoted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from atlas.core.errors import InvalidInputError, NotFoundError
from atlas.data.features.definitions import DTYPES, FeatureView
from atlas.data.features.filters import quote, to_sql
from atlas.data.features.gather import FILE_BITS
from atlas.data.features.specs import JoinSpec, Selection, SourceSpec
from atlas.data.features.timestamps import sql_utc

ROW = "__atlas_row"
KEY, TS, GID = "__atlas_k", "__atlas_ts", "__atlas_g"
_ORDER = "__atlas_fpos DESC, __atlas_file DESC, __atlas_frow DESC"


@dataclass(frozen=True)
class Request:
    """Features asked for, grouped by view in the order first named, with output names."""

    views: tuple[tuple[FeatureView, tuple[str, ...]], ...]
    names: Mapping[tuple[str, str], str]

    @property
    def columns(self) -> list[str]:
        return list(self.names.values())


def resolve(
    features: Sequence[str], views: Mapping[str, FeatureView], full_names: bool = False
) -> Request:
    """Read ``"view:feature"``, ``"view:*"`` or ``"view"`` references against the views."""
    if isinstance(features, str):
        features = [features]
    if not features:
        raise InvalidInputError("No features were asked for.", hint="Name them as view:feature.")
    picked: dict[str, list[str]] = {}
    for ref in features:
        view_name, _, feature = str(ref).partition(":")
        view = views.get(view_name)
        if view is None:
            known = ", ".join(sorted(views)) or "none yet (apply some first)"
            raise NotFoundError(
                f"Feature {ref!r} names the unknown feature view {view_name!r}.",
                hint=f"Known feature views: {known}.",
            )
        wanted = view.feature_names if feature in ("", "*") else [feature]
        for name in wanted:
            if name not in view.schema:
                raise NotFoundError(
                    f"Feature view {view.name!r} has no feature {name!r}.",
                    hint=f"Its features are: {', '.join(view.feature_names)}.",
                )
            chosen = picked.setdefault(view.name, [])
            if name not in chosen:
                chosen.append(name)
    names: dict[tuple[str, str], str] = {}
    for view_name, chosen in picked.items():
        for name in chosen:
            out = f"{view_name}__{name}" if full_names else name
            if out in names.values():
                raise InvalidInputError(
                    f"Feature name {name!r} is asked for from more than one view.",
                    hint="Pass full_names=True (CLI: --full-names) to get view__feature columns.",
                )
            names[(view_name, name)] = out
    ordered = tuple((views[v], tuple(fs)) for v, fs in picked.items())
    return Request(ordered, names)


def rows_sql(spec: SourceSpec, files: Sequence[str]) -> tuple[str, list[Any]]:
    """Every usable row of a source as narrow ``(key, UTC time, row id)``: the row id is
    ``file index << 40 | row in file`` (see :mod:`gather <atlas.data.features.gather>`); of
    rows with the same (key, time) only the last (the largest id) is kept."""
    key_type = DTYPES[spec.key_dtype]
    rows = (
        f"SELECT CAST({quote(spec.key)} AS {key_type}) AS {KEY}, {{ts}} AS {TS}, "
        f"(CAST(file_index AS BIGINT) << {FILE_BITS}) | file_row_number AS {GID} "
        "FROM read_parquet(?, union_by_name=true, file_row_number=true)"
    )
    sql = (
        f"SELECT {KEY}, {TS}, max({GID}) AS {GID} FROM ({rows}) "
        f"WHERE {KEY} IS NOT NULL AND {TS} IS NOT NULL {{extra}} GROUP BY {KEY}, {TS}"
    )
    return sql, [list(files)]


def source_sql(spec: SourceSpec, latest_only: bool = False) -> tuple[str, list[Any]]:
    """One view's rows as (key, UTC time, features); duplicates of (key, time): last one wins.

    With ``latest_only`` only the newest row of each key is kept (materialization).
    """
    key_type = DTYPES[spec.key_dtype]
    feats = [f"CAST(NULL AS {DTYPES[t]}) AS {quote(n)}" for n, t in spec.features.items()]
    if not spec.files:
        head = [f"CAST(NULL AS {key_type}) AS {KEY}", f"CAST(NULL AS TIMESTAMPTZ) AS {TS}"]
        cols = ", ".join([*head, *feats])
        return f"SELECT {cols} WHERE false", []
    feats = [f"CAST({quote(n)} AS {DTYPES[t]}) AS {quote(n)}" for n, t in spec.features.items()]
    inner = (
        f"SELECT CAST({quote(spec.key)} AS {key_type}) AS {KEY}, "
        f"__atlas_time AS {TS}, {', '.join(feats)}, "
        "coalesce(list_position(?, __atlas_file), 0) AS __atlas_fpos, __atlas_file, "
        "file_row_number AS __atlas_frow "
        f"FROM (SELECT *, {{ts}} AS __atlas_time FROM read_parquet(?, union_by_name=true, "
        "filename='__atlas_file', file_row_number=true)) "
        f"WHERE __atlas_time IS NOT NULL AND {KEY} IS NOT NULL {{extra}}"
    )
    part = f"{KEY}" if latest_only else f"{KEY}, {TS}"
    order = f"{TS} DESC, {_ORDER}" if latest_only else _ORDER
    outer = ", ".join([KEY, TS, *(quote(n) for n in spec.features)])
    sql = (
        f"SELECT {outer} FROM ({inner}) "
        f"QUALIFY row_number() OVER (PARTITION BY {part} ORDER BY {order}) = 1"
    )
    return sql, [list(spec.files), list(spec.files)]


def fill_source(sql: str, ts_type: str, spec: SourceSpec, extra: str = "") -> str:
    """Put the source's timestamp conversion (it depends on the stored type) into ``sql``."""
    ts = sql_utc(quote(spec.timestamp), ts_type, spec.timestamp, spec.what)
    return sql.replace("{ts}", ts).replace("{extra}", extra)


def match_sql(
    events: str,
    event_ts: str,
    joins: Sequence[JoinSpec],
    sources: Sequence[tuple[str, list[Any]]],
    selection: Selection,
) -> tuple[str, list[Any]]:
    """Which events are selected (their ``ROW``, in no particular order) and, per join ``i``,
    the id of the row it matched (``__atlas_g{i}``, null: none, or older than the TTL), over
    the registered table ``events``; the ``where`` filter is applied later, to the values."""
    params: list[Any] = []
    keys = ", ".join(
        f"CAST({quote(j.event_key)} AS {DTYPES[j.source.key_dtype]}) AS __atlas_k{i}"
        for i, j in enumerate(joins)
    )
    conds = [f"{quote(event_ts)} IS NOT NULL"]
    if selection.start is not None:
        conds.append(f"{quote(event_ts)} >= ?")
        params.append(selection.start)
    if selection.end is not None:
        conds.append(f"{quote(event_ts)} < ?")
        params.append(selection.end)
    for column, allowed in selection.entities.items():
        conds.append(f"{quote(column)} IN (SELECT unnest(?))")
        params.append(list(allowed))
    ctes = [
        f"ev AS (SELECT {ROW}, {quote(event_ts)} AS __atlas_et, {keys} FROM {events} "
        f"WHERE {' AND '.join(conds)})"
    ]
    for i, (sql, source_params) in enumerate(sources):
        ctes.append(f"v{i} AS ({sql})")
        params.extend(source_params)
    picks = [f"ev.{ROW}"]
    joined = ""
    for i, join in enumerate(joins):
        fresh = "true"
        if join.ttl is not None:
            fresh = f"v{i}.{TS} >= ev.__atlas_et - to_microseconds(CAST(? AS BIGINT))"
            params.append(int(join.ttl.total_seconds() * 1_000_000))
        picks.append(f"CASE WHEN {fresh} THEN v{i}.{GID} END AS {GID}{i}")
        joined += (
            f" ASOF LEFT JOIN v{i} ON ev.__atlas_k{i} = v{i}.{KEY} AND ev.__atlas_et >= v{i}.{TS}"
        )
    sql = f"WITH {', '.join(ctes)} SELECT {', '.join(picks)} FROM ev{joined}"
    return sql, params


def where_sql(table: str, selection: Selection) -> tuple[str, list[Any]]:
    """The rows of the matched ``table`` that pass the selection's filter, in order."""
    assert selection.where is not None
    clause, params = to_sql(selection.where)
    return f"SELECT * EXCLUDE ({ROW}) FROM {table} WHERE {clause} ORDER BY {ROW}", params
