#!/usr/bin/env bash
# Create bench/.venv-mlserver for bench.serving.vs_mlflow, idempotently: Seldon's MLServer (the
# Python inference server KServe runs for its sklearn/xgboost/lightgbm runtimes) with its
# LightGBM runtime, serving the very booster text file inside the ATLAS package.
#
#   bash bench/serving/setup_mlserver.sh
#   PYTHON=python3.12 bash bench/serving/setup_mlserver.sh
#
# Installed as MLServer's docs tell its users to (`pip install mlserver mlserver-lightgbm`):
# MLServer's own requirements bring FastAPI, uvicorn and uvloop. MLServer builds its
# uvicorn.Config with uvicorn's defaults (http="auto", loop="auto": httptools and uvloop when
# they are importable), but its requirements do not list httptools, so a plain install parses
# HTTP with uvicorn's pure-Python h11. httptools is added here, as uvicorn[standard] is in the
# MLflow venv, so that the three servers run the same HTTP stack (the stricter comparison for
# ATLAS). Neither ATLAS nor anything of bench/ is needed inside: MLServer reads
# model-settings.json and the booster text file (bench/serving/mlserver_peer.py writes the
# folder). uvloop is held below 0.22: from 0.22 its get_event_loop() raises where no loop is
# set, and MLServer 1.7.1's inference workers (parallel_workers >= 1, the default) die at start
# (SeldonIO/MLServer#2286, unfixed in 1.7.1; MLflow pins uvloop<0.22 for the same reason,
# mlflow/mlflow#18370). The venv is reinstalled only when the requirement list changes
# (bench/common/venv.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common/venv.sh"

REQS=(
    "mlserver>=1.7,<1.8"
    "mlserver-lightgbm>=1.7,<1.8"
    "lightgbm>=4.3,<5"
    "httptools"
    "uvloop<0.22"
)
VENV_CHECK="import mlserver, mlserver_lightgbm, lightgbm, uvicorn, uvloop, httptools; print('[mlserver] mlserver', mlserver.__version__, 'lightgbm', lightgbm.__version__, 'uvicorn', uvicorn.__version__)" \
    make_venv mlserver "${REQS[@]}"
"$BENCH_DIR/.venv-mlserver/bin/mlserver" --version
