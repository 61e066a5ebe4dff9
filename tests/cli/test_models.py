"""`atlas models` through the real command: a corrupt package is named with its version and
hashes, and served again once the store is restored (the local cache is refetched); a promote
to the version already there says that nothing changed."""

from __future__ import annotations

from pathlib import Path

from atlas.core import database
from atlas.registry import ModelRegistry
from tests.cli.test_unwritable_database import _atlas


def test_show_names_a_corrupt_package_then_recovers_once_restored(
    make_settings, make_draft
) -> None:
    settings = make_settings()
    registry = ModelRegistry.from_settings(settings)
    mv = registry.register("credit", make_draft())
    store = registry.artifacts
    key = f"{mv.uri}/{next(p for p in store.list(mv.uri) if p.endswith('.txt'))}"
    home: Path = settings.home
    assert _atlas(home, "models", "show", "credit").returncode == 0  # cached, verified
    good = store.read_bytes(key)
    store.write_bytes(key, b"tree\nnot the model anymore\n")
    cached = next((home / "cache" / "models" / "credit").glob("1-*/learners/*/*.txt"))
    cached.write_bytes(b"tree\nnot the model anymore\n")  # the local copy went bad too
    database.close_all()
    shown = _atlas(home, "models", "show", "credit")
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert "model.cache_refetched" in shown.stderr  # the bad local copy was dropped
    error = next(line for line in shown.stderr.splitlines() if line.startswith("error: "))
    assert "credit v1 in the artifact store is corrupt" in error and "expected" in error
    store.write_bytes(key, good)  # restored from a backup
    again = _atlas(home, "models", "show", "credit")
    assert again.returncode == 0, again.stderr
    assert "credit v1" in again.stdout


def test_promote_to_the_current_version_says_nothing_changed(make_settings, make_draft) -> None:
    settings = make_settings()
    registry = ModelRegistry.from_settings(settings)
    registry.register("credit", make_draft())
    database.close_all()
    first = _atlas(settings.home, "models", "promote", "credit", "1")
    assert first.returncode == 0 and "- -> 1" in first.stdout
    again = _atlas(settings.home, "models", "promote", "credit", "1")
    assert again.returncode == 0 and "already at 1; nothing changed" in again.stdout
