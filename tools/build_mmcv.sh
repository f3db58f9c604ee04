#!/usr/bin/env bash
# Build an mmcv wheel with its compiled ops for the torch of interpreter PY, into WHEEL_DIR.
#
#   tools/build_mmcv.sh PY WHEEL_DIR [MMCV_VERSION]      (FORCE_CUDA=1: the CUDA ops too)
#
# Why a script of its own: mmcv 2.1.0 has no wheel for current torch, and its setup.py hard-codes
# -std=c++14/17 for both g++ and nvcc while torch >= 2.10 headers need C++20. Two compiler wrappers
# rewrite that flag. tools/setup_env.sh calls this once and caches the wheel; a GPU machine without
# the package index can run it with PIP_NO_INDEX=1 PIP_FIND_LINKS=<folder holding mmcv-X.tar.gz>.
set -euo pipefail
PY=${1:?usage: build_mmcv.sh PY WHEEL_DIR [MMCV_VERSION]}
WHEEL_DIR=${2:?usage: build_mmcv.sh PY WHEEL_DIR [MMCV_VERSION]}
MMCV_VERSION=${3:-2.1.0}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$WHEEL_DIR"
WRAP_DIR=$(mktemp -d)
trap 'rm -rf "$WRAP_DIR"' EXIT

# write_wrapper NAME REAL: NAME runs REAL with -std=c++14/17 replaced by -std=c++20.
write_wrapper() {
    printf '#!/bin/sh\nfor a in "$@"; do case "$a" in -std=c++14|-std=c++17) a=-std=c++20;; esac; set -- "$@" "$a"; shift; done\nexec %s "$@"\n' \
        "$2" >"$WRAP_DIR/$1"
    chmod +x "$WRAP_DIR/$1"
}
write_wrapper cxx20 "${CXX:-g++}"
extra_env=()
if [[ "${FORCE_CUDA:-0}" == 1 ]]; then
    nvcc=$("$PY" -c "from torch.utils.cpp_extension import CUDA_HOME; print(CUDA_HOME or '')" 2>/dev/null)/bin/nvcc
    [[ -x "$nvcc" ]] || { echo "[build_mmcv] FORCE_CUDA=1 but no nvcc at '$nvcc' (set CUDA_HOME)" >&2; exit 1; }
    write_wrapper nvcc20 "$nvcc"
    # torch's CUDA headers include cusparse.h / cublas_v2.h; a toolkit with nvcc alone lacks them, while a pip
    # torch carries them in site-packages/nvidia/*/include: put those on the compilers' search path.
    if [[ ! -f "$(dirname "$(dirname "$nvcc")")/include/cusparse.h" ]]; then
        nv_inc=$("$PY" -c "import glob, importlib.util, os; s = importlib.util.find_spec('nvidia'); print(':'.join(d for b in (s.submodule_search_locations if s else []) for d in sorted(glob.glob(os.path.join(b, '*', 'include')))))" 2>/dev/null || true)
        if [[ -n "$nv_inc" ]]; then export CPATH="$nv_inc${CPATH:+:$CPATH}"; fi
    fi
    # torch's ninja build honours PYTORCH_NVCC; TORCH_CUDA_ARCH_LIST defaults to the visible GPU's arch.
    extra_env=(PYTORCH_NVCC="$WRAP_DIR/nvcc20")
fi
PIP_PIN=()
[[ -f "$ROOT/tools/constraints.txt" && -z "${MMDIGIT_NO_PINS:-}" ]] && PIP_PIN=(-c "$ROOT/tools/constraints.txt")
env CXX="$WRAP_DIR/cxx20" MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${extra_env[@]}" \
    PATH="$(dirname "$PY"):$PATH" \
    "$PY" -m pip --disable-pip-version-check wheel "${PIP_PIN[@]}" --no-deps --no-build-isolation \
    --no-binary mmcv "mmcv==$MMCV_VERSION" -w "$WHEEL_DIR"
