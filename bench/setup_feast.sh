#!/usr/bin/env bash
# Create the Feast virtual environment used by bench/features.py, idempotently.
#
#   bash bench/setup_feast.sh
#   PYTHON=python3.12 bash bench/setup_feast.sh
#
# Feast lives in its own venv, bench/.venv-feast (gitignored), never in the project's .venv:
# it pulls Dask, FastAPI, SQLAlchemy, ibis and more. The venv is (re)installed only when the
# requirement list below changed since the last successful install (a stamp file holds it).
#
# Extras of feast 0.67: `duckdb` (ibis-framework[duckdb], the DuckDB offline store) and `redis`
# (redis + hiredis, the Redis online store). The file offline store (Dask) and the SQLite online
# store need no extra. psutil comes with Feast itself.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3.11}"
VENV="$HERE/.venv-feast"
STAMP="$VENV/.bench-stamp"
REQS=(
    "feast[duckdb,redis]==0.67.0"
)

wanted="$(printf '%s\n' "${REQS[@]}")"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]]; then
    echo "[feast] up to date: $VENV"
    exit 0
fi
start=$SECONDS
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "[feast] creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
echo "[feast] installing: ${REQS[*]}"
"$VENV/bin/python" -m pip install --quiet "${REQS[@]}"
"$VENV/bin/python" -c "import feast, dask, duckdb, redis; print('[feast] feast', feast.__version__)"
printf '%s\n' "${REQS[@]}" >"$STAMP"
echo "[feast] done in $((SECONDS - start)) s, $(du -sh "$VENV" | cut -f1)"
