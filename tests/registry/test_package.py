from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from atlas.core.errors import IntegrityError
from atlas.registry import LoadedModel, verify_package
from atlas.registry.flavors import load_learner


def test_finalized_package_verifies_and_predicts(make_draft) -> None:
    draft = make_draft()
    manifest, sha = draft.finalize("credit", 1)
    assert set(manifest.files) == {
        p.relative_to(draft.folder).as_posix()
        for p in draft.folder.rglob("*")
        if p.is_file() and p.name != "model.json"
    }
    loaded = LoadedModel(verify_package(draft.folder, sha, "credit v1"), draft.folder)
    np.testing.assert_allclose(loaded.predict_proba(draft.frame), draft.expected, rtol=1e-9)
    records = draft.frame.head(5).to_dict(orient="records")
    np.testing.assert_allclose(loaded.predict_proba(records), draft.expected[:5], rtol=1e-9)
    json_manifest = json.loads((draft.folder / "model.json").read_text())
    assert json_manifest["inputs"][2]["categories"] == ["east", "north", "south"]
    assert {x["flavor"] for x in json_manifest["learners"]} == {"lightgbm", "sklearn"}


def test_tampered_learner_file_is_detected(make_draft) -> None:
    draft = make_draft()
    manifest, sha = draft.finalize("credit", 1)
    target = draft.folder / manifest.learners[0].path
    target.write_text(target.read_text().replace("num_leaves", "num_leavez", 1))
    with pytest.raises(IntegrityError, match=r"credit v1 is corrupt: learners/0-lightgbm"):
        verify_package(draft.folder, sha, "credit v1")


def test_tampered_manifest_is_detected(make_draft) -> None:
    draft = make_draft()
    _, sha = draft.finalize("credit", 1)
    path = draft.folder / "model.json"
    path.write_text(path.read_text().replace('"version": 1', '"version": 2'))
    with pytest.raises(IntegrityError, match=r"model\.json has sha256"):
        verify_package(draft.folder, sha, "credit v1")


def test_missing_and_extra_files_are_detected(make_draft) -> None:
    draft = make_draft()
    manifest, sha = draft.finalize("credit", 1)
    (draft.folder / "smuggled.py").write_text("print('hi')")
    with pytest.raises(IntegrityError, match="unexpected files"):
        verify_package(draft.folder, sha, "credit v1")
    (draft.folder / "smuggled.py").unlink()
    (draft.folder / manifest.learners[1].path).unlink()
    with pytest.raises(IntegrityError, match="missing the file"):
        verify_package(draft.folder, sha, "credit v1")


class Gadget:
    """A type that is not scikit-learn: loading it would run code of the package's choosing."""

    def __init__(self) -> None:
        self.payload = [1, 2, 3]


def test_skops_flavor_refuses_foreign_types(tmp_path: Path) -> None:
    path = tmp_path / "sklearn.skops"
    sio.dump(Gadget(), path)
    with pytest.raises(IntegrityError, match="not scikit-learn"):
        load_learner("sklearn", path, "binary")
