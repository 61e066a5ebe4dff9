"""Live monitoring: AUC/KS as scikit-learn computes them, PSI drift, exact bad cases, Prometheus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.metrics import mean_absolute_error, roc_auc_score, roc_curve

from atlas.core.errors import InvalidInputError
from atlas.data import DatasetStore
from atlas.registry import DatasetLineage, Lineage, ModelRegistry
from atlas.serve.feedback import FeedbackLog, PredictionRecord
from atlas.serve.monitoring import Monitor, reference_from_dataset, reference_from_lineage
from atlas.serve.prometheus import MonitorCollector


def _reference(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "region": rng.choice(["north", "south", "east"], n),
            "target": rng.choice(["good", "bad"], n),
        }
    )


def _classified(rid: str, p: float, inputs: dict, version: int = 1, **kw) -> PredictionRecord:
    return PredictionRecord(
        request_id=rid,
        model="credit",
        version=version,
        inputs=inputs,
        output={"label": "good" if p >= 0.5 else "bad", "probabilities": {"bad": 1 - p, "good": p}},
        latency_ms=float(kw.pop("latency", 1.0)),
        **kw,
    )


@pytest.fixture
def scored(tmp_path: Path) -> FeedbackLog:
    """2,000 predictions of an informative score; 1,500 of them labelled later."""
    rng = np.random.default_rng(1)
    truth = rng.choice(["good", "bad"], 2000)
    score = np.clip(0.5 + 0.25 * (truth == "good") - 0.125 + rng.normal(0, 0.2, 2000), 0, 1)
    frame = _reference(2000, seed=2)
    with FeedbackLog(tmp_path) as log:
        log.record_many(
            _classified(
                f"r{i}",
                float(score[i]),
                {"income": float(frame.income[i]), "region": frame.region[i]},
                latency=i % 100,
            )
            for i in range(2000)
        )
    log.add_labels("credit", ((f"r{i}", truth[i]) for i in range(1500)))
    return log


def test_auc_ks_and_accuracy_equal_sklearn_on_the_joined_rows(scored: FeedbackLog) -> None:
    (m,) = Monitor(scored).metrics("credit")
    rows = scored.joined("credit").dropna(subset=["truth"])
    y = (rows["truth"] == "good").to_numpy()
    fpr, tpr, _ = roc_curve(y, rows["score"])
    assert m["count"] == 2000 and m["labelled"] == 1500 and m["positive_class"] == "good"
    assert m["auc"] == pytest.approx(roc_auc_score(y, rows["score"]), abs=1e-12)
    assert m["ks"] == pytest.approx(np.max(tpr - fpr), abs=1e-12)
    assert m["accuracy"] == pytest.approx((rows["truth"] == rows["label"]).mean())
    assert 0.7 < m["auc"] < 0.95
    assert m["latency_p50_ms"] == pytest.approx(49.5) and m["latency_p99_ms"] == pytest.approx(
        98.01
    )


def test_regression_metrics(tmp_path: Path) -> None:
    with FeedbackLog(tmp_path) as log:
        log.record_many(
            PredictionRecord(f"p{i}", "price", 2, {"area": i}, {"prediction": float(i)}, 1.0)
            for i in range(10)
        )
    log.add_labels("price", ((f"p{i}", str(i + (i % 3))) for i in range(10)))
    (m,) = Monitor(log).metrics("price")
    err = np.array([i % 3 for i in range(10)], dtype=float)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)))
    assert m["mae"] == pytest.approx(mean_absolute_error(np.zeros(10), err))
    assert "auc" not in m and m["version"] == 2


def test_psi_detects_an_injected_drift_and_stays_small_without(tmp_path: Path) -> None:
    served = _reference(3000, seed=5)
    served.loc[:1499, "income"] += 15  # half the traffic drifts by 1.5 standard deviations
    with FeedbackLog(tmp_path) as log:
        for version, part in ((1, served.iloc[1500:]), (2, served.iloc[:1500])):
            log.record_many(
                _classified(
                    f"v{version}-{i}", 0.9, {"income": r.income, "region": r.region}, version
                )
                for i, r in enumerate(part.itertuples())
            )
    monitor = Monitor(log, {"credit": _reference()})
    clean = {d["feature"]: d["psi"] for d in monitor.drift("credit", version=1)}
    drifted = {d["feature"]: d["psi"] for d in monitor.drift("credit")}
    assert clean["income"] < 0.05 and clean["region"] < 0.05
    assert drifted["income"] > 0.2 and drifted["region"] < 0.05
    assert monitor.drift("credit")[0]["feature"] == "income"


def test_psi_waits_for_enough_rows_and_is_not_exported_before(tmp_path: Path) -> None:
    served = _reference(30, seed=5)
    with FeedbackLog(tmp_path) as log:
        log.record_many(
            _classified(f"r{i}", 0.9, {"income": r.income, "region": r.region})
            for i, r in enumerate(served.itertuples())
        )
    monitor = Monitor(log, {"credit": _reference()})
    assert {(d["feature"], d["psi"], d["n"]) for d in monitor.drift("credit")} == {
        ("income", None, 30),
        ("region", None, 30),
    }
    families = {f.name: f for f in text_string_to_metric_families(monitor.prometheus())}
    assert families["atlas_monitor_feature_psi"].samples == []
    lowered = Monitor(log, {"credit": _reference()}, min_drift_rows=30)
    assert all(d["psi"] is not None and d["psi"] >= 0 for d in lowered.drift("credit"))


def test_bad_cases_are_exactly_the_expected_requests(tmp_path: Path) -> None:
    ok = {"income": 50.0, "region": "north"}
    with FeedbackLog(tmp_path) as log:
        log.record_many(
            [
                _classified("wrong", 0.9, ok),
                _classified("unsure", 0.55, ok),
                _classified("rich", 0.95, {"income": 500.0, "region": "south"}),
                _classified("martian", 0.1, {"income": 50.0, "region": "mars"}),
                _classified("both", 0.8, {"income": -100.0, "region": "venus"}),
                _classified("fine", 0.8, {**ok, "income": None}),
                _classified("wrong", 0.95, {"income": 900.0, "region": "x"}, 2, role="shadow"),
            ]
        )
    log.add_labels("credit", [("wrong", "bad"), ("unsure", "good"), ("fine", "good")])
    monitor = Monitor(log, {"credit": _reference()})

    def ids(kind: str, limit: int = 100) -> list[str]:
        return monitor.bad_cases("credit", kind, limit)["request_id"].tolist()

    assert ids("wrong") == ["wrong"]
    assert ids("low_confidence") == ["unsure"]
    assert ids("drifted") == ["both", "martian", "rich"]  # most drifted features first
    assert ids("drifted", limit=1) == ["both"]
    cases = monitor.bad_cases("credit", "drifted")
    assert cases["reason"].tolist() == ["income,region", "region", "income"]
    assert cases["inputs"][0] == {"income": -100.0, "region": "venus"}
    assert monitor.summary("credit")["bad_cases"] == {
        "wrong": 1,
        "low_confidence": 1,
        "drifted": 3,
    }
    with pytest.raises(InvalidInputError, match="Unknown bad-case kind"):
        monitor.bad_cases("credit", "ugly")
    with pytest.raises(InvalidInputError, match="No training reference"):
        Monitor(log).bad_cases("credit", "drifted")
    assert Monitor(log).summary("credit")["bad_cases"]["drifted"] is None
    empty = Monitor(log).summary("nobody")
    assert empty["versions"] == [] and empty["bad_cases"] == {
        "wrong": 0,
        "low_confidence": 0,
        "drifted": None,
    }


def test_the_reference_loader_runs_once_per_model_and_may_fail(scored: FeedbackLog) -> None:
    calls: list[str] = []

    def loader(model: str) -> pd.DataFrame:
        calls.append(model)
        if len(calls) == 1:
            raise ConnectionError("database down")
        return _reference()

    monitor = Monitor(scored, reference_loader=loader)
    assert monitor.drift("credit") == []  # failed: no drift now, asked again next time
    assert {d["feature"] for d in monitor.drift("credit")} == {"income", "region"}
    monitor.drift("credit")
    assert calls == ["credit", "credit"]


def test_prometheus_text_parses_and_matches_the_summary(scored: FeedbackLog) -> None:
    monitor = Monitor(scored, {"credit": _reference()})
    summary = monitor.summary("credit")
    families = {f.name: f for f in text_string_to_metric_families(monitor.prometheus())}
    auc = families["atlas_monitor_auc"].samples[0]
    assert auc.labels == {"model": "credit", "version": "1"}
    assert auc.value == pytest.approx(summary["versions"][0]["auc"])
    psi = {s.labels["feature"]: s.value for s in families["atlas_monitor_feature_psi"].samples}
    assert psi == pytest.approx({d["feature"]: d["psi"] for d in summary["drift"]})
    assert families["atlas_feedback_written"].samples[0].value == 2000
    quantiles = {s.labels["quantile"] for s in families["atlas_monitor_latency_ms"].samples}
    assert quantiles == {"0.5", "0.99"}

    registry = CollectorRegistry()  # what a server does with its own registry
    registry.register(MonitorCollector(monitor.families))
    assert b'atlas_monitor_predictions{model="credit",version="1"} 2000.0' in generate_latest(
        registry
    )


def test_reference_from_a_dataset_and_from_the_models_lineage(sqlite_settings, make_draft) -> None:
    store = DatasetStore.from_settings(sqlite_settings)
    draft = make_draft()
    frame = draft.frame.assign(target="good")
    dv = store.add(frame, "loans")
    got = reference_from_dataset(store, "loans", dv.version, ["income", "region"])
    assert list(got.columns) == ["income", "region"] and len(got) == len(frame)

    registry = ModelRegistry.from_settings(sqlite_settings)
    draft.lineage = Lineage(
        dataset=DatasetLineage(name="loans", version=dv.version, content_hash=dv.content_hash)
    )
    registry.register("credit", draft)
    lineage = reference_from_lineage(registry, store, "credit")
    assert lineage is not None and list(lineage.columns) == ["income", "debt", "region"]
    registry.register("bare", make_draft(seed=1))
    assert reference_from_lineage(registry, store, "bare") is None
