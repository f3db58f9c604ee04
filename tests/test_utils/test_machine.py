"""machine_facts: what a demo summary and a benchmark say of the machine, the CPU's model and bf16 included."""
from pathlib import Path

import pytest

from mmdigit.utils import machine
from mmdigit.utils.machine import cpu_has_native_bf16, machine_facts


def test_machine_facts_name_the_cpu_and_its_bf16():
    facts = machine_facts()
    assert facts['cores'] >= 1 and isinstance(facts['cpu'], str) and facts['cpu']
    assert facts['native_bf16'] is cpu_has_native_bf16()
    cpuinfo = Path('/proc/cpuinfo')
    if cpuinfo.is_file() and 'model name' in cpuinfo.read_text():
        assert facts['cpu'] in cpuinfo.read_text()  # Linux: the model name it lists, not the architecture


def test_without_torchs_probes_bf16_is_read_from_the_cpu_flags(monkeypatch):
    """An older torch without ``torch.cpu._is_avx512_bf16_supported``: the flags decide, and no flags, no bf16."""
    import torch
    monkeypatch.delattr(torch.cpu, '_is_avx512_bf16_supported')
    monkeypatch.setattr(machine, '_cpuinfo_field', lambda name: 'fpu avx512f avx512bw avx512_vnni')  # Ice Lake
    assert cpu_has_native_bf16() is False
    monkeypatch.setattr(machine, '_cpuinfo_field', lambda name: 'fpu avx512f avx512_bf16')
    assert cpu_has_native_bf16() is True
    monkeypatch.setattr(machine, '_cpuinfo_field', lambda name: None)  # not Linux
    assert cpu_has_native_bf16() is False


@pytest.mark.skipif(not Path('/proc/cpuinfo').is_file(), reason='no /proc/cpuinfo')
def test_cpuinfo_field_reads_the_first_value():
    assert machine._cpuinfo_field('processor') == '0'
    assert machine._cpuinfo_field('no such field') is None


def test_native_bf16_means_the_cpu_flags_for_it_not_onednn_emulation():
    """bf16 counts as native only where the CPU has AVX-512 BF16 or AMX (Linux lists them in /proc/cpuinfo):
    oneDNN also 'supports' bf16 on plain AVX-512 by emulation, slower than float32 (an Ice Lake Xeon)."""
    cpuinfo = Path('/proc/cpuinfo')
    if not cpuinfo.is_file():
        pytest.skip('no /proc/cpuinfo to check against')
    flags = next((line.split(':', 1)[1].split() for line in cpuinfo.read_text().splitlines()
                  if line.startswith('flags')), None)
    if flags is None:
        pytest.skip('/proc/cpuinfo lists no flags here')
    assert cpu_has_native_bf16() == ('avx512_bf16' in flags or 'amx_bf16' in flags)
