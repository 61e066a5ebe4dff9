"""The model registry: numbered versions of named packages, aliases that move atomically.

A version exists once its row is committed; its files were uploaded before that under a unique
key, and are deleted again if the row cannot be written, so nothing is ever half-registered.
"""

from __future__ import annotations

import posixpath
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from atlas.core.artifacts import ArtifactStore, open_artifacts
from atlas.core.database import Database, open_database
from atlas.core.errors import InvalidInputError, NotFoundError
from atlas.core.logging import get_logger
from atlas.core.names import check_alias, check_name
from atlas.core.schema import isoformat
from atlas.core.settings import Settings, get_settings
from atlas.core.versions import looks_like_version, parse_version
from atlas.registry import aliases
from atlas.registry.aliases import AliasMove
from atlas.registry.cache import CachedPackage, PackageCache
from atlas.registry.manifest import Manifest
from atlas.registry.package import PackageDraft
from atlas.registry.runtime import LoadedModel
from atlas.registry.tables import AliasRow, ModelRow, ModelVersionRow

DEFAULT_ALIAS = "production"
log = get_logger(__name__)
_REGISTER_ATTEMPTS = 5


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    task: str
    uri: str
    manifest_sha256: str
    metrics: dict[str, Any]
    dataset_name: str | None
    dataset_version: int | None
    run_id: str | None
    created_at: datetime
    aliases: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = isoformat(self.created_at)
        return out


def _version(row: ModelVersionRow, alias_names: list[str]) -> ModelVersion:
    return ModelVersion(
        name=row.model_name,
        version=row.version,
        task=row.task,
        uri=row.uri,
        manifest_sha256=row.manifest_sha256,
        metrics=dict(row.metrics),
        dataset_name=row.dataset_name,
        dataset_version=row.dataset_version,
        run_id=row.run_id,
        created_at=row.created_at,
        aliases=sorted(alias_names),
    )


def _is_name(name: str) -> bool:
    try:
        check_name("model", name)
    except InvalidInputError:
        return False
    return True


