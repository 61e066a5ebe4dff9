"""Conformance suite of the model registry on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
from sqlalchemy import func, select

import atlas.registry.cache as cache_module
import atlas.registry.registry as registry_module
from atlas.core.errors import ConflictError, IntegrityError, InvalidInputError, NotFoundError
from atlas.registry import AliasMove, ModelRegistry
from atlas.registry.tables import AliasEventRow


@pytest.fixture
def registry(settings) -> ModelRegistry:
    return ModelRegistry.from_settings(settings)


def test_versions_count_up_and_resolve(registry: ModelRegistry, make_draft) -> None:
    v1 = registry.register("credit", make_draft(seed=0))
    v2 = registry.register("credit", make_draft(seed=1))
    assert (v1.version, v2.version) == (1, 2)
    assert registry.get("credit").version == 2  # no production alias: newest
    assert registry.get("credit", 1).version == 1
    assert registry.get("credit", "1").version == 1
    assert registry.get("credit", "latest").version == 2
    registry.promote("credit", 1)
    assert registry.get("credit").version == 1  # production wins over newest
    assert registry.get("credit", "production").aliases == ["production"]


def test_promote_and_rollback_walk_the_history(registry: ModelRegistry, make_draft) -> None:
    for seed in range(3):
        registry.register("credit", make_draft(seed=seed))
    moves = [registry.promote("credit", v) for v in (1, 2, 3)]
    assert [(m.from_version, m.to_version) for m in moves] == [(None, 1), (1, 2), (2, 3)]
    back = registry.rollback("credit")
    assert (back.from_version, back.to_version) == (3, 2)
    assert registry.rollback("credit").to_version == 1
    with pytest.raises(ConflictError, match="no earlier version"):
        registry.rollback("credit")
    assert registry.get("credit", "production").version == 1
    registry.promote("credit", 3, alias="staging")
    assert registry.get("credit", "staging").version == 3
    assert registry.get("credit", "production").version == 1


def test_bad_references_are_clear(registry: ModelRegistry, make_draft) -> None:
    registry.register("credit", make_draft())
    with pytest.raises(NotFoundError, match="no version 9"):
        registry.promote("credit", 9)
    with pytest.raises(NotFoundError, match="no model named 'nope'"):
        registry.get("nope")
    with pytest.raises(NotFoundError, match="no alias 'canary'"):
        registry.get("credit", "canary")
    with pytest.raises(NotFoundError, match="no alias 'production' to roll back"):
        registry.rollback("credit")
    with pytest.raises(InvalidInputError):
        registry.promote("credit", 1, alias="2")
    with pytest.raises(InvalidInputError):
        registry.register("../evil", make_draft())
    for outside in ("nul\x00name", "x" * 300, "caf\u00e9", "\ud800"):  # never looked up
        with pytest.raises(NotFoundError, match="no model named"):
            registry.get(outside)
        with pytest.raises(NotFoundError, match="no model named"):
            registry.promote(outside, 1)


def test_promote_to_the_current_version_is_a_no_op(registry: ModelRegistry, make_draft) -> None:
    for seed in range(2):
        registry.register("credit", make_draft(seed=seed))
    registry.promote("credit", 1)
    registry.promote("credit", 2)
    same = registry.promote("credit", 2)
    assert (same.from_version, same.to_version, same.changed) == (2, 2, False)
    with registry.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AliasEventRow)) == 2
    assert registry.rollback("credit").to_version == 1  # not back onto 2 itself


def test_loaded_model_predicts_like_the_draft(registry: ModelRegistry, make_draft) -> None:
    draft = make_draft()
    registry.register("credit", draft)
    model = registry.load("credit")
    np.testing.assert_allclose(model.predict_proba(draft.frame), draft.expected, rtol=1e-9)
    assert set(model.predict(draft.frame)) <= {"good", "bad"}


def _learner_key(registry: ModelRegistry, uri: str) -> str:
    return f"{uri}/{next(p for p in registry.artifacts.list(uri) if p.endswith('.txt'))}"


def test_corrupt_stored_package_refuses_to_load_and_is_not_cached(
    registry: ModelRegistry, make_draft
) -> None:
    mv = registry.register("credit", make_draft())
    store, key = registry.artifacts, _learner_key(registry, mv.uri)
    good = store.read_bytes(key)
    with store.fs.open(store.path(key), "wb") as fh:
        fh.write(b"tree\nnot the model anymore\n")
    with pytest.raises(IntegrityError, match=r"credit v1 in the artifact store is corrupt") as err:
        registry.load("credit")
    assert "expected" in err.value.message  # the hash it has and the one recorded
    assert list(registry.cache_dir.glob("credit/*")) == []  # nothing of it is cached
    with store.fs.open(store.path(key), "wb") as fh:  # restored from a backup
        fh.write(good)
    registry.load("credit").predict(make_draft().frame)


def test_a_corrupt_cached_copy_is_fetched_again(
    registry: ModelRegistry, make_draft, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = make_draft()
    mv = registry.register("credit", draft)
    _, _, folder = registry.fetch("credit")
    learner = next(folder.rglob("*.txt"))
    learner.write_bytes(b"tree\ncorrupted on the local disk\n")
    _, _, again = registry.fetch("credit")  # the stamp differs: verified, refetched
    assert again == folder and learner.read_bytes() == registry.artifacts.read_bytes(
        _learner_key(registry, mv.uri)
    )
    np.testing.assert_allclose(
        registry.load("credit").predict_proba(draft.frame), draft.expected, rtol=1e-9
    )
    verified: list[str] = []
    real = cache_module.verify_package

    def counting(*args: object, **kwargs: object) -> object:
        verified.append(str(args[2]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cache_module, "verify_package", counting)
    registry.fetch("credit")
    assert verified == []  # an unchanged copy is checked by its stamp, not re-hashed
    learner.write_bytes(learner.read_bytes())  # same bytes, new time: verified in full
    registry.fetch("credit")
    assert verified == ["credit v1"]


def test_failed_registration_leaves_nothing(
    registry: ModelRegistry, make_draft, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_a: object, **_k: object) -> None:
        raise RuntimeError("database went away mid-write")

    monkeypatch.setattr(registry_module, "_version", explode)
    with pytest.raises(RuntimeError):
        registry.register("credit", make_draft())
    assert not registry.artifacts.exists("models/credit")  # no empty folder either
    with pytest.raises(NotFoundError):
        registry.get("credit")


def test_task_mismatch_is_refused(registry: ModelRegistry, make_draft) -> None:
    registry.register("credit", make_draft())
    draft = make_draft()
    draft.task = "multiclass"
    with pytest.raises(InvalidInputError, match="holds binary versions"):
        registry.register("credit", draft)


def test_listing_and_search(registry: ModelRegistry, make_draft) -> None:
    registry.register("credit-risk", make_draft())
    registry.register("fraud", make_draft())
    registry.promote("fraud", 1)
    assert [m["name"] for m in registry.list_models()] == ["credit-risk", "fraud"]
    assert [m["name"] for m in registry.list_models(query="risk")] == ["credit-risk"]
    assert [m["name"] for m in registry.list_models(alias="production")] == ["fraud"]
    assert registry.list_models(task="regression") == []
    entry = registry.list_models(query="fraud")[0]
    assert entry["aliases"] == {"production": 1}
    assert entry["versions"][0]["metrics"] == {"test_roc_auc": 0.9}


def test_concurrent_registrations_get_distinct_versions(
    registry: ModelRegistry, make_draft
) -> None:
    drafts = [make_draft(seed=i) for i in range(4)]
    results: list[int] = []
    errors: list[BaseException] = []

    def worker(d) -> None:
        try:
            results.append(registry.register("credit", d).version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [1, 2, 3, 4]
    assert len(registry.artifacts.list("models/credit")) > 0
    assert [v.version for v in registry.versions("credit")] == [1, 2, 3, 4]


def test_concurrent_promotions_keep_history_consistent(registry: ModelRegistry, make_draft) -> None:
    for seed in range(3):
        registry.register("credit", make_draft(seed=seed))
    targets = [1, 2, 3] * 4
    errors: list[BaseException] = []

    moves: list[AliasMove] = []

    def worker(version: int) -> None:
        try:
            moves.append(registry.promote("credit", version))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(v,)) for v in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = registry.get("credit", "production").version
    # every move recorded its true predecessor, so rolling back all the way never fails early;
    # a promote to the version already there recorded nothing
    seen = [final]
    while True:
        try:
            seen.append(registry.rollback("credit").to_version)
        except ConflictError:
            break
    assert len(seen) == sum(m.changed for m in moves)
    assert all(a != b for a, b in itertools.pairwise(seen))
