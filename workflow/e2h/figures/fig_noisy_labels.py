"""``fig-noisy-labels``: is easy data the better buy when hard labels are noisier? (RQ3,
docs/methods.md#noisy-labels)

Linear probe on MMLU high-school (Easy) or college (Hard) items, college test items. Easy
training labels are corrupted with probability p, hard ones with ``hard_factor`` · p (paper:
2p), drawn per resample and nested across p (``e2h.label_noise``). x is the easy noise p (hard
points are plotted at their own noise / hard_factor, as in the paper), y the boot-averaged
hard-test accuracy with its grid-bootstrap 95 % band. The realised corruption rates (training
labels that differ from gold, mean over resamples) are recorded per point and printed under
each x tick (E: easy, H: hard). The figure data adds Easy − Hard at every p with its paired
bootstrap interval, and the smallest p from which easy matches or beats hard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from e2h.arms import accuracy_summary, arm_matrix, read_predictions
from e2h.figures.easy_vs_hard import differences, draw_curves, note
from e2h.plotting import chance_line, panel_grid
from e2h.seeds import rng

LABELS = {"easy": "Easy", "hard": "Hard"}
COLOURS = {"easy": "#55a868", "hard": "#c44e52"}
TEST_LEVEL = "hard"
MODE_LABELS = {"any": "any label (paper)", "wrong_only": "wrong labels only"}


@dataclass
class NoisePanel:
    """One (model, noise mode): predictions per training source and easy noise p."""

    dataset: str
    measure: str
    mode: str
    hard_factor: float
    levels: pd.Series
    arms: dict[str, dict[float, pd.DataFrame]]
    model: str = ""
    title: str = ""


def load_panels(specs: list[dict[str, Any]], tables: dict[str, str]) -> list[NoisePanel]:
    """specs: [{model, dataset, measure, mode, hard_factor, title, arms: {source: {p: path}}}]."""
    levels: dict[str, pd.DataFrame] = {}
    read: dict[str, pd.DataFrame] = {}
    panels = []
    for spec in specs:
        dataset = spec["dataset"]
        if dataset not in levels:
            levels[dataset] = pd.read_parquet(tables[dataset]).set_index("id")
        arms: dict[str, dict[float, pd.DataFrame]] = {}
        for source, by_p in spec["arms"].items():
            arms[source] = {}
            for p, path in by_p.items():
                if path not in read:  # the clean cells are shared by every mode
                    read[path] = read_predictions([path])
                arms[source][float(p)] = read[path]
        panels.append(
            NoisePanel(
                dataset, spec["measure"], spec["mode"], float(spec["hard_factor"]),
                levels[dataset][f"{spec['measure']}_level"], arms, spec["model"], spec["title"],
            )
        )  # fmt: skip
    return panels


def realised_rate(pred: pd.DataFrame) -> float:
    """Mean over resamples of the fraction of training labels that differ from gold."""
    if "label_noise_rate" not in pred.columns:
        raise KeyError("predictions have no label_noise_rate column (not a probe cell?)")
    return float(pred.groupby("resample")["label_noise_rate"].first().mean())


def build(panels: list[NoisePanel], draws: int, base_seed: int) -> pd.DataFrame:
    """Rows ``scope`` = point (source, p, noise, realised rate, accuracy, CI), difference
    (Easy − Hard at one p) and crossover (one per panel)."""
    rows = []
    for panel in panels:
        base = {"panel": panel.title, "dataset": panel.dataset, "measure": panel.measure,
                "model": panel.model, "mode": panel.mode}  # fmt: skip
        mats: dict[tuple[str, float], pd.DataFrame] = {}
        for source, by_p in panel.arms.items():
            factor = panel.hard_factor if source == "hard" else 1.0
            for p, pred in sorted(by_p.items()):
                mat = arm_matrix(pred, panel.levels, TEST_LEVEL)
                gen = rng("bootstrap", "fig-noisy-labels", panel.dataset, panel.measure,
                          panel.mode, source, p, base_seed=base_seed)  # fmt: skip
                rows.append(
                    {**base, "scope": "point", "source": source, "label": LABELS[source],
                     "p": p, "noise": p * factor, "realised_rate": realised_rate(pred),
                     **accuracy_summary(mat, draws, gen)}
                )  # fmt: skip
                mats[(source, p)] = mat
        keys = ("fig-noisy-labels", panel.dataset, panel.measure, panel.mode)
        rows += differences(mats, "p", "crossover", keys, draws, base_seed, base)
    return pd.DataFrame(rows)


def _note(row: pd.Series) -> str:
    return note(row, "p", "p = ", "easy below hard at every noise level")


def draw(data: pd.DataFrame, title: str, ncols: int = 2) -> plt.Figure:
    points = data[data["scope"] == "point"]
    notes = data[data["scope"] == "crossover"].set_index("panel")
    panels = list(dict.fromkeys(points["panel"]))
    fig, axes = panel_grid(len(panels), ncols, 5.0, 3.8)
    for ax, panel in zip(axes.flat, panels, strict=False):
        d = points[points["panel"] == panel]
        # at each p the higher point's label goes above it, the lower one's below: no overlap
        top = d.pivot_table(index="p", columns="source", values="accuracy").idxmax(axis=1)
        draw_curves(ax, d, "p", LABELS, COLOURS)
        for source in ("easy", "hard"):
            s = d[d["source"] == source].sort_values("p")
            for _, r in s.iterrows():
                above = top.get(r["p"], source) == source
                ax.annotate(f"{r['accuracy']:.1f}", (r["p"], r["accuracy"]), fontsize=7,
                            textcoords="offset points", xytext=(0, 5 if above else -11),
                            ha="center", color=COLOURS[source])  # fmt: skip
        ps = sorted(d["p"].unique())
        rates = d.pivot_table(index="p", columns="source", values="realised_rate")
        ax.set_xticks(
            ps,
            [f"{p:g}\nE {100 * rates.loc[p, 'easy']:.0f}%\nH {100 * rates.loc[p, 'hard']:.0f}%"
             for p in ps],
            fontsize=7,
        )  # fmt: skip
        chance_line(ax, d["dataset"].iloc[0])
        ax.set_title(panel, fontsize=10, pad=14)
        ax.text(0.5, 1.01, _note(notes.loc[panel]), transform=ax.transAxes, fontsize=7,
                ha="center", va="bottom")  # fmt: skip
        factor = d.loc[d["source"] == "hard", "noise"].max() / max(ps[-1], 1e-12)
        ax.set_xlabel(
            f"Noise probability of easy labels (hard: {factor:g}x); realised corruption E / H"
        )
        ax.set_ylabel("College Test Accuracy (%)")
        ax.legend(title="Training Data", fontsize=7, title_fontsize=7, loc="lower left")
    fig.suptitle(title)
    return fig


def run(smk) -> None:
    from e2h.io import write_csv
    from e2h.plotting import save_figure, set_style

    set_style()
    panels = load_panels(smk.params.panels, smk.params.tables)
    data = build(panels, smk.params.draws, smk.params.seed)
    write_csv(data, smk.output.data)
    save_figure(draw(data, smk.params.title), smk.output.figures, dpi=smk.params.dpi)
