"""Packaged application pipelines."""

from atlas.apps.demo import DemoReport, run_demo

__all__ = ["DemoReport", "run_demo"]
