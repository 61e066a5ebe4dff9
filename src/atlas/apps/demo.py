"""The main job, end to end on the embedded defaults: data -> AutoML -> registry -> HTTP serving.

Ingests a CSV as a dataset, searches a model for a short budget, registers it, promotes it to
``production``, starts the inference server in this process on a free port, and sends it real
HTTP requests. The served answers are checked against the registered package's own predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from atlas.automl import FitReport, TrialProgress, fit_dataset
from atlas.core.settings import Settings, get_settings
from atlas.data import DatasetStore, DatasetVersion
from atlas.registry import AliasMove, ModelRegistry
from atlas.serve import BackgroundServer, create_app


@dataclass
class DemoReport:
    dataset: DatasetVersion
    fit: FitReport
    promotion: AliasMove
    server_url: str
    records: list[dict[str, Any]]
    served: list[dict[str, Any]]
    truth: list[Any]
    max_abs_diff: float


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly values (NaN -> null, numpy scalars -> Python)."""
    out = {}
    for key, value in record.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and value != value:
            value = None
        out[key] = value
    return out


def run_demo(
    csv: Path,
    *,
    dataset: str = "credit-g",
    target: str = "target",
    model: str = "credit-risk",
    time_budget: float = 60.0,
    n_requests: int = 5,
    seed: int = 0,
    on_step: Callable[[str], None] = lambda _msg: None,
    on_trial: Callable[[TrialProgress], None] | None = None,
    settings: Settings | None = None,
) -> DemoReport:
    s = settings or get_settings()
    on_step(f"Adding {csv} as dataset {dataset!r}")
    dv = DatasetStore.from_settings(s).add(csv, dataset)
    on_step(f"Searching a model for {target!r} for {time_budget:g} s")
    fit = fit_dataset(
        dataset,
        target,
        model,
        time_budget=time_budget,
        seed=seed,
        dataset_version=dv.version,
        on_trial=on_trial,
        settings=s,
    )
    registry = ModelRegistry.from_settings(s)
    promotion = registry.promote(model, fit.model.version, "production")
    on_step(f"Registered {model} v{fit.model.version} and promoted it to production")
    sample = fit.test_frame.head(n_requests)
    truth = sample[target].tolist()
    records = [_plain(r) for r in sample.drop(columns=[target]).to_dict(orient="records")]
    with BackgroundServer(create_app(registry)) as server:
        on_step(f"Inference server listening on {server.url}")
        served = []
        with httpx.Client(base_url=server.url, timeout=30) as client:
            client.get("/v2/health/ready").raise_for_status()
            for record in records:
                response = client.post(f"/v1/models/{model}:predict", json={"records": [record]})
                response.raise_for_status()
                body = response.json()
                served.append({"version": body["version"], **body["predictions"][0]})
    local = registry.load(model, fit.model.version).predict_records(records)
    diff = max(
        abs(a["probabilities"][k] - b["probabilities"][k])
        if "probabilities" in a
        else abs(a["prediction"] - b["prediction"])
        for a, b in zip(served, local, strict=True)
        for k in (a.get("probabilities") or {"_": 0})
    )
    return DemoReport(dv, fit, promotion, server.url, records, served, truth, float(diff))
