"""ATLAS: a self-hostable machine-learning platform, from raw data to a monitored endpoint."""

__version__ = "0.1.0"

__all__ = ["__version__"]
