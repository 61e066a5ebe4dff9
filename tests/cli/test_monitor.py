"""`atlas monitor` as a user runs it: a real subprocess over a feedback log in ATLAS_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from atlas.cli import monitor
from atlas.cli.monitor import parse_since
from atlas.core.errors import InvalidInputError
from atlas.serve.feedback import FeedbackLog, PredictionRecord

ATLAS = str(Path(sys.executable).with_name("atlas"))


def _atlas(home: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env |= {"ATLAS_HOME": str(home), "COLUMNS": "200"}
    result = subprocess.run(
        [ATLAS, *args], capture_output=True, text=True, cwd=home, env=env, timeout=120
    )
    assert result.returncode == code, (result.stdout, result.stderr)
    return result


def test_monitor_labels_metrics_and_bad_cases(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with FeedbackLog(home / "artifacts" / "feedback") as log:  # the server's location
        for i, p in enumerate([0.9, 0.8, 0.3, 0.55, 0.1, 0.7]):
            log.record(
                PredictionRecord(
                    f"r{i}",
                    "credit",
                    1,
                    {"income": 100 * i},
                    {
                        "label": "good" if p >= 0.5 else "bad",
                        "probabilities": {"bad": 1 - p, "good": p},
                    },
                    latency_ms=1.0 + i,
                )
            )
    labels = tmp_path / "labels.csv"
    labels.write_text("request_id,label\nr0,good\nr1,bad\nr2,bad\nr3,good\nr4,good\n")

    report = json.loads(_atlas(home, "monitor", "labels", "credit", str(labels), "--json").stdout)
    assert (report["received"], report["matched"], report["accepted"]) == (5, 5, 5)
    summary = json.loads(_atlas(home, "monitor", "credit", "--json").stdout)
    (version,) = summary["versions"]
    assert version["count"] == 6 and version["labelled"] == 5
    assert version["accuracy"] == 0.6 and summary["bad_cases"]["wrong"] == 2
    assert summary["drift"] == [] and summary["bad_cases"]["drifted"] is None  # no reference

    wrong = json.loads(
        _atlas(home, "monitor", "bad-cases", "credit", "--kind", "wrong", "--json").stdout
    )
    assert [c["request_id"] for c in wrong] == ["r4", "r1"]
    assert wrong[0]["inputs"] == {"income": 400} and wrong[0]["truth"] == "good"
    table = _atlas(home, "monitor", "show", "credit", "--since", "all").stdout
    assert "Versions" in table and "Bad cases" in table and "low_confidence" in table


def test_since_and_label_files_are_checked(tmp_path: Path, sqlite_settings) -> None:
    now = datetime.now(UTC)
    assert abs(parse_since("12h") - (now - timedelta(hours=12))) < timedelta(seconds=5)
    assert abs(parse_since(None) - (now - timedelta(days=1))) < timedelta(seconds=5)
    assert parse_since("2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_since("all") is None and parse_since(None, None) is None
    with pytest.raises(InvalidInputError, match="Cannot read --since"):
        parse_since("soon")
    with FeedbackLog.from_settings(sqlite_settings) as log:
        log.record(PredictionRecord("r0", "credit", 1, {}, {"prediction": 1.0}, 1.0))
    labels = tmp_path / "labels.csv"
    labels.write_text("id,truth\nr0,good\n")
    with pytest.raises(InvalidInputError, match="request_id"):
        monitor.labels("credit", labels, as_json=False)
