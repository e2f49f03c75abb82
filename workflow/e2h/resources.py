"""Job sizes of model jobs, derived from the model registry (docs/speed.md#job-sizes).

A cluster needs, for every model job, how many GPUs, how much host memory and how long; the
registry knows the model's size (``billion_parameters``) and precision, so the workflow
derives them instead of asking the user to size 200 SLURM jobs by hand:

- weights: parameters x bytes per parameter of the precision (``auto`` counts as bf16 on a
  GPU and as fp32 on a CPU, where it may fall back to fp32);
- plus what the kind of job needs on top: activations and the KV cache of a scoring batch
  (prompting, hidden states, the zero-shot MDL pass), activations, gradients and the adapter's
  optimiser state (LoRA); a linear probe needs no model at all;
- GPUs: that total over ``execution.gpu_memory_gb`` (no GPUs when it is null: a CPU run);
- runtime: a start-up plus a rough per-cell estimate growing with the parameter count.

Every derived value is overridden by the entry's own ``gpus``, ``mem_mb`` or ``runtime``.
A retried job (Snakemake ``attempt``) gets half the batch of the attempt before and more
host memory: a CUDA out-of-memory error becomes a smaller batch, not a failed run. The batch
changes scores only within floating-point tolerance (tests/test_scoring.py), so it is a
resource, not a param (editing it reruns nothing); each job records the batch it used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Bytes per parameter of each precision (``auto`` depends on the device: see module doc).
BYTES_PER_PARAMETER = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "int8": 1.0, "nf4": 0.5}

#: Memory on top of the weights, as a share of them, by kind of job: a scoring batch's
#: activations and KV cache; LoRA also keeps activations for the backward pass and gradients
#: through the frozen weights.
ACTIVATION_SHARE = {"prompting": 0.2, "lora": 1.0, "probe": 0.0}

#: Fixed memory of a job's process: Python, torch, tokenizer, data (CPU); CUDA context (GPU).
CPU_OVERHEAD_GB = 3.0
GPU_OVERHEAD_GB = 1.5
#: Host memory of a GPU job: the process plus the shards being loaded and quantised.
GPU_HOST_BASE_GB = 8.0
GPU_HOST_WEIGHT_SHARE = 0.5

#: Runtime: a job's start (loading the model, tokenising) plus, per cell, a fixed part and
#: minutes per billion parameters. Rough by design: a limit asked of the scheduler.
RUNTIME_BASE_MIN = 10
RUNTIME_CELL_MIN = {"prompting": 5.0, "lora": 5.0, "probe": 1.0}
RUNTIME_MIN_PER_BILLION = {"prompting": 1.0, "lora": 4.0, "probe": 0.0}

#: Used when an entry gives no ``billion_parameters`` (and no explicit sizes).
FALLBACK = {"mem_mb": 8000, "runtime": 60, "gpus": 0}


@dataclass(frozen=True)
class JobSize:
    """What one model job asks the scheduler for, at one attempt."""

    gpus: int
    mem_mb: int
    runtime: int | str  # minutes, or a SLURM time string given in the registry
    batch_size: int


def job_kind(kind: str) -> str:
    """prompting | lora | probe: the cell kinds as they are, other model jobs by what they
    compute (hidden states and the zero-shot MDL pass score like prompting; the learned MDL
    curve is a probe; the finetuned curve trains LoRA)."""
    aliases = {"hidden_states": "prompting", "learned": "probe", "finetuned": "lora"}
    kind = aliases.get(kind, kind)
    if kind not in ACTIVATION_SHARE:
        raise ValueError(f"unknown kind of model job {kind!r}; known: {sorted(ACTIVATION_SHARE)}")
    return kind


def memory_gb(entry: dict[str, Any], kind: str, on_gpu: bool) -> float | None:
    """Device memory one copy of the job needs (GB), or None without a parameter count."""
    billions = entry.get("billion_parameters")
    if billions is None:
        return None
    precision = entry["precision"]
    if precision == "auto":
        precision = "bf16" if on_gpu else "fp32"
    weights = float(billions) * BYTES_PER_PARAMETER[precision]
    kind = job_kind(kind)
    if kind == "probe":  # reads cached hidden states: no model in memory
        return 0.0
    return weights * (1.0 + ACTIVATION_SHARE[kind])


def job_size(
    entry: dict[str, Any],
    kind: str,
    gpu_memory_gb: float | None,
    cells: int = 1,
    attempt: int = 1,
) -> JobSize:
    """The GPUs, host memory, runtime and batch of a model job of ``cells`` cells.

    ``gpu_memory_gb``: memory of one GPU of the cluster (``execution.gpu_memory_gb``); None
    for a CPU run. ``attempt`` (1, 2, ...): each retry halves the batch and adds host memory.
    """
    kind = job_kind(kind)
    on_gpu = gpu_memory_gb is not None and kind != "probe"
    need = memory_gb(entry, kind, on_gpu)
    billions = entry.get("billion_parameters")

    if entry.get("gpus") is not None:
        gpus = 0 if kind == "probe" else int(entry["gpus"])
    elif need is None or not on_gpu:
        gpus = 0
    else:
        gpus = max(1, math.ceil((need + GPU_OVERHEAD_GB) / float(gpu_memory_gb)))

    if entry.get("mem_mb") is not None:
        base_mb = int(entry["mem_mb"])
    elif need is None:
        base_mb = FALLBACK["mem_mb"]
    elif on_gpu:
        weights = need / (1.0 + ACTIVATION_SHARE[kind])
        base_mb = int(1024 * (GPU_HOST_BASE_GB + GPU_HOST_WEIGHT_SHARE * weights))
    else:
        base_mb = int(1024 * (CPU_OVERHEAD_GB + need))
    mem_mb = int(base_mb * (1 + 0.5 * (attempt - 1)))

    runtime: int | str
    if entry.get("runtime") is not None:
        runtime = entry["runtime"]
        runtime = runtime * cells if isinstance(runtime, int) else runtime
    elif billions is None:
        runtime = FALLBACK["runtime"] * cells
    else:
        per_cell = RUNTIME_CELL_MIN[kind] + RUNTIME_MIN_PER_BILLION[kind] * float(billions)
        runtime = math.ceil(RUNTIME_BASE_MIN + per_cell * cells)

    batch = max(1, int(entry.get("batch_size", 8)) // 2 ** (attempt - 1))
    return JobSize(gpus=gpus, mem_mb=mem_mb, runtime=runtime, batch_size=batch)


def gpu_hours(size: JobSize) -> float:
    """GPU-hours a job asks for (0 for CPU jobs and SLURM time strings)."""
    if not size.gpus or not isinstance(size.runtime, int):
        return 0.0
    return size.gpus * size.runtime / 60.0


def job_registry(registry: dict[str, Any], resources: Any) -> dict[str, Any]:
    """The job's registry with the batch of this attempt (``resources.batch_size``, set by
    the rule from ``job_size``); unchanged where the rule sets no batch."""
    batch = getattr(resources, "batch_size", None) if resources is not None else None
    if not batch:
        return registry
    return {key: {**entry, "batch_size": int(batch)} for key, entry in registry.items()}


def job_sizes(plan: Any, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Every model job of ``plan`` at its first attempt: rule family, model, size (for the
    dry run's GPU-hour estimate; the rules size their jobs with the same ``job_size``)."""
    gpu_gb = config["execution"]["gpu_memory_gb"]
    models = config["models"]
    jobs = []

    def add(rule: str, model: str, kind: str, cells: int = 1) -> None:
        size = job_size(models[model], kind, gpu_gb, cells)
        jobs.append({"rule": rule, "model": model, "size": size})

    for group in plan.groups.values():
        add(f"cells ({group.kind})", group.model, group.kind, len(group.cells))
    for rep in plan.representations.values():
        add("extract_hidden_states", rep.model, "hidden_states")
    for dataset in plan.mdl_datasets():
        for model in plan.mdl_models:
            add("mdl_zero_shot_pass", model, "prompting")
            for variant in plan.mdl_variants(dataset):
                if variant == "decoding":
                    continue
                curve = config["mdl"][variant]
                add(f"mdl_curve ({variant})", model, variant,
                    len(curve["sizes"]) * curve["resamples"])  # fmt: skip
    return jobs


