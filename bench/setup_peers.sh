#!/usr/bin/env bash
# Create the peer AutoML virtual environments used by bench/automl_peers.py, idempotently.
#
#   bash bench/setup_peers.sh               # both peers
#   bash bench/setup_peers.sh flaml         # only one
#   PYTHON=python3.12 bash bench/setup_peers.sh
#
# Each peer lives in its own venv under bench/ (gitignored), never in the project's .venv.
# A venv is (re)installed only when its requirement list changed since the last successful
# install (a stamp file holds the list); otherwise the script returns at once.
#
# XGBoost: the full `xgboost` wheel pulls a ~700 MB NCCL wheel. AutoGluon >= 1.4 already asks
# for `xgboost-cpu` on Linux; FLAML's `[automl]` extra asks for `xgboost<3`, so FLAML's venv
# gets the extra's packages by hand with `xgboost-cpu<3` in place of `xgboost`.
# ray: AutoGluon fits bagging folds in parallel and runs its dynamic-stacking sub-fit in a
# separate process with ray (as in the AutoML Benchmark, whose AutoGluon install includes it);
# without ray it falls back to sequential folds, and a failed sub-fit at small budgets leaves
# the predictor broken ("AssertionError: Learner is already fit").
# torch: AutoGluon's NN_TORCH model (part of presets="best_quality") needs torch; torch==2.13.0
# is installed first (a CPU wheel that lies on the development machines' disk).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3.11}"

FLAML_REQS=(
    "flaml>=2.3,<3"
    "lightgbm>=4.3,<5"
    "xgboost-cpu>=2.1,<3"
    "scipy>=1.11"
    "pandas>=2.2,<3"
    "scikit-learn>=1.5,<2"
)
AUTOGLUON_PRE=("torch==2.13.0")
AUTOGLUON_REQS=(
    "autogluon.tabular[lightgbm,catboost,xgboost]>=1.4,<2"
    "autogluon.core[ray]>=1.4,<2"
)

make_venv() {
    local name="$1"
    shift
    local venv="$HERE/.venv-$name"
    local stamp="$venv/.bench-stamp"
    local wanted
    wanted="$(printf '%s\n' "$@")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        echo "[$name] up to date: $venv"
        return 0
    fi
    local start=$SECONDS
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "[$name] creating $venv with $PYTHON"
        "$PYTHON" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    echo "[$name] installing: $*"
    # "pre:" entries are installed in a first, separate step (torch before AutoGluon).
    local pre=() main=() req
    for req in "$@"; do
        if [[ "$req" == pre:* ]]; then pre+=("${req#pre:}"); else main+=("$req"); fi
    done
    if ((${#pre[@]})); then
        "$venv/bin/python" -m pip install --quiet "${pre[@]}"
    fi
    "$venv/bin/python" -m pip install --quiet "${main[@]}"
    printf '%s\n' "$@" >"$stamp"
    echo "[$name] done in $((SECONDS - start)) s, $(du -sh "$venv" | cut -f1)"
}

targets=("$@")
if ((${#targets[@]} == 0)); then targets=(flaml autogluon); fi
for target in "${targets[@]}"; do
    case "$target" in
        flaml) make_venv flaml "${FLAML_REQS[@]}" ;;
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
