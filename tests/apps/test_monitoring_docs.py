"""docs/monitoring.md as a user follows it: the real ``atlas`` command and the real ``atlas serve``
in subprocesses on a fresh ATLAS_HOME. Served answers reach the log, labels arrive over HTTP (the
label endpoint) and from a CSV (``atlas monitor labels``), and ``atlas monitor`` and ``/metrics``
show the AUC and KS that scikit-learn computes over the same labelled answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.metrics import roc_auc_score, roc_curve

from atlas.data.samples import sample_path

ATLAS = str(Path(sys.executable).with_name("atlas"))
TOKEN = "monitoring-docs-token"
N_SERVED = 120  # rows answered one request each
N_HTTP_LABELS = 70  # labelled over HTTP; the rest of the labelled rows come from a CSV
N_CSV_LABELS = 30
START_TIMEOUT = 120.0  # seconds to wait for the server to answer /ready
POLL = 0.2


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    return env | {"ATLAS_HOME": str(home), "ATLAS_ADMIN_TOKEN": TOKEN, "COLUMNS": "200"}


def _atlas(home: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [ATLAS, *args], capture_output=True, text=True, env=_env(home), cwd=home, timeout=300
    )
    assert result.returncode == code, (args, result.stdout, result.stderr)
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, httpx.Client]]:
    """A fresh home with credit-g fitted and promoted (quickstart), served by ``atlas serve``."""
    home = tmp_path / "home"
    home.mkdir()
    _atlas(home, "init")
    _atlas(home, "data", "add", str(sample_path()), "--name", "credit-g")
    _atlas(home, "automl", "fit", "credit-g", "-t", "target", "-m", "credit", "--trials", "2",
           "--learners", "lightgbm", "--quiet")  # fmt: skip
    _atlas(home, "models", "promote", "credit", "1")
    port = _free_port()
    proc = subprocess.Popen(
        [ATLAS, "serve", "--port", str(port)],
        env=_env(home),
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            _wait_ready(client, proc)
            yield home, client
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _wait_ready(client: httpx.Client, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if client.get("/v2/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(POLL)
    raise AssertionError("atlas serve did not become ready")


def _served_rows() -> pd.DataFrame:
    frame = pd.read_csv(sample_path()).head(N_SERVED)
    return frame.astype(object).where(frame.notna(), None)


def test_served_labelled_answers_show_sklearns_auc_and_ks(server, tmp_path: Path) -> None:
    home, client = server
    rows = _served_rows()
    truth = rows.pop("target")
    scores, ids = [], []
    for i, record in enumerate(rows.to_dict(orient="records")):
        body = {"records": [record], "request_id": f"q{i}"}
        answer = client.post("/v1/models/credit:predict", json=body)
        assert answer.status_code == 200, answer.text
        (prediction,) = answer.json()["predictions"]
        scores.append(prediction["probabilities"]["good"])
        ids.append(f"q{i}")
    labels = [{"request_id": r, "label": t} for r, t in zip(ids, truth, strict=True)]
    over_http = client.post(
        "/v1/models/credit/labels",
        json=labels[:N_HTTP_LABELS],
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    assert over_http["matched"] == over_http["accepted"] == N_HTTP_LABELS, over_http
    csv = tmp_path / "labels.csv"
    pd.DataFrame(labels[N_HTTP_LABELS : N_HTTP_LABELS + N_CSV_LABELS]).to_csv(csv, index=False)
    from_csv = json.loads(_atlas(home, "monitor", "labels", "credit", str(csv), "--json").stdout)
    assert from_csv["accepted"] == N_CSV_LABELS and from_csv["refused"] == 0

    n = N_HTTP_LABELS + N_CSV_LABELS
    y = (truth.iloc[:n] == "good").to_numpy()
    s = np.asarray(scores[:n])
    auc = roc_auc_score(y, s)
    fpr, tpr, _ = roc_curve(y, s)
    ks = float(np.max(tpr - fpr))
    summary = json.loads(_atlas(home, "monitor", "credit", "--json").stdout)
    (version,) = summary["versions"]
    assert version["count"] == N_SERVED and version["labelled"] == n
    assert version["auc"] == pytest.approx(auc, abs=1e-9)
    assert version["ks"] == pytest.approx(ks, abs=1e-9)
    shown = _atlas(home, "monitor", "credit").stdout
    assert f"{auc:.4f}" in shown
    gauges = _metric_samples(client.get("/metrics").text)
    assert gauges[("atlas_monitor_auc", "credit")] == pytest.approx(auc, abs=1e-9)
    assert gauges[("atlas_monitor_ks", "credit")] == pytest.approx(ks, abs=1e-9)
    assert gauges[("atlas_monitor_labelled", "credit")] == n


def test_the_cli_refuses_an_unknown_model_and_bad_labels(server, tmp_path: Path) -> None:
    home, client = server
    assert client.post("/v1/models/credit:predict", json=_one_request()).status_code == 200
    unknown = _atlas(home, "monitor", "nosuch", code=2)
    assert "No model 'nosuch'" in unknown.stderr
    csv = tmp_path / "bad.csv"
    csv.write_text("request_id,label\nq0,good\nnever-served,good\nq0,excellent\n")
    refused = json.loads(
        _atlas(home, "monitor", "labels", "credit", str(csv), "--json", code=1).stdout
    )
    assert refused["accepted"] == 1 and refused["reasons"] == {
        "unknown_request_id": 1,
        "unknown_class": 1,
    }


def _one_request() -> dict[str, object]:
    record = _served_rows().drop(columns="target").iloc[0].to_dict()
    return {"records": [record], "request_id": "q0"}


def _metric_samples(text: str) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels.get("model", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
