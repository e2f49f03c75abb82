"""Job sizes from the model registry (e2h.resources): hand-computed cases."""

from __future__ import annotations

import pytest

from e2h.resources import JobSize, gpu_hours, job_registry, job_size

LLAMA_70B_INT8 = {"billion_parameters": 69.0, "precision": "int8", "batch_size": 4}


def test_a_70b_int8_model_on_48_gb_gpus():
    # prompting: 69 GB of weights x 1.2 + 1.5 GB CUDA context = 84.3 GB -> 2 GPUs
    size = job_size(LLAMA_70B_INT8, "prompting", gpu_memory_gb=48)
    assert size.gpus == 2
    # host: 8 GB + half the weights (shards loaded and quantised on the way)
    assert size.mem_mb == int(1024 * (8 + 0.5 * 69))
    assert size.runtime == 10 + 5 + 69  # start-up + one cell (5 min + 1 min per billion)
    assert size.batch_size == 4
    # LoRA: 69 x 2 + 1.5 = 139.5 GB -> 3 GPUs; 3 cells: 10 + 3 x (5 + 4 x 69) minutes
    lora = job_size(LLAMA_70B_INT8, "lora", gpu_memory_gb=48, cells=3)
    assert (lora.gpus, lora.runtime) == (3, 10 + 3 * (5 + 276))
    # the probe reads cached hidden states: no GPU
    assert job_size(LLAMA_70B_INT8, "probe", gpu_memory_gb=48).gpus == 0


def test_auto_precision_counts_bf16_on_gpus_and_fp32_on_cpus():
    entry = {"billion_parameters": 10.0, "precision": "auto", "batch_size": 8}
    assert job_size(entry, "prompting", gpu_memory_gb=16).gpus == 2  # 20 x 1.2 + 1.5 > 16
    cpu = job_size(entry, "prompting", gpu_memory_gb=None)  # 40 GB x 1.2 + 3 GB, no GPU
    assert (cpu.gpus, cpu.mem_mb) == (0, int(1024 * (3 + 48)))


def test_each_retry_halves_the_batch_and_adds_host_memory():
    first, second, third = (job_size(LLAMA_70B_INT8, "prompting", 48, attempt=a) for a in (1, 2, 3))
    assert [s.batch_size for s in (first, second, third)] == [4, 2, 1]
    assert second.mem_mb == int(first.mem_mb * 1.5) and third.mem_mb == first.mem_mb * 2
    assert first.gpus == second.gpus == third.gpus
    assert job_size(LLAMA_70B_INT8, "prompting", 48, attempt=9).batch_size == 1  # never 0


def test_the_entry_overrides_every_derived_size():
    entry = {**LLAMA_70B_INT8, "gpus": 4, "mem_mb": 256000, "runtime": "2-00:00:00"}
    size = job_size(entry, "prompting", gpu_memory_gb=48, cells=5)
    assert size == JobSize(gpus=4, mem_mb=256000, runtime="2-00:00:00", batch_size=4)
    assert job_size({**entry, "runtime": 60}, "lora", 48, cells=3).runtime == 180
    assert gpu_hours(size) == 0  # a time string has no hours to count


def test_without_a_parameter_count_the_fallbacks_apply():
    size = job_size({"precision": "fp32", "batch_size": 2}, "lora", gpu_memory_gb=None)
    assert (size.gpus, size.mem_mb, size.runtime) == (0, 8000, 60)


def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match="unknown kind of model job 'decoding'"):
        job_size(LLAMA_70B_INT8, "decoding", 48)


def test_the_job_registry_takes_this_attempts_batch():
    class Resources:
        batch_size = 2

    registry = {"m": {"precision": "int8", "batch_size": 8}}
    assert job_registry(registry, Resources())["m"]["batch_size"] == 2
    assert job_registry(registry, object()) is registry  # rules without a batch resource
