"""Feature-store benchmarks: ATLAS against Feast (bench/README.md)."""