class ModelRegistry:
    """Register, find, alias and load model packages."""

    def __init__(self, db: Database, artifacts: ArtifactStore, cache_dir: Path) -> None:
        self.db = db
        self.artifacts = artifacts
        self.cache_dir = cache_dir

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ModelRegistry:
        s = settings or get_settings()
        return cls(
            open_database(s.database_url),
            open_artifacts(s.artifacts_url),
            s.home / "cache" / "models",
        )

    # -- writing -------------------------------------------------------------------------
    def register(self, name: str, draft: PackageDraft) -> ModelVersion:
        """Store ``draft`` as the next version of model ``name``."""
        check_name("model", name)
        for _attempt in range(_REGISTER_ATTEMPTS):
            with self.db.session() as s:
                model = s.get(ModelRow, name)
                if model is not None and model.task != draft.task:
                    raise InvalidInputError(
                        f"Model {name!r} holds {model.task} versions; this one is {draft.task}.",
                        hint="Register it under another model name.",
                    )
                latest = s.scalar(
                    select(func.max(ModelVersionRow.version)).where(
                        ModelVersionRow.model_name == name
                    )
                )
            version = (latest or 0) + 1
            manifest, sha = draft.finalize(name, version)
            key = f"models/{name}/{uuid.uuid4().hex}"
            self.artifacts.put_dir(draft.folder, key)
            try:
                with self.db.session() as s:
                    if s.get(ModelRow, name) is None:
                        s.add(ModelRow(name=name, task=draft.task))
                        s.flush()
                    row = ModelVersionRow(
                        model_name=name,
                        version=version,
                        uri=key,
                        manifest_sha256=sha,
                        task=draft.task,
                        metrics=manifest.metrics,
                        dataset_name=manifest.lineage.dataset and manifest.lineage.dataset.name,
                        dataset_version=(
                            manifest.lineage.dataset and manifest.lineage.dataset.version
                        ),
                        run_id=manifest.lineage.search and manifest.lineage.search.run_id,
                    )
                    s.add(row)
                    s.flush()
                    registered = _version(row, [])
                log.info("model.registered", model=name, version=version, uri=key)
                return registered
            except sa_exc.IntegrityError:
                self.artifacts.delete(key)  # another writer took this number: try the next
            except BaseException:
                self.artifacts.delete(key)
                self.artifacts.prune(posixpath.dirname(key))  # no empty folder of it either
                raise
        raise InvalidInputError(
            f"Could not allocate a version of {name!r}: too many concurrent registrations.",
            hint="Retry the registration.",
        )

    def promote(self, name: str, version: int, alias: str = DEFAULT_ALIAS) -> AliasMove:
        """Point ``alias`` at ``version`` (atomically); the old target is kept for rollback.
        Already there: nothing changes (``changed`` is False) and no history is written."""
        check_alias(alias)
        with self.db.session() as s:
            self._version_row(s, name, version)
            moved = aliases.move(s, name, alias, version)
        event = "model.promoted" if moved.changed else "model.promote_unchanged"
        log.info(event, model=name, alias=alias, to=version, previous=moved.from_version)
        return moved

    def rollback(self, name: str, alias: str = DEFAULT_ALIAS) -> AliasMove:
        """Move ``alias`` back to where it pointed before its latest move."""
        check_alias(alias)
        with self.db.session() as s:
            self._model_row(s, name)
            moved = aliases.rollback(s, name, alias)
        log.info(
            "model.rolled_back",
            model=name,
            alias=alias,
            to=moved.to_version,
            previous=moved.from_version,
        )
        return moved

    # -- reading -------------------------------------------------------------------------
    def get(self, name: str, ref: int | str | None = None) -> ModelVersion:
        """Resolve ``ref``: a version number, an alias, ``latest``, or None (the
        ``production`` alias if it is set, else the newest version)."""
        with self.db.session() as s:
            row = self._resolve(s, name, ref)
            return _version(row, aliases.names_for(s, name, row.version))

    def versions(self, name: str) -> list[ModelVersion]:
        with self.db.session() as s:
            self._model_row(s, name)
            by_version = aliases.by_version(s, name)
            rows = s.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.model_name == name)
                .order_by(ModelVersionRow.version)
            )
            return [_version(r, by_version.get(r.version, [])) for r in rows]

    def trained_on(self, dataset: str, version: int) -> list[dict[str, Any]]:
        """Lineage: the model versions whose training data was this dataset version."""
        with self.db.session() as s:
            rows = s.scalars(
                select(ModelVersionRow)
                .where(
                    ModelVersionRow.dataset_name == dataset,
                    ModelVersionRow.dataset_version == version,
                )
                .order_by(ModelVersionRow.model_name, ModelVersionRow.version)
            )
            return [{"model": r.model_name, "version": r.version} for r in rows]

    def list_models(
        self, query: str | None = None, task: str | None = None, alias: str | None = None
    ) -> list[dict[str, Any]]:
        """Models with their versions and aliases; filter by name substring, task, alias."""
        with self.db.session() as s:
            stmt = select(ModelRow).order_by(ModelRow.name)
            if query:
                stmt = stmt.where(ModelRow.name.contains(query, autoescape=True))
            if task:
                stmt = stmt.where(ModelRow.task == task)
            names = [(m.name, m.task) for m in s.scalars(stmt)]
            out: list[dict[str, Any]] = []
            for model_name, model_task in names:
                current = {
                    a.alias: a.version
                    for a in s.scalars(select(AliasRow).where(AliasRow.model_name == model_name))
                }
                if alias and alias not in current:
                    continue
                out.append({"name": model_name, "task": model_task, "aliases": current})
        for entry in out:
            entry["versions"] = [v.to_json() for v in self.versions(entry["name"])]
            entry["latest_version"] = (
                entry["versions"][-1]["version"] if entry["versions"] else None
            )
        return out

    def fetch(self, name: str, ref: int | str | None = None) -> tuple[ModelVersion, Manifest, Path]:
        """A verified local copy of the package (see :mod:`atlas.registry.cache`: a cached copy
        that no longer matches the recorded hash is fetched again); a package corrupt in the
        artifact store raises IntegrityError."""
        mv = self.get(name, ref)
        package = CachedPackage(mv.name, mv.version, mv.uri, mv.manifest_sha256)
        manifest, folder = PackageCache(self.cache_dir, self.artifacts).get(package)
        return mv, manifest, folder

    def load(self, name: str, ref: int | str | None = None) -> LoadedModel:
        _, manifest, folder = self.fetch(name, ref)
        return LoadedModel(manifest, folder)

    # -- helpers -------------------------------------------------------------------------
    def _model_row(self, s: Session, name: str) -> ModelRow:
        # a name outside the name rule was never registered: not looked up (a NUL byte or a
        # string past the column's length would be the database's error, not a 404)
        row = s.get(ModelRow, name) if _is_name(name) else None
        if row is None:
            known = s.scalars(select(ModelRow.name).order_by(ModelRow.name).limit(20)).all()
            raise NotFoundError(
                f"There is no model named {name!r}.",
                hint=f"Known models: {', '.join(known) or 'none yet (run atlas automl fit)'}.",
            )
        return row

    def _version_row(self, s: Session, name: str, version: int) -> ModelVersionRow:
        version = parse_version(version)  # past int64: a clear error, not the driver's
        self._model_row(s, name)
        row = s.scalar(
            select(ModelVersionRow).where(
                ModelVersionRow.model_name == name, ModelVersionRow.version == version
            )
        )
        if row is None:
            known = s.scalars(
                select(ModelVersionRow.version)
                .where(ModelVersionRow.model_name == name)
                .order_by(ModelVersionRow.version)
            ).all()
            raise NotFoundError(
                f"Model {name!r} has no version {version}.",
                hint=f"Its versions are: {', '.join(map(str, known))}.",
            )
        return row

    def _resolve(self, s: Session, name: str, ref: int | str | None) -> ModelVersionRow:
        self._model_row(s, name)
        if isinstance(ref, int) or looks_like_version(ref):
            return self._version_row(s, name, parse_version(ref))
        if ref is None or ref == "latest":
            target = aliases.current(s, name, DEFAULT_ALIAS) if ref is None else None
            if target is None:
                target = s.scalar(
                    select(func.max(ModelVersionRow.version)).where(
                        ModelVersionRow.model_name == name
                    )
                )
            if target is None:
                raise NotFoundError(f"Model {name!r} has no versions yet.")
            return self._version_row(s, name, target)
        target = aliases.current(s, name, ref)
        if target is None:
            known = sorted(aliases.by_alias(s, name))
            raise NotFoundError(
                f"Model {name!r} has no alias {ref!r}.",
                hint=f"Its aliases are: {', '.join(known) or 'none'}; or use a version number.",
            )
        return self._version_row(s, name, target)
