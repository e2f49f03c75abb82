"""Bit-identical floats on CPU (docs/scoring.md#determinism).

MKL's default GEMM code paths depend on the memory alignment of their inputs, which depends on
the allocator's state and so differs between runs: the same matrix product can differ in the
last bits (seen: 6e-7 on one Linear layer, 1e-5 on a LoRA cell's scores). ``import e2h`` sets
strict conditional numerical reproducibility before torch loads MKL; these tests run in fresh
interpreters so that the setting (or its absence) is what the process starts with.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PROBE = """
import sys
sys.path.insert(0, {package!r})
{first}
import torch
torch.manual_seed(0)
torch.set_num_threads(2)
dtype = getattr(torch, {dtype!r})
lin = torch.nn.Linear(576, 1536, bias=False).to(dtype)
worst = 0.0
with torch.inference_mode():
    for rows in range(1, 40):
        a = torch.randn(rows, 576).to(dtype)
        ref = lin(a)
        for offset in range(1, 16):  # the same values at another alignment
            x = torch.empty(rows * 576 + offset, dtype=dtype)[offset:].view(rows, 576)
            x.copy_(a)
            worst = max(worst, (lin(x) - ref).abs().max().item())
print(worst)
"""


def _worst_difference(first_import: str, dtype: str = "float32") -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("MKL_CBWR", "MKL_DYNAMIC")}
    code = PROBE.format(package=str(ROOT / "workflow"), first=first_import, dtype=dtype)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])  # bf16: precision auto on CPUs
def test_matrix_products_do_not_depend_on_memory_alignment(dtype):
    assert _worst_difference("import e2h", dtype) == 0.0
