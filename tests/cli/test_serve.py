"""``atlas serve --config``: a bad file is one clear message and exit code 2, never a traceback.
Runs the real entry point (``atlas.cli.main.main``) in this process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from atlas.cli.main import main


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("max_records: [1\n", ["is not valid YAML (line 2, column 1)", "expected ',' or ']'"]),
        ("- max_records\n- 3\n", ["the top level is a list, not a mapping"]),
        ("just words\n", ["the top level is a string, not a mapping"]),
        ("max_records: lots\n", ["max_records: Input should be a valid integer"]),
        ("max_recrods: 3\n", ["max_recrods: Extra inputs are not permitted"]),
        (
            "models:\n  credit:\n    features: [spending:amount_7d]\n    entity_kee: id\n",
            ["models.credit.entity_kee: Extra inputs are not permitted"],
        ),
        (
            "max_body_bytes: 0\n",
            ["max_body_bytes: Input should be greater than or equal to 1, got 0"],
        ),
    ],
)
def test_a_bad_config_is_a_clear_message_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make_settings,
    text: str,
    fragments: list[str],
) -> None:
    make_settings()
    path = tmp_path / "serving.yaml"
    path.write_text(text)
    code, err = _atlas(monkeypatch, capsys, "serve", "--config", str(path))
    assert code == 2
    assert "Traceback" not in err and f"Server config {path}" in " ".join(err.split())
    for fragment in fragments:
        assert fragment in " ".join(err.split()), err


def test_a_missing_config_is_named(tmp_path, monkeypatch, capsys, make_settings) -> None:
    make_settings()
    code, err = _atlas(monkeypatch, capsys, "serve", "--config", str(tmp_path / "nope.yaml"))
    assert code == 2 and "Server config not found" in err


def _atlas(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[object, str]:
    monkeypatch.setattr(sys, "argv", ["atlas", *args])
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit) as stopped:
        main()
    return stopped.value.code, capsys.readouterr().err
