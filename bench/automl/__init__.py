"""AutoML benchmarks: ATLAS against its peers (bench/README.md)."""
