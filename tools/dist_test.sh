#!/usr/bin/env bash
# Multi-process testing with torchrun: tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args]
# GPUs: one process per GPU (NCCL). No GPU: NPROC CPU processes over gloo.
# NNODES / NODE_RANK / MASTER_ADDR / PORT select a multi-node run.
set -euo pipefail
source "$(dirname "$0")/_torchrun.sh"
torchrun_tool "$3" test.py "$1" "$2" "${@:4}"
