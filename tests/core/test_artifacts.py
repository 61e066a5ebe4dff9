"""The artifact store's conformance suite (atlas.testing.artifacts) on a local folder and on
fsspec's memory filesystem (the in-process stand-in for object storage such as S3)."""

from __future__ import annotations

import uuid
from pathlib import Path

from atlas.core.artifacts import ArtifactStore
from atlas.testing.artifacts import ArtifactStoreConformance


class TestLocalFolder(ArtifactStoreConformance):
    def make_store(self, tmp_path: Path) -> ArtifactStore:
        return ArtifactStore(str(tmp_path / "artifacts"))


class TestMemoryFilesystem(ArtifactStoreConformance):
    def make_store(self, tmp_path: Path) -> ArtifactStore:
        return ArtifactStore(f"memory://atlas-test-{uuid.uuid4().hex}")
