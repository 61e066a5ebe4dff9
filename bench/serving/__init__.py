"""Serving benchmarks: ATLAS's inference server against MLflow's (bench/README.md)."""
