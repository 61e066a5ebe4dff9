"""Datasets: versioned, hashed, with an inferred schema."""

from atlas.data.datasets import DatasetStore, DatasetVersion, check_target, content_hash
from atlas.data.reading import read_table

__all__ = ["DatasetStore", "DatasetVersion", "check_target", "content_hash", "read_table"]
