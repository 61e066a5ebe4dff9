"""The artifact store: model packages and datasets on any fsspec filesystem.

A plain path or ``file://`` URL is the embedded default; ``s3://``, ``gs://``, ``memory://`` and
every other fsspec URL work the same way. Keys are relative, '/'-separated and never contain
'..'. Writes land under a temporary key and are moved into place, so a reader never sees half a
file on filesystems where a move is atomic (local disks); on object stores, the metadata row
written after the upload is the commit point, and a failed upload is deleted.
"""

from __future__ import annotations

import posixpath
import uuid
from pathlib import Path
from typing import IO, Any

import fsspec

from atlas.core.errors import ConfigError, ConflictError, InvalidInputError, NotFoundError
from atlas.core.redact import redact_url, scrub


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidInputError(
            f"Artifact key {key!r} is not allowed.",
            hint="Keys are relative paths like 'models/credit/abc123' without '..' or '//'.",
        )
    return key


class ArtifactStore:
    """Files and folders under one root URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.shown = redact_url(url)  # for messages: never the credentials in ``url``
        try:
            self.fs, root = fsspec.core.url_to_fs(url)
            self.root = root.rstrip("/") or "/"
            self.fs.makedirs(self.root, exist_ok=True)
        except (ImportError, ValueError, OSError, NotImplementedError) as exc:
            reason = scrub(str(exc), url) or type(exc).__name__
            raise ConfigError(
                f"Cannot open the artifact store {self.shown}: {reason}.",
                hint="Set ATLAS_ARTIFACTS_URL to a folder or an fsspec URL whose driver is "
                "installed (s3fs for s3://, gcsfs for gs://) and that can be reached.",
            ) from None

    def __repr__(self) -> str:
        return f"ArtifactStore({self.shown!r})"

    def path(self, key: str) -> str:
        """The filesystem path of ``key`` (for fsspec calls)."""
        return posixpath.join(self.root, _check_key(key))

    def uri(self, key: str) -> str:
        """A URL of ``key`` that fsspec can open from anywhere."""
        return self.fs.unstrip_protocol(self.path(key))

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self.path(key)))

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write one file; it appears whole or not at all where moves are atomic."""
        target = self.path(key)
        tmp = f"{target}.partial-{uuid.uuid4().hex}"
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        try:
            with self.fs.open(tmp, "wb") as fh:
                fh.write(data)
            self.fs.mv(tmp, target)
        except BaseException:
            self._remove(tmp)
            raise

    def read_bytes(self, key: str) -> bytes:
        try:
            with self.fs.open(self.path(key), "rb") as fh:
                return bytes(fh.read())
        except FileNotFoundError:
            raise NotFoundError(f"Artifact {key!r} does not exist in {self.shown}.") from None

    def open(self, key: str, mode: str = "rb") -> IO[Any]:
        if "r" in mode and not self.exists(key):
            raise NotFoundError(f"Artifact {key!r} does not exist in {self.shown}.")
        return self.fs.open(self.path(key), mode)

    def put_dir(self, local: Path, key: str) -> None:
        """Upload a local folder to ``key``; ``key`` must not exist (artifacts are immutable)."""
        if self.exists(key):
            raise ConflictError(f"Artifact {key!r} already exists; artifacts are immutable.")
        target = self.path(key)
        tmp = f"{target}.partial-{uuid.uuid4().hex}"
        try:
            self.fs.makedirs(tmp, exist_ok=True)
            for file in sorted(p for p in Path(local).rglob("*") if p.is_file()):
                rel = file.relative_to(local).as_posix()
                dest = posixpath.join(tmp, rel)
                self.fs.makedirs(posixpath.dirname(dest), exist_ok=True)
                self.fs.put_file(str(file), dest)
            self.fs.mv(tmp, target, recursive=True)
        except BaseException:
            self._remove(tmp)
            self._remove(target)
            raise

    def get_dir(self, key: str, local: Path) -> Path:
        """Download folder ``key`` into ``local`` (created); returns ``local``."""
        src = self.path(key)
        if not self.fs.isdir(src):
            raise NotFoundError(f"Artifact folder {key!r} does not exist in {self.shown}.")
        local.mkdir(parents=True, exist_ok=True)
        for rel in self.list(key):
            dest = local / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(posixpath.join(src, rel), str(dest))
        return local

    def list(self, key: str) -> list[str]:
        """Files under folder ``key``, as sorted paths relative to it."""
        base = self.path(key)
        if not self.fs.isdir(base):
            return []
        found = self.fs.find(base)
        prefix = self.fs._strip_protocol(base).rstrip("/") + "/"
        return sorted(self.fs._strip_protocol(p)[len(prefix) :] for p in found)

    def delete(self, key: str) -> None:
        """Remove a file or folder; missing keys are fine."""
        self._remove(self.path(key))

    def prune(self, key: str) -> None:
        """Remove folder ``key`` and then its parents while they are empty (never the root):
        after a failed write is deleted, no empty folder of it is left behind."""
        path = self.path(key)
        while path.startswith(self.root.rstrip("/") + "/"):
            try:
                if not self.fs.isdir(path) or self.fs.ls(path, detail=False):
                    return
                self.fs.rmdir(path)
            except OSError:  # filled meanwhile, or gone: nothing to prune
                return
            path = posixpath.dirname(path)

    def _remove(self, path: str) -> None:
        try:
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass


_open: dict[str, ArtifactStore] = {}


def open_artifacts(url: str) -> ArtifactStore:
    """The process-wide :class:`ArtifactStore` for ``url``."""
    store = _open.get(url)
    if store is None:
        store = _open[url] = ArtifactStore(url)
    return store
