"""Point-in-time matching and dynamic sample selection, as DuckDB SQL.

Each event gets, per view, the newest row of its entity with ``row time <= event time`` (an
ASOF LEFT JOIN: never a later row, so nothing leaks from the future); a row older than the
view's TTL at the event's time counts as missing. All values travel as ``?`` parameters; the
only identifiers in the SQL are column names checked against the schema, quoted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from atlas.core.errors import InvalidInputError, NotFoundError
from atlas.data.features.definitions import DTYPES, FeatureView
from atlas.data.features.filters import quote, to_sql
from atlas.data.features.specs import JoinSpec, Selection, SourceSpec
from atlas.data.features.timestamps import sql_utc

ROW = "__atlas_row"
KEY, TS = "__atlas_k", "__atlas_ts"
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


def duplicates_sql(spec: SourceSpec) -> tuple[str, list[Any]]:
    """Whether some (key, time) occurs twice in the source: a narrow aggregate, much cheaper
    than the last-one-wins window it lets :func:`source_sql` skip."""
    key_type = DTYPES[spec.key_dtype]
    sql = (
        f"SELECT EXISTS (SELECT 1 FROM (SELECT CAST({quote(spec.key)} AS {key_type}) AS k, "
        "{ts} AS t FROM read_parquet(?, union_by_name=true)) WHERE k IS NOT NULL AND "
        "t IS NOT NULL GROUP BY k, t HAVING count(*) > 1)"
    )
    return sql, [list(spec.files)]


def source_sql(
    spec: SourceSpec, latest_only: bool = False, dedup: bool = True
) -> tuple[str, list[Any]]:
    """One view's rows as (key, UTC time, features); duplicates of (key, time): last one wins.

    With ``latest_only`` only the newest row of each key is kept (materialization). With
    ``dedup=False`` (the caller checked there are no duplicates) rows pass as they are.
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
    if not dedup and not latest_only:
        plain = (
            f"SELECT CAST({quote(spec.key)} AS {key_type}) AS {KEY}, __atlas_time AS {TS}, "
            f"{', '.join(feats)} FROM (SELECT *, {{ts}} AS __atlas_time FROM "
            "read_parquet(?, union_by_name=true)) "
            f"WHERE __atlas_time IS NOT NULL AND {KEY} IS NOT NULL {{extra}}"
        )
        return plain, [list(spec.files)]
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
    event_columns: Sequence[str],
    event_ts: str,
    joins: Sequence[JoinSpec],
    sources: Sequence[tuple[str, list[Any]]],
    selection: Selection,
) -> tuple[str, list[Any]]:
    """The whole point-in-time query over the registered table ``events``."""
    params: list[Any] = []
    ctes: list[str] = []
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
    ctes.append(f"ev AS (SELECT *, {keys} FROM {events} WHERE {' AND '.join(conds)})")
    for i, (sql, source_params) in enumerate(sources):
        ctes.append(f"v{i} AS ({sql})")
        params.extend(source_params)
    picks = [f"ev.{quote(c)}" for c in event_columns]
    joined = ""
    for i, join in enumerate(joins):
        fresh = "true"
        if join.ttl is not None:  # the TTL goes in as a parameter, once per feature column
            fresh = f"v{i}.{TS} >= ev.{quote(event_ts)} - to_microseconds(CAST(? AS BIGINT))"
        for feature, out in join.columns.items():
            picks.append(f"CASE WHEN {fresh} THEN v{i}.{quote(feature)} END AS {quote(out)}")
            if join.ttl is not None:
                params.append(int(join.ttl.total_seconds() * 1_000_000))
        joined += (
            f" ASOF LEFT JOIN v{i} ON ev.__atlas_k{i} = v{i}.{KEY}"
            f" AND ev.{quote(event_ts)} >= v{i}.{TS}"
        )
    body = f"SELECT {', '.join(picks)}, ev.{ROW} FROM ev{joined}"
    where, where_params = "", list[Any]()
    if selection.where is not None:
        clause, where_params = to_sql(selection.where)
        where = f" WHERE {clause}"
    out = ", ".join(quote(c) for c in [*event_columns, *_outputs(joins)])
    sql = f"WITH {', '.join(ctes)} SELECT {out} FROM ({body}){where} ORDER BY {ROW}"
    return sql, [*params, *where_params]  # in the order their ? appear


def _outputs(joins: Sequence[JoinSpec]) -> list[str]:
    return [out for j in joins for out in j.columns.values()]
