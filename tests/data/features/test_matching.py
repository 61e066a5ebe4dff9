"""Point-in-time matching, checked against a brute-force pandas reference on random data."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from atlas.core.errors import InvalidInputError, NotFoundError
from atlas.data.features import Entity, FeatureStore, FeatureView
from tests.data.features.conftest import CUSTOMER

BASE = pd.Timestamp("2024-03-01", tz="UTC")
MERCHANT = Entity("merchant", join_key="merchant_id", dtype="string")
VIEWS = [
    CUSTOMER,
    MERCHANT,
    FeatureView(
        "spend",
        entity="customer",
        features={"amount": "float64", "n_tx": "int64", "tier": "string"},
        ttl="30h",
    ),
    FeatureView("risk", entity="customer", features={"score": "float64"}),
    FeatureView("shop", entity="merchant", features={"rating": "float64"}, ttl="2d"),
]


def _rows(rng: np.random.Generator, n: int, keys: np.ndarray, hours: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": rng.choice(keys, n),
            "event_timestamp": BASE + pd.to_timedelta(rng.integers(0, hours, n), "h"),
        }
    )


def _parts(rng: np.random.Generator) -> dict[str, list[pd.DataFrame]]:
    """Two ingests per view, with duplicate (key, time) rows inside and across them."""
    parts: dict[str, list[pd.DataFrame]] = {"spend": [], "risk": [], "shop": []}
    for _ in range(2):
        spend = _rows(rng, 300, np.arange(15), 100).rename(columns={"key": "customer_id"})
        spend["amount"] = rng.normal(100, 30, len(spend)).round(2)
        spend["n_tx"] = rng.integers(0, 50, len(spend))
        spend["tier"] = rng.choice(["gold", "silver", None], len(spend))
        parts["spend"].append(spend)
        risk = _rows(rng, 200, np.arange(15), 100).rename(columns={"key": "customer_id"})
        risk["score"] = rng.uniform(0, 1, len(risk))
        parts["risk"].append(risk)
        shop = _rows(rng, 150, np.array(list("abcdefg")), 100).rename(
            columns={"key": "merchant_id"}
        )
        shop["rating"] = rng.uniform(1, 5, len(shop))
        parts["shop"].append(shop)
    return parts


def reference(
    events: pd.DataFrame,
    parts: list[pd.DataFrame],
    key: str,
    features: list[str],
    ttl: timedelta | None,
) -> dict[str, list[object]]:
    """The slow obvious answer: per event, the newest row at or before it, last one wins."""
    rows = pd.concat([p.assign(_part=i, _row=np.arange(len(p))) for i, p in enumerate(parts)])
    rows = rows.sort_values(["event_timestamp", "_part", "_row"])
    out: dict[str, list[object]] = {f: [] for f in features}
    for _, event in events.iterrows():
        seen = rows[
            (rows[key] == event[key]) & (rows["event_timestamp"] <= event["event_timestamp"])
        ]
        best = None if seen.empty else seen.iloc[-1]
        expired = ttl is not None and best is not None
        if expired and best["event_timestamp"] < event["event_timestamp"] - ttl:
            best = None
        for f in features:
            out[f].append(None if best is None else best[f])
    return out


def _same(actual: list[object], expected: list[object]) -> bool:
    def norm(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        return round(float(v), 9) if isinstance(v, int | float | np.number) else v

    return [norm(v) for v in actual] == [norm(v) for v in expected]


@pytest.fixture
def loaded(store: FeatureStore) -> tuple[FeatureStore, dict[str, list[pd.DataFrame]]]:
    store.apply(VIEWS)
    parts = _parts(np.random.default_rng(7))
    for view, frames in parts.items():
        for frame in frames:
            store.ingest(view, frame)
    return store, parts


def _events(
    rng: np.random.Generator, parts: dict[str, list[pd.DataFrame]], n: int = 250
) -> pd.DataFrame:
    times = BASE + pd.to_timedelta(rng.integers(-10, 115, n), "h")
    # a third of the events sit exactly on a feature row's time (ties: "at or before")
    exact = parts["spend"][0]["event_timestamp"].to_numpy()[: n // 3]
    times = times.to_numpy()
    times[: len(exact)] = exact
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, 18, n),  # 15..17 have no feature rows at all
            "merchant_id": rng.choice(list("abcdefgxy"), n),
            "event_timestamp": pd.to_datetime(times, utc=True),
            "label": rng.integers(0, 2, n),
        }
    )


def test_matches_brute_force_reference(loaded) -> None:
    store, parts = loaded
    events = _events(np.random.default_rng(1), parts)
    features = ["spend:amount", "spend:n_tx", "spend:tier", "risk:score", "shop:rating"]
    got = store.match(events, features)
    assert list(got.columns) == [*events.columns, "amount", "n_tx", "tier", "score", "rating"]
    assert got["label"].tolist() == events["label"].tolist()  # same rows, same order
    assert (got["event_timestamp"] == events["event_timestamp"]).all()
    expected = {
        **reference(
            events, parts["spend"], "customer_id", ["amount", "n_tx", "tier"], timedelta(hours=30)
        ),
        **reference(events, parts["risk"], "customer_id", ["score"], None),
        **reference(events, parts["shop"], "merchant_id", ["rating"], timedelta(days=2)),
    }
    for column, values in expected.items():
        assert _same(got[column].tolist(), values), column
    # the data exercise every case: expired, never seen, exact ties
    assert got["amount"].isna().any() and got["score"].notna().any()
    assert got.loc[events["customer_id"] >= 15, "score"].isna().all()


def test_no_leakage_from_the_future(store: FeatureStore) -> None:
    store.apply([CUSTOMER, FeatureView("clock", entity="customer", features={"seen": "float64"})])
    rng = np.random.default_rng(3)
    times = BASE + pd.to_timedelta(rng.integers(0, 10_000, 2000), "min")
    store.ingest(
        "clock",
        pd.DataFrame(
            {
                "customer_id": rng.integers(0, 5, 2000),
                "event_timestamp": times,
                "seen": (times - BASE).total_seconds(),
            }
        ),
    )
    events = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 5, 500),
            "event_timestamp": BASE + pd.to_timedelta(rng.integers(0, 10_000, 500), "min"),
        }
    )
    got = store.match(events, ["clock:seen"])
    event_s = (got["event_timestamp"] - BASE).dt.total_seconds()
    assert (got["seen"].dropna() <= event_s[got["seen"].notna()]).all()
    one = pd.DataFrame(
        {"customer_id": [0, 0], "event_timestamp": [BASE, BASE - pd.Timedelta("1us")]}
    )
    store.ingest(
        "clock", pd.DataFrame({"customer_id": [0], "event_timestamp": [BASE], "seen": [-1.0]})
    )
    assert store.match(one, ["clock:seen"])["seen"].tolist()[0] == -1.0
    assert np.isnan(store.match(one, ["clock:seen"])["seen"].tolist()[1])


def test_time_zones_and_strings_are_normalized_to_utc(store: FeatureStore) -> None:
    store.apply([CUSTOMER, FeatureView("tz", entity="customer", features={"v": "int64"})])
    store.ingest(
        "tz",
        pd.DataFrame(
            {
                "customer_id": [1, 1],
                "event_timestamp": ["2024-01-01T10:00:00+02:00", "2024-01-01T09:30:00Z"],
                "v": [1, 2],
            }
        ),
    )
    events = pd.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "event_timestamp": [
                "2024-01-01T07:59:00",  # naive: UTC, before both rows
                "2024-01-01T04:00:00-05:00",  # 09:00 UTC: sees 08:00 UTC, not 09:30
                "2024-01-01 09:45",
            ],
        }
    )
    got = store.match(events, ["tz:v"])
    assert str(got["event_timestamp"].dtype) == "datetime64[us, UTC]"
    assert got["event_timestamp"][1] == pd.Timestamp("2024-01-01T09:00:00Z")
    assert np.isnan(got["v"][0]) and got["v"].tolist()[1:] == [1, 2]


def test_arrow_in_arrow_out_keeps_types(loaded) -> None:
    store, parts = loaded
    events = pa.Table.from_pandas(
        _events(np.random.default_rng(2), parts, 50), preserve_index=False
    )
    got = store.match(events, ["spend:n_tx", "spend:tier"], full_names=True)
    assert isinstance(got, pa.Table)
    assert got.schema.field("spend__n_tx").type == pa.int64()
    assert got.schema.field("spend__tier").type == pa.string()


def test_sample_selection(loaded) -> None:
    store, parts = loaded
    events = _events(np.random.default_rng(5), parts)
    full = store.match(events, ["spend:amount", "spend:tier"])
    start, end = BASE + pd.Timedelta("20h"), BASE + pd.Timedelta("60h")
    got = store.match(
        events,
        ["spend:amount", "spend:tier"],
        start=start.isoformat(),
        end=end,
        entities=[1, 2, 3, 4],
        where='amount > 90 and tier in ("gold", "silver") or label = 1',
    )
    mask = (
        (full["event_timestamp"] >= start)
        & (full["event_timestamp"] < end)
        & full["customer_id"].isin([1, 2, 3, 4])
        & (((full["amount"] > 90) & full["tier"].isin(["gold", "silver"])) | (full["label"] == 1))
    )
    assert len(got) == mask.sum() > 0
    assert got["label"].tolist() == full.loc[mask, "label"].tolist()
    nulls = store.match(events, ["spend:tier"], where="tier is null and not customer_id = 3")
    assert nulls["tier"].isna().all() and (nulls["customer_id"] != 3).all()
    sneaky = store.match(events, ["spend:tier"], where="tier = 'x\\' or 1=1; DROP TABLE t; --'")
    assert len(sneaky) == 0  # a value, never SQL


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("amount > 1 and nope = 2", "'nope'"),
        ("tier > 5", "compares 'tier' (string)"),
        ("amount = 'high'", "compares 'amount' (float64)"),
        ("amount >", "expected a value"),
        ("amount = null", "is null"),
    ],
)
def test_bad_filters_are_clear_errors(loaded, where: str, message: str) -> None:
    store, parts = loaded
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        store.match(
            _events(np.random.default_rng(0), parts, 5), ["spend:amount", "spend:tier"], where=where
        )


def test_unknown_features_and_missing_columns(loaded) -> None:
    store, parts = loaded
    events = _events(np.random.default_rng(0), parts, 5)
    with pytest.raises(NotFoundError, match="no feature 'amont'") as err:
        store.match(events, ["spend:amont"])
    assert "amount, n_tx, tier" in str(err.value)
    with pytest.raises(NotFoundError, match="unknown feature view 'spent'"):
        store.match(events, ["spent:amount"])
    with pytest.raises(InvalidInputError, match="lack the column 'merchant_id'"):
        store.match(events.drop(columns="merchant_id"), ["shop:rating"])
    with pytest.raises(InvalidInputError, match="not timestamps"):
        store.match(events.assign(event_timestamp="yesterday"), ["spend:amount"])
    with pytest.raises(InvalidInputError, match="several entity keys"):
        store.match(events, ["spend:amount", "shop:rating"], entities=[1])


def test_large_inputs_run_in_the_engine(store: FeatureStore) -> None:
    store.apply(
        [CUSTOMER, FeatureView("big", entity="customer", features={"x": "float64"}, ttl="7d")]
    )
    rng = np.random.default_rng(0)
    n = 1_000_000
    store.ingest(
        "big",
        pa.table(
            {
                "customer_id": rng.integers(0, 50_000, n),
                "event_timestamp": pa.array(BASE + pd.to_timedelta(rng.integers(0, 10**7, n), "s")),
                "x": rng.normal(size=n),
            }
        ),
    )
    events = pa.table(
        {
            "customer_id": rng.integers(0, 50_000, n),
            "event_timestamp": pa.array(BASE + pd.to_timedelta(rng.integers(0, 10**7, n), "s")),
        }
    )
    got = store.match(events, ["big:x"])  # its speed is measured in bench/features/
    assert got.num_rows == n and got.column("x").null_count < n
