#!/usr/bin/env bash
# Multi-process training with torchrun: tools/dist_train.sh CONFIG NPROC [train.py args]
# GPUs: one process per GPU (NCCL). No GPU: NPROC CPU processes over gloo.
# NNODES / NODE_RANK / MASTER_ADDR / PORT select a multi-node run.
set -euo pipefail
source "$(dirname "$0")/_torchrun.sh"
torchrun_tool "$2" train.py "$1" "${@:3}"
