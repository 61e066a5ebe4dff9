"""Build a model package in a local folder, and verify one before it is used."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from atlas.core.errors import IntegrityError
from atlas.registry.flavors import save_learner
from atlas.registry.hashing import MANIFEST, hash_tree, sha256_file
from atlas.registry.manifest import (
    InputColumn,
    LearnerRef,
    Lineage,
    Manifest,
    Task,
    outputs_for,
)


@dataclass
class PackageDraft:
    """Everything of a package but its name and version, which the registry assigns."""

    folder: Path
    task: Task
    target: str
    inputs: list[InputColumn]
    classes: list[Any] | None = None
    threshold: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    lineage: Lineage = field(default_factory=Lineage)
    learners: list[LearnerRef] = field(default_factory=list)

    def add_learner(
        self,
        name: str,
        flavor: str,
        obj: Any,
        weight: float = 1.0,
        params: dict[str, Any] | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        """Save a fitted learner into the package in its flavor's safe format."""
        sub = f"learners/{len(self.learners)}-{name}"
        filename = save_learner(flavor, obj, self.folder / sub)
        self.learners.append(
            LearnerRef(
                name=name,
                flavor=flavor,  # type: ignore[arg-type]
                path=f"{sub}/{filename}",
                weight=weight,
                params=params or {},
                info=info or {},
            )
        )

    def add_learner_files(
        self,
        name: str,
        flavor: str,
        main: str,
        files: dict[str, bytes],
        weight: float = 1.0,
        params: dict[str, Any] | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        """Add a learner already saved in its flavor's format (``main`` is the file to load)."""
        sub = f"learners/{len(self.learners)}-{name}"
        folder = self.folder / sub
        folder.mkdir(parents=True, exist_ok=True)
        for filename, data in files.items():
            (folder / filename).write_bytes(data)
        self.learners.append(
            LearnerRef(
                name=name,
                flavor=flavor,  # type: ignore[arg-type]
                path=f"{sub}/{main}",
                weight=weight,
                params=params or {},
                info=info or {},
            )
        )

    def finalize(self, name: str, version: int) -> tuple[Manifest, str]:
        """Write ``model.json`` with the hashes of every file; returns it and its sha256."""
        if not self.learners:
            raise ValueError("A package needs at least one learner.")
        manifest = Manifest(
            name=name,
            version=version,
            task=self.task,
            target=self.target,
            classes=self.classes,
            inputs=self.inputs,
            outputs=outputs_for(self.task, self.classes),
            learners=self.learners,
            threshold=self.threshold,
            metrics=self.metrics,
            params=self.params,
            lineage=self.lineage,
            files=hash_tree(self.folder),
        )
        path = self.folder / MANIFEST
        path.write_text(manifest.model_dump_json(indent=2))
        return manifest, sha256_file(path)


def verify_package(folder: Path, manifest_sha256: str, label: str) -> Manifest:
    """Check every byte against the recorded hashes; returns the parsed manifest.

    ``label`` (like ``credit-risk v3``) names the package in error messages.
    """
    fix = "Restore the package from a backup or register the model again."
    path = folder / MANIFEST
    if not path.is_file():
        raise IntegrityError(f"Model package {label} has no {MANIFEST}.", hint=fix)
    actual = sha256_file(path)
    if actual != manifest_sha256:
        raise IntegrityError(
            f"Model package {label} is corrupt: {MANIFEST} has sha256 {actual[:12]}..., "
            f"the registry recorded {manifest_sha256[:12]}....",
            hint=fix,
        )
    try:
        manifest = Manifest.model_validate(json.loads(path.read_text()))
    except (ValueError, ValidationError) as exc:
        raise IntegrityError(f"Model package {label} has an unreadable {MANIFEST}: {exc}") from None
    found = hash_tree(folder)
    for rel, expected in manifest.files.items():
        got = found.get(rel)
        if got is None:
            raise IntegrityError(f"Model package {label} is missing the file {rel}.", hint=fix)
        if got != expected:
            raise IntegrityError(
                f"Model package {label} is corrupt: {rel} has sha256 {got[:12]}..., "
                f"expected {expected[:12]}....",
                hint=fix,
            )
    extra = sorted(set(found) - set(manifest.files))
    if extra:
        raise IntegrityError(f"Model package {label} holds unexpected files: {extra}.", hint=fix)
    return manifest
