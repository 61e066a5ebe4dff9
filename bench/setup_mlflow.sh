#!/usr/bin/env bash
# Create bench/.venv-mlflow for bench/serving.py, idempotently: MLflow's model server (the
# baseline) serving the same LightGBM package as ATLAS, as an MLflow pyfunc model.
#
#   bash bench/setup_mlflow.sh
#   PYTHON=python3.12 bash bench/setup_mlflow.sh
#
# mlflow-skinny is the MLflow package without the tracking UI's heavy dependencies; it carries
# the whole pyfunc scoring server that `mlflow models serve` runs (FastAPI under uvicorn), so
# the served code path is the same as with the full `mlflow` wheel. uvicorn[standard] brings
# httptools and uvloop, which ATLAS's venv has too, so both servers run the same HTTP stack (a
# plain `pip install mlflow` serves with uvicorn's pure-Python h11 parser). ATLAS itself is not
# installed there: the pyfunc (bench/serving_mlflow.py) reads the ATLAS package's model.json and
# LightGBM text files directly. The venv is reinstalled only when the requirement list changes.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3.11}"
VENV="$HERE/.venv-mlflow"
STAMP="$VENV/.bench-stamp"
REQS=(
    "mlflow-skinny>=3.1,<4"
    "lightgbm>=4.3,<5"
    "pandas>=2.2,<3"
    "numpy>=1.26,<3"
    "uvicorn[standard]<1"
)
wanted="$(printf '%s\n' "${REQS[@]}")"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]]; then
    echo "[mlflow] up to date: $VENV"
    exit 0
fi
start=$SECONDS
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "[mlflow] creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
echo "[mlflow] installing: ${REQS[*]}"
"$VENV/bin/python" -m pip install --quiet "${REQS[@]}"
printf '%s\n' "${REQS[@]}" >"$STAMP"
"$VENV/bin/python" -c "import mlflow, lightgbm; print('[mlflow] mlflow', mlflow.__version__, 'lightgbm', lightgbm.__version__)"
echo "[mlflow] done in $((SECONDS - start)) s, $(du -sh "$VENV" | cut -f1)"
