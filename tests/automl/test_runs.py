"""The AutoML run log on every metadata backend (SQLite and the real PostgreSQL server)."""

from __future__ import annotations

import pytest

from atlas.automl.runs import RunLog
from atlas.core.database import open_database
from atlas.core.errors import NotFoundError

PARAMS = {"target": "y", "task": "binary", "learners": ["lightgbm", "linear"], "seed": 0}


@pytest.fixture
def runs(db_url: str) -> RunLog:
    return RunLog(open_database(db_url))


def test_a_run_is_started_then_finished(runs: RunLog) -> None:
    runs.start("r1", "credit-g", 2, "credit-r1", PARAMS)
    started = runs.get("r1")
    assert started["status"] == "running" and started["finished_at"] is None
    assert started["params"] == PARAMS and started["dataset_version"] == 2
    result = {"cv_score": 0.81, "leaderboard": [{"rank": 1, "learner": "linear", "score": 0.81}]}
    runs.finish("r1", result)
    done = runs.get("r1")
    assert done["status"] == "finished" and done["result"] == result
    assert done["finished_at"] >= done["started_at"]


def test_a_failure_and_an_interruption_are_recorded(runs: RunLog) -> None:
    runs.start("bad", "credit-g", 1, "s-bad", PARAMS)
    runs.fail("bad", ValueError("x" * 5000))
    bad = runs.get("bad")
    assert bad["status"] == "failed" and bad["error"].startswith("ValueError: xxx")
    assert len(bad["error"]) == 4000  # long messages are cut to fit the column
    runs.start("stop", "credit-g", 1, "s-stop", PARAMS)
    runs.fail("stop", KeyboardInterrupt())
    assert runs.get("stop")["status"] == "interrupted"
    runs.fail("never-started", ValueError("ignored"))  # nothing to record, no error


def test_latest_lists_newest_first_and_unknown_runs_are_clear(runs: RunLog) -> None:
    for run_id in ("a", "b", "c"):
        runs.start(run_id, "credit-g", 1, f"s-{run_id}", PARAMS)
    assert [r["id"] for r in runs.latest(limit=2)] == ["c", "b"]
    with pytest.raises(NotFoundError, match="no AutoML run 'zzz'"):
        runs.get("zzz")
