#!/usr/bin/env bash
# Create bench/.venv-mlflow for bench.serving.vs_mlflow, idempotently: MLflow's model server (the
# baseline) serving the same LightGBM package as ATLAS, as an MLflow pyfunc model.
#
#   bash bench/serving/setup_mlflow.sh
#   PYTHON=python3.12 bash bench/serving/setup_mlflow.sh
#
# mlflow-skinny is the MLflow package without the tracking UI's heavy dependencies; it carries
# the whole pyfunc scoring server that `mlflow models serve` runs (FastAPI under uvicorn), so
# the served code path is the same as with the full `mlflow` wheel. uvicorn[standard] brings
# httptools and uvloop, which ATLAS's venv has too, so both servers run the same HTTP stack (a
# plain `pip install mlflow` serves with uvicorn's pure-Python h11 parser). ATLAS itself is not
# installed there: the pyfunc (bench/serving/mlflow_pyfunc.py) reads the ATLAS package's
# model.json and LightGBM text files directly. The venv is reinstalled only when the requirement
# list changes (bench/common/venv.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common/venv.sh"

REQS=(
    "mlflow-skinny>=3.1,<4"
    "lightgbm>=4.3,<5"
    "pandas>=2.2,<3"
    "numpy>=1.26,<3"
    "uvicorn[standard]<1"
)
VENV_CHECK="import mlflow, lightgbm; print('[mlflow] mlflow', mlflow.__version__, 'lightgbm', lightgbm.__version__)" \
    make_venv mlflow "${REQS[@]}"
