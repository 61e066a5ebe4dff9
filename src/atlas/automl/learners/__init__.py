"""Learner plugins, one file each, found through the ``atlas.learners`` entry points.

The built-in learners register there like a third party's would (``pyproject.toml``)::

    [project.entry-points."atlas.learners"]
    my_gbm = "my_package.learner:MyLearner"

:data:`LEARNERS` loads a learner's class when it is first asked for; the class must subclass
:class:`Learner` and its ``name`` must be the entry point's name. A learner that fails to import
is reported by name (:meth:`~atlas.core.plugins.PluginGroup.failures`) and left out. Importing
this package imports no model library: each learner imports its own when it fits (see
:meth:`Learner.preload`).
"""

from __future__ import annotations

from typing import Any

from atlas.automl.learners.base import Fitted, Learner
from atlas.core.errors import InvalidInputError
from atlas.core.plugins import PluginGroup, check_subclass

_is_learner = check_subclass(Learner)


def _validate(name: str, obj: Any) -> type[Learner]:
    cls: type[Learner] = _is_learner(name, obj)
    if getattr(cls, "name", None) != name:
        raise ValueError(
            f"{cls.__module__}.{cls.__qualname__}.name is {getattr(cls, 'name', None)!r}; "
            f"it must be the entry point's name {name!r}"
        )
    if not isinstance(getattr(cls, "flavor", None), str):
        raise ValueError(f"{cls.__module__}.{cls.__qualname__} sets no registry flavor")
    return cls


LEARNERS: PluginGroup[type[Learner]] = PluginGroup("atlas.learners", "learner", _validate)


def check_learners(names: list[str]) -> None:
    """Raise :class:`InvalidInputError` (a ``ValueError``) naming every one of ``names`` that
    is not a learner that loads: unknown names, and learners whose package is broken."""
    missing = [name for name in names if LEARNERS.load(name) is None]
    if not missing:
        return
    failed = {info.name: info.error for info in LEARNERS.failures()}
    reasons = [f"{n} ({failed[n]})" if n in failed else n for n in missing]
    raise InvalidInputError(
        f"Unknown learner(s) {', '.join(reasons)}; choose from {', '.join(LEARNERS.names())}.",
        hint="A learner comes from an installed package's atlas.learners entry point.",
    )


__all__ = ["LEARNERS", "Fitted", "Learner", "check_learners"]
