"""The `atlas` command as a user runs it: a real subprocess, real files, exit codes, JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CREDIT_G

ATLAS = str(Path(sys.executable).with_name("atlas"))


@pytest.fixture
def run(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env["ATLAS_HOME"] = str(tmp_path / "home")
    env["COLUMNS"] = "200"

    def run(*args: str, code: int = 0, **extra_env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [ATLAS, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**env, **extra_env},
            timeout=300,
        )
        assert result.returncode == code, (result.stdout, result.stderr)
        return result

    return run


def test_full_flow_with_json_output(run) -> None:
    added = json.loads(run("data", "add", str(CREDIT_G), "--name", "credit-g", "--json").stdout)
    assert added["version"] == 1 and added["n_rows"] == 1000
    listed = json.loads(run("data", "list", "--json").stdout)
    assert [d["name"] for d in listed] == ["credit-g"]
    shown = json.loads(run("data", "show", "credit-g", "--json").stdout)
    assert len(shown["columns"]) == 21

    fit = run(
        "automl",
        "fit",
        "credit-g",
        "--target",
        "target",
        "--budget",
        "30",
        "--trials",
        "3",
        "--model",
        "credit",
    )
    assert "registered credit v1" in fit.stdout and "roc_auc=" in fit.stdout
    run(
        "automl",
        "fit",
        "credit-g",
        "--target",
        "target",
        "--trials",
        "3",
        "--model",
        "credit",
        "--json",
    )

    models = json.loads(run("models", "list", "--json").stdout)
    assert models[0]["name"] == "credit" and models[0]["latest_version"] == 2
    assert [v["version"] for v in models[0]["versions"]] == [1, 2]
    assert set(models[0]["versions"][0]["metrics"]) >= {"test_roc_auc", "test_ks"}

    assert "-> 1" in run("models", "promote", "credit", "1").stdout
    move = json.loads(run("models", "promote", "credit", "2", "--json").stdout)
    assert move == {
        "alias": "production",
        "from_version": 1,
        "model": "credit",
        "to_version": 2,
        "changed": True,
    }
    again = json.loads(run("models", "promote", "credit", "2", "--json").stdout)
    assert again["changed"] is False and again["from_version"] == again["to_version"] == 2
    back = json.loads(run("models", "rollback", "credit", "--json").stdout)
    assert back["to_version"] == 1
    shown = json.loads(run("models", "show", "credit", "--json").stdout)
    assert shown["version"] == 1 and shown["lineage"]["dataset"]["name"] == "credit-g"

    board = json.loads(run("automl", "leaderboard", "credit", "--json").stdout)
    assert len(board) == 3 and board[0]["rank"] == 1


def _expect_error(run, *args: str, fragment: str, **env: str) -> None:
    result = run(*args, code=2, **env)
    assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_bad_input_exits_2_with_one_message(run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text("a,b\n1,2\n1,2,3,4\n")
    _expect_error(
        run, "data", "add", str(tmp_path / "none.csv"), "--name", "x", fragment="File not found"
    )
    _expect_error(run, "data", "add", str(broken), "--name", "x", fragment="not a well-formed CSV")
    _expect_error(run, "data", "add", str(CREDIT_G), "--name", "../up", fragment="not allowed")
    _expect_error(run, "data", "add", str(CREDIT_G), "--name", "a/b", fragment="not allowed")
    run("data", "add", str(CREDIT_G), "--name", "credit-g")
    _expect_error(
        run,
        "automl",
        "fit",
        "credit-g",
        "--target",
        "nope",
        "--model",
        "m",
        fragment="has no column 'nope'",
    )
    _expect_error(run, "models", "promote", "ghost", "1", fragment="no model named 'ghost'")
    _expect_error(
        run,
        "models",
        "list",
        fragment="the metadata database at postgresql+psycopg://nobody@127.0.0.1:1/none",
        ATLAS_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
    )
    _expect_error(run, "models", "list", fragment="serve_port", ATLAS_SERVE_PORT="x")
    assert json.loads(run("data", "list", "--json").stdout)[0]["version"] == 1  # nothing lost


def test_alias_to_missing_version_and_debug_traceback(run) -> None:
    run("data", "add", str(CREDIT_G), "--name", "credit-g")
    run("automl", "fit", "credit-g", "--target", "target", "--trials", "2", "--model", "credit")
    _expect_error(run, "models", "promote", "credit", "5", fragment="has no version 5")
    _expect_error(run, "models", "rollback", "credit", fragment="no alias 'production'")
    debug = run("--debug", "models", "promote", "credit", "5", code=1)
    assert "Traceback" in debug.stderr and "NotFoundError" in debug.stderr


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("data",),
        ("data", "add"),
        ("data", "list"),
        ("data", "show"),
        ("automl",),
        ("automl", "fit"),
        ("automl", "leaderboard"),
        ("models",),
        ("models", "list"),
        ("models", "show"),
        ("models", "promote"),
        ("models", "rollback"),
        ("serve",),
        ("init",),
        ("demo",),
    ],
)
def test_help_on_every_level(run, args: tuple[str, ...]) -> None:
    out = run(*args, "--help").stdout
    assert "Usage: atlas" in out


def test_init_creates_home_and_schema(run, tmp_path: Path) -> None:
    info = json.loads(run("init", "--json").stdout)
    from atlas.core.database import Database

    assert info["schema_revision"] == Database("sqlite://").head_revision()
    assert (tmp_path / "home" / "atlas.db").is_file()


def test_structured_json_logs(run) -> None:
    result = run(
        "data",
        "add",
        str(CREDIT_G),
        "--name",
        "credit-g",
        ATLAS_LOG_LEVEL="INFO",
        ATLAS_LOG_FORMAT="json",
    )
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    added = [e for e in events if e["event"] == "dataset.added"]
    assert added and added[0]["dataset"] == "credit-g" and added[0]["level"] == "info"


def test_serve_command_answers_http(run, tmp_path: Path) -> None:
    import socket
    import time

    import httpx

    run("data", "add", str(CREDIT_G), "--name", "credit-g")
    run("automl", "fit", "credit-g", "--target", "target", "--trials", "2", "--model", "credit")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env["ATLAS_HOME"] = str(tmp_path / "home")
    server = subprocess.Popen(
        [ATLAS, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "atlas serve did not become ready"
            time.sleep(0.2)
        meta = httpx.get(f"{url}/v1/models/credit", timeout=10).json()
        record = {c["name"]: (c["categories"][0] if c["categories"] else 1) for c in meta["inputs"]}
        answer = httpx.post(
            f"{url}/v1/models/credit:predict", json={"records": [record]}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"][0]["label"] in ("good", "bad")
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_data_quality_and_erasure_commands(run, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {type: range, column: age, min: 30}\n")
    shown = json.loads(run("data", "rules", "credit-g", "--file", str(rules), "--json").stdout)
    assert shown == [{"column": "age", "min": 30.0, "type": "range"}]
    strict = run("data", "add", str(CREDIT_G), "--name", "credit-g", "--strict", code=1)
    assert "range on age: observed 371 below min" in strict.stderr and "Traceback" not in (
        strict.stderr
    )
    assert "Nothing was stored" in strict.stderr
    assert json.loads(run("data", "list", "--json").stdout) == []
    added = run("data", "add", str(CREDIT_G), "--name", "credit-g", code=1)  # kept, but failed
    assert "FAILED its quality checks" in added.stdout
    assert "FAIL range on age: observed 371 below min, 0 above max" in added.stdout
    assert "expected >= 30" in added.stdout
    show = json.loads(run("data", "show", "credit-g", "--json").stdout)
    assert show["status"] == "failed" and show["columns"][1]["p50"] == 18.0
    check = run("data", "check", "credit-g", code=1)
    assert "FAIL range on age" in check.stdout
    refused = run(
        "automl", "fit", "credit-g", "--target", "target", "--model", "m", "--trials", "1", code=1
    )
    assert "failed its quality checks (1 rule(s)): range on age: observed" in refused.stderr
    rules.write_text("rules: [{type: range, column: age, min: 18}]\n")
    run("data", "rules", "credit-g", "--file", str(rules))
    assert json.loads(run("data", "check", "credit-g", "--json").stdout)["status"] == "passed"
    assert "ok   range on age" in run("data", "check", "credit-g").stdout  # exit code 0
    rules.write_text("rules: [{type: nonsense}]\n")
    _expect_error(
        run, "data", "rules", "credit-g", "--file", str(rules), fragment="Invalid quality rule"
    )
    erased = json.loads(
        run(
            "data", "erase", "--column", "age", "--value", "67", "--reason", "test", "--json"
        ).stdout
    )
    assert erased["affected"][0]["rows_removed"] > 0
    assert erased["affected"][-1]["feature_store"]["files"] == []
    assert "Profile" in run("data", "show", "credit-g").stdout
