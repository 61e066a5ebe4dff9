"""Plugins by entry points: every pluggable part, built-ins included, registers the same way.

A package adds a learner, a model flavor, a connector type, an online store or its own tables by
naming an object in its ``pyproject.toml``, without forking ATLAS::

    [project.entry-points."atlas.learners"]
    my_gbm = "my_package.learner:MyLearner"

:class:`PluginGroup` finds a group's entry points (``importlib.metadata``), loads each one only
when it is first asked for, and checks it with the group's ``validate``. A plugin that fails to
import or to validate is reported by name (logged once, and listed by :meth:`failures` and
``atlas plugins``) and skipped: it never takes the other plugins down. When two distributions
register one name, ATLAS's own wins and the other is reported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from atlas.core.errors import ConfigError, NotFoundError
from atlas.core.logging import get_logger

T = TypeVar("T")
log = get_logger(__name__)
OWN_DISTRIBUTION = "atlas-ml"
GROUPS = (
    "atlas.learners",
    "atlas.flavors",
    "atlas.connectors",
    "atlas.online_stores",
    "atlas.tables",
)


@dataclass(frozen=True)
class PluginInfo:
    """Where one registered plugin comes from (for ``atlas plugins``)."""

    group: str
    name: str
    value: str
    distribution: str | None
    error: str | None = None


def _distribution(ep: EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return None if dist is None else str(dist.metadata["Name"])


def _ordered(group: str) -> list[EntryPoint]:
    """The group's entry points, ATLAS's own first (so a duplicate name keeps the built-in)."""
    found = list(entry_points(group=group))
    return sorted(found, key=lambda ep: _distribution(ep) != OWN_DISTRIBUTION)


class PluginGroup(Generic[T]):
    """The plugins of one entry-point group, loaded lazily and checked by ``validate``.

    ``validate(name, obj)`` returns the plugin as the group uses it, or raises (``TypeError``,
    ``ValueError``) with a reason; ``kind`` names a plugin in messages ("learner").
    """

    def __init__(self, group: str, kind: str, validate: Callable[[str, Any], T]) -> None:
        self.group = group
        self.kind = kind
        self.validate = validate
        self._lock = threading.RLock()
        self._points: dict[str, EntryPoint] | None = None
        self._loaded: dict[str, T] = {}
        self._failed: dict[str, PluginInfo] = {}
        self._shadowed: list[PluginInfo] = []  # a second registration of a name in use

    # -- discovery -----------------------------------------------------------------------
    def _entry_points(self) -> dict[str, EntryPoint]:
        with self._lock:
            if self._points is None:
                points: dict[str, EntryPoint] = {}
                for ep in _ordered(self.group):
                    if ep.name in points:
                        used = points[ep.name].value
                        self._shadowed.append(self._report(ep, f"duplicate name: {used} is used"))
                        continue
                    points[ep.name] = ep
                self._points = points
            return self._points

    def names(self) -> list[str]:
        """Every registered name, loaded or not (failed ones excluded once they failed)."""
        return sorted(n for n in self._entry_points() if n not in self._failed)

    def refresh(self) -> None:
        """Forget what was found and loaded (after installing a package in this process)."""
        with self._lock:
            self._points, self._loaded, self._failed, self._shadowed = None, {}, {}, []

    # -- loading -------------------------------------------------------------------------
    def load(self, name: str) -> T | None:
        """The plugin called ``name``, or None if it is not registered or failed to load."""
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            ep = self._entry_points().get(name)
            if ep is None or name in self._failed:
                return None
            try:
                plugin = self.validate(name, ep.load())
            except Exception as exc:  # a broken plugin must not take the others down
                self._failed[name] = self._report(ep, f"{type(exc).__name__}: {exc}")
                return None
            self._loaded[name] = plugin
            return plugin

    def get(self, name: str) -> T:
        """The plugin called ``name``; a clear error when it is unknown or broken."""
        plugin = self.load(name)
        if plugin is not None:
            return plugin
        if name in self._failed:
            raise ConfigError(
                f"The {self.kind} {name!r} failed to load: {self._failed[name].error}.",
                hint=f"Fix or uninstall the package that registers it ({self.group}).",
            )
        raise NotFoundError(
            f"There is no {self.kind} named {name!r}.",
            hint=f"Known: {', '.join(self.names()) or 'none'} (entry points {self.group}).",
        )

    def all(self) -> dict[str, T]:
        """Every plugin that loads, by name (the ones that fail are reported and skipped)."""
        out = {}
        for name in self.names():
            plugin = self.load(name)
            if plugin is not None:
                out[name] = plugin
        return out

    def failures(self) -> list[PluginInfo]:
        """The plugins that failed to load so far, and names registered twice."""
        with self._lock:
            found = [*self._failed.values(), *self._shadowed]
        return sorted(found, key=lambda info: (info.name, info.value))

    def info(self) -> list[PluginInfo]:
        """Every entry point of the group with its distribution (and its error, if it failed)."""
        points = self._entry_points()
        ok = [
            PluginInfo(self.group, n, ep.value, _distribution(ep))
            for n, ep in sorted(points.items())
            if n not in self._failed
        ]
        return sorted([*ok, *self.failures()], key=lambda info: (info.name, info.error or ""))

    def _report(self, ep: EntryPoint, error: str) -> PluginInfo:
        log.warning("plugin_failed", group=self.group, name=ep.name, error=error)
        return PluginInfo(self.group, ep.name, ep.value, _distribution(ep), error)


def load_entry_point_modules(group: str) -> list[PluginInfo]:
    """Import every module a group names (``atlas.tables``); returns the ones that failed."""
    modules: PluginGroup[Any] = PluginGroup(group, "module", lambda _name, obj: obj)
    modules.all()
    return modules.failures()


def check_subclass(base: type) -> Callable[[str, Any], Any]:
    """A ``validate`` for groups of classes: the object must be a subclass of ``base``."""

    def validate(name: str, obj: Any) -> Any:
        if not (isinstance(obj, type) and issubclass(obj, base)):
            raise TypeError(f"{obj!r} is not a subclass of {base.__module__}.{base.__qualname__}")
        return obj

    return validate
