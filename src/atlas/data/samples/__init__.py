"""Small public datasets shipped inside the package (their source and licence: README.md here).

``atlas demo`` and the test suite use them, so a bare clone needs nothing beside it;
``atlas data sample NAME`` writes one out as CSV.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

import pandas as pd

from atlas.core.errors import NotFoundError


@dataclass(frozen=True)
class Sample:
    name: str
    file: str  # gzipped CSV beside this module
    target: str
    sha256: str  # of the uncompressed CSV
    description: str


SAMPLES = {
    s.name: s
    for s in (
        Sample(
            "credit-g",
            "credit_g.csv.gz",
            "target",
            "d8bbc0b04fc9666ba137eed597e3fea84130071ff95c5f1b8037ea58553041f1",
            "Statlog German credit: 1000 applicants, 20 attributes, target good/bad (CC BY 4.0)",
        ),
    )
}
DEMO_SAMPLE = "credit-g"


def get_sample(name: str) -> Sample:
    if name not in SAMPLES:
        raise NotFoundError(
            f"There is no sample dataset named {name!r}.", hint=f"Known: {', '.join(SAMPLES)}."
        )
    return SAMPLES[name]


def sample_path(name: str = DEMO_SAMPLE) -> Path:
    """The path of a sample's gzipped CSV inside the installed package."""
    with as_file(files(__package__).joinpath(get_sample(name).file)) as path:
        return Path(path)


def load_sample(name: str = DEMO_SAMPLE) -> pd.DataFrame:
    return pd.read_csv(sample_path(name))


def sample_bytes(name: str = DEMO_SAMPLE) -> bytes:
    """The sample's CSV, uncompressed and checked against its recorded sha256."""
    sample = get_sample(name)
    data = gzip.decompress(sample_path(name).read_bytes())
    if hashlib.sha256(data).hexdigest() != sample.sha256:
        raise NotFoundError(
            f"The shipped sample {name!r} is damaged (its sha256 does not match).",
            hint="Reinstall ATLAS.",
        )
    return data


__all__ = ["DEMO_SAMPLE", "SAMPLES", "Sample", "load_sample", "sample_bytes", "sample_path"]