def gpu_hour_table(plan: Any, config: dict[str, Any]) -> str:
    """Jobs, GPUs per job and estimated GPU-hours per rule and model, as printed by a dry
    run that asks for GPUs (``execution.gpu_memory_gb``)."""
    import pandas as pd

    rows = [
        {
            "rule": j["rule"],
            "model": j["model"],
            "gpus": j["size"].gpus,
            "hours": (j["size"].runtime / 60.0) if isinstance(j["size"].runtime, int) else 0.0,
            "gpu_hours": gpu_hours(j["size"]),
        }
        for j in job_sizes(plan, config)
    ]
    frame = pd.DataFrame(rows)
    table = (
        frame.groupby(["rule", "model"], sort=True)
        .agg(
            jobs=("gpus", "size"),
            gpus_per_job=("gpus", "max"),
            hours=("hours", "sum"),
            gpu_hours=("gpu_hours", "sum"),
        )  # fmt: skip
        .reset_index()
    )
    lines = table.to_string(index=False, float_format=lambda x: f"{x:.1f}")
    return (
        f"Estimated GPU time (e2h.resources; {table['gpu_hours'].sum():.0f} GPU-hours in "
        f"{int(table['jobs'].sum())} model jobs, runtime limits as asked of the scheduler):\n"
        f"{lines}"
    )
