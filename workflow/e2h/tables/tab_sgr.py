"""``tab-sgr``, ``tab-sgr-pairwise`` and ``tab-sgr-vs-paper``: SGR with the two-way bootstrap.

SGR = (Easy − Unsup) / (Hard − Unsup) on one test level, arms aligned by item id, one row resample
shared by all arms and an independent column resample per arm
(docs/statistics.md#sgr, #grid-bootstrap).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from e2h import registry, stats
from e2h.panels import Panel
from e2h.seeds import rng


def build(panels: list[Panel], draws: int, base_seed: int) -> pd.DataFrame:
    rows = []
    for level in ["hard", "all"]:
        for panel in panels:
            mats = panel.matrices(level)
            gen = rng(
                "bootstrap", "tab-sgr", panel.dataset, panel.measure, level, base_seed=base_seed
            )
            res = stats.sgr_bootstrap(mats["unsup"], mats["easy"], mats["hard"], draws, gen)
            acc = {arm: stats.boot_averaged_accuracy(mats[arm]) for arm in mats}
            gap = acc["hard"] - acc["unsup"]
            positive = bool(np.isfinite(gap) and gap >= stats.ZERO_GAP)
            estimate = stats.format_estimate(res.mean, res.half_width, res.p_value)
            rows.append(
                {
                    "Dataname": registry.dataset(panel.dataset).short_name,
                    "Hardness Measure": registry.measure_label(panel.measure),
                    "SGR Estimate": estimate + ("" if positive else " [no gap: Hard ≤ Unsup]"),
                    "Test Hardness": level.capitalize(),
                    "n": res.n_items,
                    "model": panel.model,
                    "prompt": _prompt(panel),
                    "dataset": panel.dataset,
                    "measure": panel.measure,
                    "test_level": level,
                    "sgr_bootstrap_mean": res.mean,
                    "sgr_plugin": res.estimate if positive else np.nan,
                    "unsup": acc["unsup"],
                    "easy": acc["easy"],
                    "hard": acc["hard"],
                    "supervision_gap": gap,
                    "gap_positive": positive,
                    "gap_ci_low": res.gap_ci_low,
                    "gap_ci_high": res.gap_ci_high,
                    **{
                        f"{arm}_{bound}": value
                        for arm, ci in (res.arm_ci or {}).items()
                        for bound, value in zip(("ci_low", "ci_high"), ci, strict=True)
                    },
                    "ci_low": res.ci_low,
                    "ci_high": res.ci_high,
                    "half_width": res.half_width,
                    "p_value": res.p_value,
                    "draws": res.draws,
                    "draws_nonfinite": res.n_nonfinite,
                }
            )
    return pd.DataFrame(rows)


def _prompt(panel: Panel) -> str:
    """The supervised arms' prompt id (the cells record it in every row)."""
    pred = panel.arms["easy"]
    return "+".join(sorted(map(str, pred["prompt"].unique()))) if "prompt" in pred else ""


def pairwise(panels: list[Panel], draws: int, base_seed: int) -> pd.DataFrame:
    """Arm accuracies (grid bootstrap) and paired differences on the hard test level."""
    rows = []
    for panel in panels:
        mats = panel.matrices("hard")
        row = {
            "Dataname": registry.dataset(panel.dataset).short_name,
            "Hardness Measure": registry.measure_label(panel.measure),
        }
        for arm in ["unsup", "easy", "hard"]:
            gen = rng(
                "bootstrap",
                "tab-sgr-pairwise",
                panel.dataset,
                panel.measure,
                arm,
                base_seed=base_seed,
            )
            res = stats.grid_bootstrap(mats[arm].to_numpy(), draws, gen)
            row[f"{arm} accuracy"] = stats.format_estimate(
                100 * res.mean, 100 * res.half_width, digits=1
            )
        for a, b in [("easy", "hard"), ("easy", "unsup")]:
            gen = rng(
                "bootstrap",
                "tab-sgr-pairwise",
                panel.dataset,
                panel.measure,
                a,
                b,
                base_seed=base_seed,
            )
            res = stats.diff_bootstrap(mats[a], mats[b], draws, gen)
            row[f"{a} - {b}"] = stats.format_estimate(
                100 * res.mean, 100 * res.half_width, res.p_value, digits=1
            )
            row[f"{a} - {b} n"] = res.n_items
        row["model"] = panel.model
        rows.append(row)
    return pd.DataFrame(rows)


def _paper_prompt(dataset: str) -> str:
    """The paper's prompt id of the supervised method (the registry's default)."""
    info = registry.dataset(dataset)
    return info.prompt(info.supervised)


def versus_paper(ours: pd.DataFrame, paper: list[dict]) -> pd.DataFrame:
    """Paper's SGR (Llama-2-70b ICL) next to ours for the same dataset, measure, test level."""
    ref = pd.DataFrame(paper)
    merged = ref.merge(ours, how="left", on=["dataset", "measure", "test_level"])
    return pd.DataFrame(
        {
            "Dataset": merged["dataset"].map(lambda d: registry.dataset(d).short_name),
            "Measure": merged["measure"].map(registry.measure_label),
            "Test": merged["test_level"].str.capitalize(),
            "Paper model": merged["paper_model"],
            "Paper SGR": merged["paper_sgr"],
            "Paper ± half-width": merged["paper_half_width"],
            "Paper n": merged["paper_n"],
            "Paper prompt": merged["dataset"].map(_paper_prompt),
            "Our model": merged["model"],
            "Our prompt": merged["prompt"],
            "Our SGR": merged["sgr_bootstrap_mean"],
            "Our ± half-width": merged["half_width"],
            "Our p": merged["p_value"],
            "Our n": merged["n"],
            "Paper SGR inside our CI": (merged["ci_low"] <= merged["paper_sgr"])
            & (merged["paper_sgr"] <= merged["ci_high"]),
        }
    )
