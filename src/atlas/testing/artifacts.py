"""Conformance suite of the artifact store (``atlas.core.artifacts.ArtifactStore`` on any
fsspec URL): immutable, atomically uploaded folders, safe keys, fsspec-openable URIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fsspec
import pytest

from atlas.core.artifacts import ArtifactStore
from atlas.core.errors import ConflictError, InvalidInputError, NotFoundError

BAD_KEYS = ["../escape", "/abs", "a//b", "a/./b", ""]


def _tree(root: Path) -> Path:
    (root / "learners" / "0").mkdir(parents=True)
    (root / "model.json").write_text('{"a": 1}')
    (root / "learners" / "0" / "model.txt").write_bytes(b"\x00\x01binary")
    return root


class ArtifactStoreConformance:
    """Subclass and implement :meth:`make_store` (a fresh, empty store per test)."""

    def make_store(self, tmp_path: Path) -> ArtifactStore:
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> ArtifactStore:
        return self.make_store(tmp_path)

    def test_bytes_round_trip(self, store: ArtifactStore) -> None:
        store.write_bytes("datasets/d/abc.parquet", b"payload")
        assert store.exists("datasets/d/abc.parquet")
        assert store.read_bytes("datasets/d/abc.parquet") == b"payload"
        with store.open("datasets/d/abc.parquet") as fh:
            assert fh.read() == b"payload"
        assert store.list("datasets/d") == ["abc.parquet"]

    def test_folder_round_trip(self, store: ArtifactStore, tmp_path: Path) -> None:
        src = _tree(tmp_path / "src")
        store.put_dir(src, "models/m/1")
        assert store.list("models/m/1") == ["learners/0/model.txt", "model.json"]
        out = store.get_dir("models/m/1", tmp_path / "out")
        assert (out / "learners" / "0" / "model.txt").read_bytes() == b"\x00\x01binary"
        assert (out / "model.json").read_text() == '{"a": 1}'

    def test_artifacts_are_immutable(self, store: ArtifactStore, tmp_path: Path) -> None:
        src = _tree(tmp_path / "src")
        store.put_dir(src, "models/m/1")
        with pytest.raises(ConflictError):
            store.put_dir(src, "models/m/1")

    def test_failed_upload_leaves_nothing(
        self, store: ArtifactStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        src = _tree(tmp_path / "src")
        calls = {"n": 0}
        real_put = store.fs.put_file

        def flaky_put(lpath: str, rpath: str, **kw: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError("disk full")
            real_put(lpath, rpath, **kw)

        monkeypatch.setattr(store.fs, "put_file", flaky_put)
        with pytest.raises(OSError, match="disk full"):
            store.put_dir(src, "models/m/1")
        assert not store.exists("models/m/1")
        assert store.list("models/m") == []

    def test_delete_and_missing(self, store: ArtifactStore, tmp_path: Path) -> None:
        store.write_bytes("a/b", b"1")
        store.delete("a")
        assert not store.exists("a/b")
        store.delete("a")  # deleting twice is fine
        with pytest.raises(NotFoundError):
            store.read_bytes("a/b")
        with pytest.raises(NotFoundError):
            store.get_dir("nothing/here", tmp_path / "unused")

    @pytest.mark.parametrize("key", BAD_KEYS)
    def test_bad_keys_are_refused(self, store: ArtifactStore, key: str) -> None:
        with pytest.raises(InvalidInputError):
            store.write_bytes(key, b"x")

    def test_uri_is_openable_by_fsspec(self, store: ArtifactStore) -> None:
        store.write_bytes("x/y.bin", b"hello")
        with fsspec.open(store.uri("x/y.bin"), "rb") as fh:
            assert fh.read() == b"hello"
