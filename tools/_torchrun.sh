# Sourced by dist_train.sh / dist_test.sh: run a tools/ script under torchrun with mmdet's environment
# variables (NNODES, NODE_RANK, MASTER_ADDR, PORT, PYTHON). Usage: torchrun_tool NPROC SCRIPT [args...]
torchrun_tool() {
    local nproc=$1 script=$2
    shift 2
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    PYTHONPATH="$here/..:${PYTHONPATH:-}" \
    exec "${PYTHON:-python}" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" --nproc_per_node="$nproc" --master_port="${PORT:-29500}" \
        "$here/$script" "$@" --launcher pytorch
}
