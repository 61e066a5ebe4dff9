"""Settings: environment variables ``ATLAS_*`` over ``atlas.toml`` over the embedded defaults.

Every backend is picked by a URL here, never by code changes (see docs/configuration.md).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from atlas.core.errors import ConfigError


def _config_file() -> Path:
    return Path(os.environ.get("ATLAS_CONFIG", "atlas.toml"))


class Settings(BaseSettings):
    """Where ATLAS keeps its state and how it logs.

    ``database_url`` defaults to a SQLite file and ``artifacts_url`` to a folder, both under
    ``home``; set them to ``postgresql://...`` and any fsspec URL (``s3://bucket/atlas``) in
    production.
    """

    model_config = SettingsConfigDict(env_prefix="ATLAS_", extra="forbid")

    home: Path = Field(default=Path(".atlas"), description="Folder for embedded state.")
    database_url: str = Field(default="", description="SQLAlchemy URL of the metadata database.")
    artifacts_url: str = Field(default="", description="fsspec URL of the artifact store.")
    features_url: str = Field(
        default="", description="Folder or fsspec URL of the offline feature store (Parquet)."
    )
    online_store_url: str = Field(
        default="", description="Online feature store: sqlite:///path or redis://host:port/db."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_format: Literal["console", "json"] = "console"
    serve_host: str = "127.0.0.1"
    serve_port: int = Field(default=8000, ge=0, le=65535)
    admin_token: str | None = Field(
        default=None, description="Bearer token of the server's management API (off if unset)."
    )
    erasure_key: SecretStr | None = Field(
        default=None,
        description="Hex key of the erasure records' value hashes (HMAC-SHA256); unset: the "
        "key file erasure.key under home, made on first use. Set it on every host of one "
        "installation.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        self.home = self.home.expanduser().absolute()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'atlas.db'}"
        if not self.artifacts_url:
            self.artifacts_url = str(self.home / "artifacts")
        if not self.features_url:
            self.features_url = str(self.home / "features")
        if not self.online_store_url:
            self.online_store_url = f"sqlite:///{self.home / 'online.db'}"
        return self


def load_settings(**overrides: object) -> Settings:
    """Read the settings now; a malformed value becomes a :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(
            f"Invalid ATLAS settings: {problems}.",
            hint=f"Fix the ATLAS_* environment variables or {_config_file()}.",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Cannot read the settings file {_config_file()}: {exc}.",
            hint="Make it valid TOML or remove it.",
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call ``get_settings.cache_clear()``."""
    return load_settings()
