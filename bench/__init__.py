"""ATLAS's benchmarks, one package per area; run each from the repository root as a module:
``.venv/bin/python -m bench.<area>.<script>`` (see bench/README.md)."""
