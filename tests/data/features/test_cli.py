"""``atlas features`` as a user runs it: a real subprocess, a YAML file, Parquet, JSON out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ATLAS = str(Path(sys.executable).with_name("atlas"))
T0 = pd.Timestamp("2024-06-01", tz="UTC")
YAML = """
entities:
  - name: customer
    join_key: customer_id
feature_views:
  - name: spend
    entity: customer
    source: spend.parquet
    features: [amount, region]
  - name: fed
    entity: customer
    features: {score: int64}
"""


def _runner(tmp_path: Path, **extra_env: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update(ATLAS_HOME=str(tmp_path / "home"), COLUMNS="200", **extra_env)

    def run(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [ATLAS, *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
        )
        assert result.returncode == code, (result.stdout, result.stderr)
        return result

    return run


@pytest.fixture(params=["sqlite", "redis"])
def run(request: pytest.FixtureRequest, tmp_path: Path):
    """The CLI with the online store on SQLite (the default) or on Redis."""
    if request.param == "redis":
        return _runner(tmp_path, ATLAS_ONLINE_STORE_URL=request.getfixturevalue("redis_url"))
    return _runner(tmp_path)


def test_apply_materialize_get_round_trip(run, tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "event_timestamp": [T0, T0 + pd.Timedelta("1h"), T0],
            "amount": [1.5, 2.5, 7.0],
            "region": ["north", "south", None],
        }
    ).to_parquet(tmp_path / "spend.parquet")
    (tmp_path / "features.yaml").write_text(YAML)
    pd.DataFrame(
        {"customer_id": [2], "event_timestamp": ["2024-06-01T05:00:00+02:00"], "score": [42]}
    ).to_csv(tmp_path / "fed.csv", index=False)

    applied = json.loads(run("features", "apply", "features.yaml", "--json").stdout)
    assert [(c["name"], c["action"]) for c in applied] == [
        ("customer", "created"),
        ("spend", "created"),
        ("fed", "created"),
    ]
    assert "unchanged" in run("features", "apply", "features.yaml").stdout
    listed = json.loads(run("features", "list", "--json").stdout)
    assert listed[1]["features"] == {"amount": "float64", "region": "string"}
    assert json.loads(run("features", "ingest", "fed", "fed.csv", "--json").stdout)["rows"] == 1
    done = json.loads(run("features", "materialize", "--json").stdout)
    assert {d["view"]: d["entities"] for d in done} == {"fed": 1, "spend": 2}

    got = json.loads(
        run("features", "get", "1", "2", "3", "-f", "spend:*", "-f", "fed:score").stdout
    )
    assert got == [
        {"key": "1", "found": True, "values": {"amount": 2.5, "region": "south", "score": None}},
        {"key": "2", "found": True, "values": {"amount": 7.0, "region": None, "score": 42}},
        {"key": "3", "found": False, "values": None},
    ]
    again = json.loads(run("features", "materialize", "--json").stdout)
    assert [d["entities"] for d in again] == [0, 0]


def test_errors_exit_2_with_one_message(tmp_path: Path) -> None:
    run = _runner(tmp_path)
    (tmp_path / "features.yaml").write_text(YAML.replace("source: spend.parquet\n", ""))
    run("features", "apply", "features.yaml", code=2)  # no source: types must be declared
    (tmp_path / "ok.yaml").write_text(
        "entities: [{name: customer, join_key: customer_id}]\n"
        "feature_views: [{name: fed, entity: customer, features: {score: int64}}]\n"
    )
    run("features", "apply", "ok.yaml")
    bad = run("features", "get", "1", "-f", "fed:nope", code=2)
    assert "no feature 'nope'" in bad.stderr and "score" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert "Usage" in run("features", "--help").stdout
