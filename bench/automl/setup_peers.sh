#!/usr/bin/env bash
# Create the peer AutoML virtual environments used by bench.automl.peers, idempotently.
#
#   bash bench/automl/setup_peers.sh               # both peers
#   bash bench/automl/setup_peers.sh flaml         # only one
#   PYTHON=python3.12 bash bench/automl/setup_peers.sh
#
# Each peer lives in its own venv, bench/.venv-<peer> (gitignored), never in the project's .venv,
# made by make_venv (bench/common/venv.sh).
# Each gets what its users install to run it as documented: FLAML searches CatBoost only when it
# can import it (FLAML's `catboost` extra), so its venv has CatBoost, as AutoGluon's has.
# A venv is (re)installed only when its requirement list changed since the last successful
# install; otherwise the script returns at once.
#
# XGBoost: the full `xgboost` wheel pulls the NCCL (CUDA) wheel. AutoGluon >= 1.4 already asks
# for `xgboost-cpu` on Linux; FLAML's `[automl]` extra asks for `xgboost<3`, so FLAML's venv
# gets the extra's packages by hand with `xgboost-cpu<3` in place of `xgboost`.
# ray: AutoGluon fits bagging folds in parallel and runs its dynamic-stacking sub-fit in a
# separate process with ray (as in the AutoML Benchmark, whose AutoGluon install includes it);
# without ray it falls back to sequential folds, and a failed sub-fit at small budgets leaves
# the predictor broken ("AssertionError: Learner is already fit").
# torch: AutoGluon's NN_TORCH model (part of presets="best_quality") needs torch; torch==2.13.0
# is installed first (a CPU wheel that lies on the development machines' disk).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../common/venv.sh"

FLAML_REQS=(
    "flaml>=2.3,<3"
    "lightgbm>=4.3,<5"
    "xgboost-cpu>=2.1,<3"
    "catboost>=1.2,<2"
    "scipy>=1.11"
    "pandas>=2.2,<3"
    "scikit-learn>=1.5,<2"
)
AUTOGLUON_PRE=("torch==2.13.0")
AUTOGLUON_REQS=(
    "autogluon.tabular[lightgbm,catboost,xgboost]>=1.4,<2"
    "autogluon.core[ray]>=1.4,<2"
)

targets=("$@")
if ((${#targets[@]} == 0)); then targets=(flaml autogluon); fi
for target in "${targets[@]}"; do
    case "$target" in
        flaml)
            VENV_CHECK="import flaml, catboost; print('[flaml] flaml', flaml.__version__, 'catboost', catboost.__version__)" \
                make_venv flaml "${FLAML_REQS[@]}"
            ;;
        autogluon)
            pre=()
            for req in "${AUTOGLUON_PRE[@]}"; do pre+=("pre:$req"); done
            make_venv autogluon "${pre[@]}" "${AUTOGLUON_REQS[@]}"
            ;;
        *)
            echo "unknown peer '$target' (expected: flaml, autogluon)" >&2
            exit 2
            ;;
    esac
done
