"""What machine this is, as far as a measurement depends on it: cores, the CPU's model and whether it runs
bfloat16 natively.

Why: on one day (2026-12-06) the same ``make demo`` trained model A 5,553 iterations on an AMD EPYC with AVX-512
BF16 and 3,144 (float32) on an Intel Xeon (Ice Lake) with AVX-512 but no BF16, where until then oneDNN's own bf16
check had said yes and bf16 ran emulated, slower still; a demo summary or benchmark that does not name its CPU cannot
be compared with another.
"""
from __future__ import annotations

import os
import platform
import sys


def _cpuinfo_field(name: str) -> str | None:
    """The first ``name : value`` of Linux's ``/proc/cpuinfo``; None elsewhere."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return None


def cpu_has_native_bf16() -> bool:
    """Whether this CPU runs bfloat16 arithmetic natively: AVX-512 BF16 or AMX.

    Not oneDNN's ``torch.ops.mkldnn._is_mkldnn_bf16_supported()``: it says yes on any AVX-512 CPU, where oneDNN
    emulates bf16. On an Ice Lake Xeon (AVX-512 without BF16, 2 cores, 2026-12-06) that made every bf16 setting
    a slowdown: a training step of the CPU config 0.451 s against 0.380 for the float32 one before any speed-up
    (``bench/train_speed.py``), bf16 alone 0.507 s against 0.380."""
    import torch
    cpu = getattr(torch, 'cpu', None)
    try:
        return bool(cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # a torch without these probes: the flags Linux lists
        flags = (_cpuinfo_field('flags') or '').split()
        return 'avx512_bf16' in flags or 'amx_bf16' in flags


def machine_facts() -> dict:
    """Cores, platform, the CPU's model name and whether it runs bf16 natively (what the demo's summary and the
    benchmarks record)."""
    return dict(cores=os.cpu_count(), platform=sys.platform,
                cpu=_cpuinfo_field('model name') or platform.processor() or platform.machine(),
                native_bf16=cpu_has_native_bf16())
