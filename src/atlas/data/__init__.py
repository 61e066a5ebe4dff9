"""Datasets: versioned, hashed, profiled, quality-checked; erasure of personal data."""

from atlas.data.datasets import DatasetStore, DatasetVersion, check_target, content_hash
from atlas.data.erasure import erase, erasure_key, erasures, was_erased
from atlas.data.quality import parse_rules, psi
from atlas.data.reading import read_table

__all__ = [
    "DatasetStore",
    "DatasetVersion",
    "check_target",
    "content_hash",
    "erase",
    "erasure_key",
    "erasures",
    "parse_rules",
    "psi",
    "read_table",
    "was_erased",
]
