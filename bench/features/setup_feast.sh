#!/usr/bin/env bash
# Create the Feast virtual environment used by bench.features.vs_feast, idempotently.
#
#   bash bench/features/setup_feast.sh
#   PYTHON=python3.12 bash bench/features/setup_feast.sh
#
# Feast lives in its own venv, bench/.venv-feast (gitignored), never in the project's .venv:
# it pulls Dask, FastAPI, SQLAlchemy, ibis and more. The venv is (re)installed only when the
# requirement list below changed since the last successful install (bench/common/venv.sh).
#
# Extras of feast 0.67: `duckdb` (ibis-framework[duckdb], the DuckDB offline store) and `redis`
# (redis + hiredis, the Redis online store). The file offline store (Dask) and the SQLite online
# store need no extra. psutil (bench.common.memory) comes with Feast itself.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common/venv.sh"

VENV_CHECK="import feast, dask, duckdb, redis, psutil; print('[feast] feast', feast.__version__)" \
    make_venv feast "feast[duckdb,redis]==0.67.0"
