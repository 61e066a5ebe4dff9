"""The fitted estimator's members: each fold model kept as the bytes of its files (what a
package or a pickle holds) and loaded once, as ``(weight, predictor)`` pairs.

``fit`` loads them from the search's working folder before it returns (inside the budget), so
the first ``predict`` pays no loading; an unpickled estimator loads them from the bytes on its
first ``predict``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from atlas.automl.engine import Member
from atlas.registry.flavors import Predictor, load_learner

FoldFiles = dict[str, bytes]  # file name -> content, one fold model's folder
Kept = list[tuple[Member, list[FoldFiles]]]
Weighted = list[tuple[float, Predictor]]


def keep(members: list[Member]) -> Kept:
    """Each member with the bytes of every file beside each of its fold models."""
    return [
        (m, [{p.name: p.read_bytes() for p in f.parent.iterdir() if p.is_file()} for f in m.files])
        for m in members
    ]


def load_files(members: list[Member], task: str) -> Weighted:
    """Every fold model of ``members`` loaded from its file, weighted so weights sum to 1."""
    total = sum(m.weight for m in members)
    return [
        (member.weight / total / len(member.files), load_learner(member.flavor, file, task))
        for member in members
        for file in member.files
    ]


def load_kept(kept: Kept, task: str) -> Weighted:
    """:func:`load_files` of members kept as bytes (written to a scratch folder first)."""
    with tempfile.TemporaryDirectory(prefix="atlas-model-") as tmp:
        members = []
        for i, (member, blobs) in enumerate(kept):
            files = []
            for j, (file, contents) in enumerate(zip(member.files, blobs, strict=True)):
                folder = Path(tmp) / f"{i}-{j}"
                folder.mkdir()
                for name, data in contents.items():
                    (folder / name).write_bytes(data)
                files.append(folder / file.name)
            members.append(dataclasses.replace(member, files=files))
        return load_files(members, task)
