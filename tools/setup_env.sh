#!/usr/bin/env bash
# Reproducible, idempotent environment for mmdigit: .venv with torch 2.14.1, mmengine 0.10.7,
# mmcv 2.1.0 (built from source with its C++ ops), mmdet 3.3.0 and the project in editable mode.
#
# Why a script and not `pip install -e .[all]`: mmcv 2.1.0 has no wheel for torch 2.14, its sdist needs
# pkg_resources (setuptools < 82) + `--no-build-isolation`, and torch >= 2.10 headers need C++20 while mmcv's setup.py
# hard-codes -std=c++14/17 (tools/build_mmcv.sh wraps the compilers). We build the wheel once (ninja, all
# cores) into a cache keyed by python/torch/cuda, so the second run takes seconds.
#
# Environment knobs:
#   PYTHON=python3.11          interpreter for the venv
#   VENV=.venv                 where the venv lives
#   MMDIGIT_WHEEL_CACHE=DIR    where the built mmcv wheel is kept (default ~/.cache/mmdigit/wheels)
#   FORCE_CUDA=1               build mmcv's CUDA ops too (GPU machines; needs nvcc matching torch's CUDA)
#   MMDIGIT_REINSTALL=1        ignore the "already installed" stamp
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
CACHE=${MMDIGIT_WHEEL_CACHE:-$HOME/.cache/mmdigit/wheels}
LOG_DIR=${VENV}/install-logs
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
STAMP=${VENV}/.mmdigit-env

step_no=0
step() {  # step NAME CMD...: run CMD with its output in a log; on failure say which step and where the log is
    local name=$1; shift
    step_no=$((step_no + 1))
    local log="$LOG_DIR/$(printf '%02d' $step_no)-$name.log"
    local t0=$SECONDS
    printf '[setup] %-28s ... ' "$name"
    if "$@" >"$log" 2>&1; then
        printf 'ok (%ds)\n' $((SECONDS - t0))
    else
        printf 'FAILED (%ds)\n' $((SECONDS - t0))
        echo "[setup] step '$name' failed; last lines of $ROOT/$log:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
}

# The stamp records what was installed; it is only valid if imports still work.
want_stamp="torch=$TORCH_VERSION mmcv=$MMCV_VERSION cuda=${FORCE_CUDA:-0} $(cat pyproject.toml tools/setup_env.sh tools/build_mmcv.sh tools/constraints.txt | sha1sum | cut -c1-12)"
if [[ -z "${MMDIGIT_REINSTALL:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]] \
        && "$VENV/bin/python" -c "import mmdigit, mmdet, mmcv.ops" >/dev/null 2>&1; then
    echo "[setup] environment up to date ($VENV)"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    command -v "$PYTHON" >/dev/null || { echo "[setup] $PYTHON not found; set PYTHON=..." >&2; exit 1; }
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi
mkdir -p "$LOG_DIR" "$CACHE"
PY="$ROOT/$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
PIN=(-c "$ROOT/tools/constraints.txt")

# setuptools < 82 (pinned in constraints.txt): mmcv's setup.py and mmengine's `mmdet::` lookup need pkg_resources.
step build-tools "${PIP[@]}" install "${PIN[@]}" setuptools wheel ninja
step torch "${PIP[@]}" install "${PIN[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
step mmengine "${PIP[@]}" install "${PIN[@]}" mmengine==0.10.7 'opencv-python<5'

torch_tag=$("$PY" -c "import sys, torch; print(f'py{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__.replace(\"+\", \"_\")}')")
wheel_dir="$CACHE/$torch_tag-cuda${FORCE_CUDA:-0}"
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" >/dev/null 2>&1; then
    if ! ls "$wheel_dir"/mmcv-$MMCV_VERSION-*.whl >/dev/null 2>&1; then
        echo "[setup] building mmcv $MMCV_VERSION from source (first time only: ~8-16 min on 2 cores)"
        step mmcv-build bash "$ROOT/tools/build_mmcv.sh" "$PY" "$wheel_dir" "$MMCV_VERSION"
    fi
    step mmcv-install "${PIP[@]}" install --no-deps "$wheel_dir"/mmcv-$MMCV_VERSION-*.whl
fi
# mmcv's runtime deps (installed --no-deps above so pip never tries to rebuild it).
step deps "${PIP[@]}" install "${PIN[@]}" addict packaging pyyaml yapf 'mmdet==3.3.0' pycocotools faster-coco-eval \
    h5py matplotlib pillow pillow-heif==1.9.0 scipy terminaltables tqdm pytest ruff ensemble-boxes==1.0.9 \
    tensorboard==2.21.0 selenium==4.51.0 onnx==1.23.2 onnxruntime==1.31.1
# Font families for the synthetic generator (PyPI's "Python Fonts" packages: TrueType files, SIL OFL 1.1 or
# Apache 2.0; mmdigit.datasets.synth.fonts finds them in site-packages), and scikit-image for its sample photos
# (CC0 / public domain; mmdigit.datasets.synth.photos crops them as surfaces behind some numbers).
step fonts "${PIP[@]}" install "${PIN[@]}" font-amatic-sc==0.0.4 font-caladea==0.0.2 font-fjallaone==0.1.7 \
    font-fredoka-one==0.0.4 font-hanken-grotesk==0.0.2 font-intuitive==0.0.4 font-lato==0.1.0 font-manrope==0.0.2 \
    font-rhd==0.1.3 font-roboto==0.0.1 font-source-sans-pro==0.0.1 font-source-serif-pro==0.0.1 scikit-image==0.26.0
step mmdigit "${PIP[@]}" install --no-deps --no-build-isolation -e .
step check "$PY" -c "import mmdigit, mmdet, mmcv.ops; print(mmdet.__version__, mmcv.__version__)"
echo "$want_stamp" >"$STAMP"
echo "[setup] done: $("$PY" -c 'import torch, mmcv, mmdet, mmengine; print(f"torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__}, mmdet {mmdet.__version__}")')"
