"""Every numeric option of the `atlas` command refuses the class of bad numbers before the
command runs: exit code 2, "Invalid value for '--option'", what to give instead, no traceback,
nothing recorded. Run through the real command (typer's CliRunner on the `atlas` app)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from atlas.cli.main import app

BAD = ["nan", "inf", "-inf", "0", "-5", str(2**63), str(2**64), "1e309", "x", "1.5"]
# (command, option, values that are fine for it among BAD)
OPTIONS = [
    (["automl", "fit", "d", "-t", "y", "-m", "m"], "--budget", {"1.5"}),
    (["automl", "fit", "d", "-t", "y", "-m", "m"], "--trials", set()),
    (["automl", "fit", "d", "-t", "y", "-m", "m"], "--seed", {"0"}),
    (["automl", "fit", "d", "-t", "y", "-m", "m"], "--dataset-version", set()),
    (["demo"], "--budget", {"1.5"}),
    (["data", "show", "d"], "--version", set()),
    (["data", "check", "d"], "--version", set()),
    (["serve"], "--replicas", set()),
    (["serve"], "--port", set()),
]


@pytest.fixture
def invoke(sqlite_settings):
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args), env={"COLUMNS": "300"})
        return result.exit_code, result.output

    return invoke


@pytest.mark.parametrize(("command", "option", "fine"), OPTIONS, ids=lambda v: str(v))
def test_each_numeric_option_refuses_the_class(invoke, command, option, fine) -> None:
    for value in sorted(set(BAD) - fine):
        code, output = invoke(*command, option, value)
        assert code == 2, (option, value, output)
        assert f"Invalid value for '{option}'" in output, output
        assert "Give a" in output or "Versions are whole numbers" in output, output
        assert "Traceback" not in output


def test_a_version_argument_refuses_the_class(invoke) -> None:
    for value in ["0", "-1", str(2**63), str(2**64), "9" * 5000, "x"]:
        code, output = invoke("models", "promote", "credit", "--", value)  # "--": "-1" is no option
        assert code == 2 and "Invalid value for 'version'" in output
        assert "Versions are whole numbers from 1 to 9223372036854775807" in output


def test_nothing_was_recorded(invoke, sqlite_settings) -> None:
    from atlas.automl.runs import RunLog

    invoke("automl", "fit", "d", "-t", "y", "-m", "m", "--budget", "nan")
    assert RunLog.from_settings(sqlite_settings).latest() == []


def test_a_port_past_16_bits_is_refused_with_its_range(invoke) -> None:
    code, output = invoke("serve", "--port", "70000")
    assert code == 2 and "Invalid value for '--port'" in output and "65535" in output
