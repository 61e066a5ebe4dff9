from pathlib import Path

import pytest

from atlas.core.errors import ConfigError
from atlas.core.settings import load_settings


def test_defaults_live_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("ATLAS_HOME", "ATLAS_DATABASE_URL", "ATLAS_ARTIFACTS_URL", "ATLAS_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    s = load_settings()
    assert s.home == tmp_path / ".atlas"
    assert s.database_url == f"sqlite:///{tmp_path / '.atlas' / 'atlas.db'}"
    assert s.artifacts_url == str(tmp_path / ".atlas" / "artifacts")


def test_environment_overrides_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "atlas.toml").write_text(
        'home = "from-toml"\nartifacts_url = "memory://bucket"\nserve_port = 9001\n'
    )
    monkeypatch.setenv("ATLAS_SERVE_PORT", "9002")
    monkeypatch.delenv("ATLAS_HOME", raising=False)
    monkeypatch.delenv("ATLAS_ARTIFACTS_URL", raising=False)
    s = load_settings()
    assert s.home == tmp_path / "from-toml"
    assert s.artifacts_url == "memory://bucket"
    assert s.serve_port == 9002


def test_config_file_from_atlas_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('log_level = "DEBUG"\n')
    monkeypatch.setenv("ATLAS_CONFIG", str(config))
    monkeypatch.delenv("ATLAS_LOG_LEVEL", raising=False)
    assert load_settings().log_level == "DEBUG"


def test_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_SERVE_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="serve_port"):
        load_settings()


def test_unknown_key_in_toml_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ATLAS_CONFIG", raising=False)
    (tmp_path / "atlas.toml").write_text('databse_url = "sqlite://"\n')
    with pytest.raises(ConfigError, match="databse_url"):
        load_settings()
