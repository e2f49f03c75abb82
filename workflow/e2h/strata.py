"""Stratum sizes before any job starts: a k or n that some level cannot supply is refused
when the workflow is parsed, naming the key, the dataset, the measure, the level and the
count available (docs/sampling.md#checks), instead of failing in a cell job an hour in.

The sizes are those the data and hardness stages will produce: the same item table, the same
keyed probing set and the same levels of the human measures, computed here from the bundled
snapshot. They are cached under the user's cache folder by a hash of everything they depend
on (snapshot checksums, data and measure settings, percentiles, pool size, seed), so only the
first parse of a configuration pays the few seconds. Model-based (MDL) levels exist only after
the MDL stage, but their sizes follow from the config (the percentile rule over the
`mdl.probing_cap` scored items), so a level too small for its test sample is refused here too.
A hub source's strata exist only after downloading: those are checked when the cell's job
draws its items (``e2h.sampling.EmptySplitError``).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from e2h import registry
from e2h.provenance import config_hash


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "e2h" / "strata"


def stratum_sizes(
    dataset: str, data_params: dict[str, Any], config: dict[str, Any], measures: dict[str, Any]
) -> dict[str, dict[str, int]]:
    """Probing-set items per level of each human measure of ``dataset``:
    ``{measure: {level: count}}``, from the bundled snapshot (cached)."""
    from e2h.data.sources import read_manifest

    snapshot = Path(data_params["snapshot_dir"])
    key = {
        "dataset": dataset,
        "data": data_params,
        "files": read_manifest(snapshot)["files"],
        "measures": measures,
        "percentiles": list(config["percentiles"]),
        "pool": config["datasets"][dataset]["hardness_pool"],
        "seed": config["seed"],
    }
    path = cache_dir() / f"{dataset}-{config_hash(key)[:16]}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # not cached yet (or unreadable): compute
        pass
    sizes = _compute(dataset, data_params, config, measures)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sizes, sort_keys=True))
        tmp.replace(path)  # atomic: parallel parses never read half a file
    except OSError:  # a read-only home: no cache, the check still runs
        pass
    return sizes


def _compute(
    dataset: str, data_params: dict[str, Any], config: dict[str, Any], measures: dict[str, Any]
) -> dict[str, dict[str, int]]:
    from e2h.data import prepare_items
    from e2h.hardness import annotate_levels
    from e2h.pool import draw_hardness_pool

    items, _ = prepare_items(dataset, data_params)
    pool = draw_hardness_pool(
        items["id"].tolist(), config["datasets"][dataset]["hardness_pool"], dataset, config["seed"]
    )
    probing = set(items["id"]) - set(pool)
    table, _ = annotate_levels(items, probing, dataset, measures, tuple(config["percentiles"]))
    table = table[table["probing"]]
    return {
        m: {str(k): int(v) for k, v in table[f"{m}_level"].value_counts().items()} for m in measures
    }


def stratum_errors(plan: Any, sizes: dict[str, dict[str, dict[str, int]]]) -> list[str]:
    """One message per (dataset, measure, level, key) whose planned cells ask for more
    training items (ICL's k, a trained method's n, a learning-curve size) than the level
    has. ``sizes``: :func:`stratum_sizes` per dataset (datasets left out are not checked)."""
    worst: dict[tuple[str, str, str, str], int] = {}  # the largest n per key and level
    for spec in plan.cells.values():
        # a supervisor draws from the whole pool; its split says when its part is too small
        if spec.is_transfer or spec.n <= 0 or spec.train in ("all", "unsup", "supervisor"):
            continue
        known = sizes.get(spec.dataset, {}).get(spec.measure)
        if known is None:  # MDL measures: levels come from the MDL stage
            continue
        where = (_key_of(plan, spec), spec.dataset, spec.measure, spec.train)
        worst[where] = max(worst.get(where, 0), spec.n)
    errors = []
    for (key, dataset, measure, level), n in sorted(worst.items()):
        available = sizes[dataset][measure].get(level, 0)
        if n > available:
            errors.append(
                f"{key}: {n} training items of {dataset} {measure} = {level}, but that level "
                f"has {available} probing items (config datasets.{dataset}.measures.{measure} "
                f"and percentiles set the levels)"
            )
    return errors + mdl_level_errors(plan, sizes)


def mdl_level_sizes(n_items: int, percentiles: list[float]) -> dict[str, int]:
    """Items per level when ``n_items`` distinct scores are cut at the percentile rule
    (easy <= q_lo, hard >= q_hi; numpy's linear quantiles)."""
    lo, hi = percentiles
    easy = math.floor(lo * (n_items - 1)) + 1 if n_items else 0
    hard = n_items - math.ceil(hi * (n_items - 1)) if n_items else 0
    return {"easy": easy, "medium": max(0, n_items - easy - hard), "hard": hard}


def mdl_level_errors(plan: Any, sizes: dict[str, dict[str, dict[str, int]]]) -> list[str]:
    """MDL levels exist only on the scored probing items (``mdl.probing_cap``), so their size
    is known from the config: refuse a cell whose tested level would keep no test item
    after the training reserve (every level keeps ``reserve`` items for training draws), or
    whose training level has fewer items than its n."""
    caps = (plan.config.get("mdl") or {}).get("probing_cap") or {}
    percentiles = list(plan.config["percentiles"])
    level_sizes: dict[str, dict[str, int]] = {}  # per dataset: the scored items' levels
    for dataset, human in sizes.items():
        probing = max(sum(levels.values()) for levels in human.values()) if human else None
        counts = [c for c in (caps.get(dataset), probing) if c is not None]
        level_sizes[dataset] = mdl_level_sizes(min(counts) if counts else 0, percentiles)
    problems: dict[tuple[str, str, str], str] = {}
    for spec in plan.cells.values():
        rule = plan.mdl_measures(spec.dataset).get(spec.measure) if spec.dataset in sizes else None
        if not rule or rule.get("rule") != "percentile":  # fixed cutoffs: sizes unknown
            continue
        levels = level_sizes[spec.dataset]
        scored = sum(levels.values())
        tested = [spec.test_level] if spec.test_level else list(levels)
        for level in tested:
            if levels[level] - spec.reserve < 1:
                problems[(spec.dataset, spec.measure, level)] = (
                    f"mdl.probing_cap.{spec.dataset}: {spec.measure} = {level} has about "
                    f"{levels[level]} of the {scored} scored probing items, and every level "
                    f"keeps {spec.reserve} for training draws (the dataset's largest training "
                    f"size), so no test item is left; raise mdl.probing_cap.{spec.dataset} "
                    f"to at least {_cap_needed(spec.reserve + 1, level, percentiles)}"
                )
        if spec.train in levels and spec.n > levels[spec.train]:
            problems[(spec.dataset, spec.measure, spec.train)] = (
                f"mdl.probing_cap.{spec.dataset}: {spec.n} training items of {spec.dataset} "
                f"{spec.measure} = {spec.train}, but that level has about "
                f"{levels[spec.train]} of the {scored} scored probing items"
            )
    return [problems[k] for k in sorted(problems)]


def _cap_needed(items: int, level: str, percentiles: list[float]) -> int:
    """The smallest number of scored items whose ``level`` has ``items`` items."""
    n = items
    while mdl_level_sizes(n, percentiles)[level] < items:
        n += 1
    return n


def _key_of(plan: Any, spec: Any) -> str:
    """The config key that asked for this cell's training size."""
    exp = plan.exp or {}
    curves = exp.get("learning_curves") or {}
    noise = exp.get("noisy_labels") or {}
    if spec.weak or spec.confidence:
        return f"experiments.weak_to_strong.methods.{spec.method}"
    if spec.noise or (noise and spec.n == noise.get("n") and spec.dataset == noise.get("dataset")):
        return "experiments.noisy_labels.n"
    if spec.n in (curves.get("sizes") or []) and spec.method == "probe":
        return "experiments.learning_curves.sizes"
    if registry.method(spec.method).trained:
        return "experiments.trained.n"
    ladder = exp.get("ladder") or {}
    if spec.dataset == "strategyqa" and spec.n == ladder.get("strategyqa_k"):
        return "experiments.ladder.strategyqa_k"
    return f"experiments.k.{spec.dataset}"
