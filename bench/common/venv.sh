# The benchmarks' other-system virtual environments, sourced by bench/*/setup_*.sh:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../common/venv.sh"
#   VENV_CHECK='import feast; print(feast.__version__)' make_venv feast "feast==0.67.0"
#
# make_venv NAME REQ... makes bench/.venv-NAME (gitignored) with PYTHON (default python3.11)
# and installs REQ... into it; entries written "pre:REQ" are installed first, in a step of their
# own. VENV_CHECK, when set, is Python code run in the venv after the install. A stamp file
# holds the requirement list of the last successful install: with the same list the venv is
# left alone and the function returns at once.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3.11}"

make_venv() {
    local name="$1"
    shift
    local venv="$BENCH_DIR/.venv-$name"
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
    local pre=() main=() req
    for req in "$@"; do
        if [[ "$req" == pre:* ]]; then pre+=("${req#pre:}"); else main+=("$req"); fi
    done
    if ((${#pre[@]})); then
        "$venv/bin/python" -m pip install --quiet "${pre[@]}"
    fi
    "$venv/bin/python" -m pip install --quiet "${main[@]}"
    if [[ -n "${VENV_CHECK:-}" ]]; then
        "$venv/bin/python" -c "$VENV_CHECK"
    fi
    printf '%s\n' "$@" >"$stamp"
    echo "[$name] done in $((SECONDS - start)) s, $(du -sh "$venv" | cut -f1)"
}
