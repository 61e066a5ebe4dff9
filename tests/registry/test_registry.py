"""Conformance suite of the model registry on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import atlas.registry.registry as registry_module
from atlas.core.errors import ConflictError, IntegrityError, InvalidInputError, NotFoundError
from atlas.registry import ModelRegistry


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


def test_loaded_model_predicts_like_the_draft(registry: ModelRegistry, make_draft) -> None:
    draft = make_draft()
    registry.register("credit", draft)
    model = registry.load("credit")
    np.testing.assert_allclose(model.predict_proba(draft.frame), draft.expected, rtol=1e-9)
    assert set(model.predict(draft.frame)) <= {"good", "bad"}


def test_corrupt_stored_package_refuses_to_load(registry: ModelRegistry, make_draft) -> None:
    mv = registry.register("credit", make_draft())
    store = registry.artifacts
    learner = next(p for p in store.list(mv.uri) if p.endswith(".txt"))
    key = f"{mv.uri}/{learner}"
    with store.fs.open(store.path(key), "wb") as fh:
        fh.write(b"tree\nnot the model anymore\n")
    with pytest.raises(IntegrityError, match=r"credit v1 is corrupt"):
        registry.load("credit")


def test_failed_registration_leaves_nothing(
    registry: ModelRegistry, make_draft, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_a: object, **_k: object) -> None:
        raise RuntimeError("database went away mid-write")

    monkeypatch.setattr(registry_module, "_version", explode)
    with pytest.raises(RuntimeError):
        registry.register("credit", make_draft())
    assert registry.artifacts.list("models/credit") == []
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

    def worker(version: int) -> None:
        try:
            registry.promote("credit", version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(v,)) for v in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = registry.get("credit", "production").version
    # every move recorded its true predecessor, so rolling back all the way never fails early
    seen = [final]
    while True:
        try:
            seen.append(registry.rollback("credit").to_version)
        except ConflictError:
            break
    assert len(seen) == len(targets)
