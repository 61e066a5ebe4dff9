"""The local cache of model packages: a verified copy of each version, refetched when it no
longer matches what the registry recorded.

A copy enters the cache only after every byte was checked against the registry's manifest
hash (downloaded to a temporary folder, verified, then moved in). Beside it, a stamp records
the size and modification time of each file at that moment, so a later load checks the copy
cheaply: the manifest's sha256 against the registry's, and each file's size and time against
the stamp. When they differ, the copy is verified in full; a copy that fails is removed and the
package fetched again from the artifact store. A package that is corrupt in the store itself is
an :class:`~atlas.core.errors.IntegrityError` naming the version and the hashes, and nothing of
it is cached.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from atlas.core.artifacts import ArtifactStore
from atlas.core.errors import IntegrityError
from atlas.core.logging import get_logger
from atlas.registry.hashing import MANIFEST, sha256_file
from atlas.registry.manifest import Manifest
from atlas.registry.package import verify_package

log = get_logger(__name__)
HASH_PREFIX = 16  # characters of the manifest hash in a cached folder's name
Stamp = dict[str, list[int]]  # relative path -> [size, mtime_ns]


@dataclass(frozen=True)
class CachedPackage:
    """What the cache needs to know of a registered version."""

    name: str
    version: int
    uri: str
    manifest_sha256: str

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


def _stamp_of(folder: Path) -> Stamp:
    stamp: Stamp = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            st = path.stat()
            stamp[path.relative_to(folder).as_posix()] = [st.st_size, st.st_mtime_ns]
    return stamp


class PackageCache:
    """Verified local copies of packages under ``root`` (``<name>/<version>-<hash>``)."""

    def __init__(self, root: Path, artifacts: ArtifactStore) -> None:
        self.root = root
        self.artifacts = artifacts

    def folder(self, package: CachedPackage) -> Path:
        sha = package.manifest_sha256[:HASH_PREFIX]
        return self.root / package.name / f"{package.version}-{sha}"

    def get(self, package: CachedPackage) -> tuple[Manifest, Path]:
        """The package's manifest and its verified local folder, fetched when needed."""
        folder = self.folder(package)
        if folder.is_dir():
            manifest = self._checked(package, folder)
            if manifest is not None:
                return manifest, folder
        return self._download(package, folder), folder

    # -- the cached copy -----------------------------------------------------------------
    def _stamp_path(self, folder: Path) -> Path:
        return folder.with_name(f"{folder.name}.stamp.json")

    def _checked(self, package: CachedPackage, folder: Path) -> Manifest | None:
        """The cached copy's manifest if it still matches; None once a bad copy is removed."""
        if self._unchanged(package, folder):
            return Manifest.model_validate_json((folder / MANIFEST).read_bytes())
        try:
            manifest = verify_package(folder, package.manifest_sha256, package.label)
        except IntegrityError as exc:
            log.warning("model.cache_refetched", model=package.label, reason=exc.message)
            self._remove(folder)
            return None
        self._write_stamp(folder)
        return manifest

    def _unchanged(self, package: CachedPackage, folder: Path) -> bool:
        """Whether the copy is the one verified when the stamp was written (cheap: one small
        hash and a stat per file)."""
        try:
            recorded = json.loads(self._stamp_path(folder).read_text())
        except (OSError, ValueError):
            return False
        manifest = folder / MANIFEST
        return (
            manifest.is_file()
            and sha256_file(manifest) == package.manifest_sha256
            and recorded == _stamp_of(folder)
        )

    def _write_stamp(self, folder: Path) -> None:
        stamp = self._stamp_path(folder)
        tmp = stamp.with_name(f"{stamp.name}.partial-{uuid.uuid4().hex}")
        try:
            tmp.write_text(json.dumps(_stamp_of(folder)))
            tmp.replace(stamp)
        except OSError as exc:  # a read-only cache still serves: the next load verifies again
            tmp.unlink(missing_ok=True)
            log.warning("model.cache_stamp_failed", folder=str(folder), error=str(exc))

    def _remove(self, folder: Path) -> None:
        """Move the bad copy aside (readers never see half a folder), then delete it."""
        self._stamp_path(folder).unlink(missing_ok=True)
        aside = folder.with_name(f"{folder.name}.bad-{uuid.uuid4().hex}")
        try:
            folder.rename(aside)
        except OSError:  # another process removed it first
            return
        shutil.rmtree(aside, ignore_errors=True)

    # -- fetching ------------------------------------------------------------------------
    def _download(self, package: CachedPackage, folder: Path) -> Manifest:
        """Fetch the package from the store, verify it, and only then move it into place."""
        tmp = folder.with_name(f"{folder.name}.partial-{uuid.uuid4().hex}")
        try:
            self.artifacts.get_dir(package.uri, tmp)
            manifest = verify_package(
                tmp, package.manifest_sha256, f"{package.label} in the artifact store"
            )
            try:
                tmp.rename(folder)
            except OSError:
                if not folder.is_dir():
                    raise  # else another process moved its verified copy in first
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._write_stamp(folder)
        return manifest
