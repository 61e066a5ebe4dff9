"""Where a view's rows are: its own ingested files, a dataset version, or a Parquet glob."""

from __future__ import annotations

from pathlib import Path

from atlas.core.artifacts import ArtifactStore, open_artifacts
from atlas.core.errors import InvalidInputError
from atlas.core.names import is_version_number
from atlas.core.settings import Settings
from atlas.data.datasets import DatasetStore
from atlas.data.features.definitions import Entity, FeatureView
from atlas.data.features.offline import DuckDBEngine, OfflineEngine, atlas_dtype
from atlas.data.features.registry import FeatureRegistry, RegisteredView
from atlas.data.features.specs import SourceSpec


class Sources:
    """Turns registered views into :class:`SourceSpec` for the offline engine."""

    def __init__(self, registry: FeatureRegistry, files: ArtifactStore, settings: Settings) -> None:
        self.registry = registry
        self.files = files
        self.settings = settings

    def files_of(self, view: FeatureView) -> tuple[tuple[str, ...], str]:
        source = view.source
        if source is None:
            files = tuple(self.files.path(u) for u in self.registry.files(view.name))
            return files, f"the ingested files of feature view {view.name!r}"
        if source.startswith("dataset:"):
            name, _, version = source[len("dataset:") :].partition("@")
            datasets = DatasetStore(self.registry.db, open_artifacts(self.settings.artifacts_url))
            dv = datasets.get(name, int(version) if is_version_number(version) else None)
            label = f"dataset {name!r} v{dv.version} (source of {view.name!r})"
            return (datasets.artifacts.path(dv.uri),), label
        path = Path(source).expanduser()
        glob = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
        return (glob,), f"{source} (source of {view.name!r})"

    def spec(self, reg: RegisteredView) -> SourceSpec:
        view, entity = reg.view, reg.entity
        files, label = self.files_of(view)
        features = {n: view.dtype(n) for n in view.feature_names}
        return SourceSpec(
            view.name, files, entity.join_key, entity.dtype, view.timestamp, features, label
        )

    def typed(self, view: FeatureView, entity: Entity, engine: OfflineEngine) -> FeatureView:
        """``view`` with feature types read from its source where not given, checked."""
        if view.source is None:
            if view.typed:
                return view
            raise InvalidInputError(
                f"Feature view {view.name!r} has no source, so its feature types must be given.",
                hint="Write features as a mapping name: type (int64, float64, string, bool, "
                "timestamp).",
            )
        files, label = self.files_of(view)
        found = engine.columns(files, label)
        view = view.with_types({n: t for n, d in found.items() if (t := atlas_dtype(d))})
        if not view.typed:
            unknown = [n for n, t in view.schema.items() if t is None]
            raise InvalidInputError(
                f"Cannot tell the type of feature(s) {unknown} of {view.name!r} from {label}.",
                hint=f"It has the columns: {', '.join(found)}. Declare the types.",
            )
        if isinstance(engine, DuckDBEngine):
            engine.check(self.spec(RegisteredView(view, entity, 0)))
        return view
