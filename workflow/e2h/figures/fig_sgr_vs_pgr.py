"""``fig-sgr-vs-pgr`` and ``tab-sgr-vs-pgr``: easy-to-hard beside weak-to-strong
(docs/methods.md#weak-to-strong).

Per (dataset, measure, student method) and on the same hard test items of every resample:

- SGR = (Easy − Unsup) / (Hard − Unsup): the student on easy gold labels;
- PGR = (W2S − Weak) / (Hard − Weak): the student on the weak supervisor's labels of the hard
  items, against the supervisor's own accuracy (Weak) and the student on their gold labels
  (Hard, the ceiling);
- Easy × weak: the student on weak labels of the easy items, as SGR and as PGR.

Every ratio is the two-way bootstrap of ``e2h.stats`` with arms aligned by item id (PGR is the
SGR bootstrap with Weak in place of Unsup), with its 95 % interval and p. A ratio whose gap
(its denominator) is not positive recovers nothing and is reported as such, not drawn.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from e2h import registry, stats
from e2h.arms import arm_matrix, read_predictions
from e2h.plotting import ratio_note
from e2h.seeds import rng

LEVEL = "hard"
ARMS = ("unsup", "easy", "hard", "weak", "w2s", "easy_weak")
#: (name, baseline arm, student arm): every ratio of a row; the ceiling is always Hard.
RATIOS = (
    ("sgr", "unsup", "easy"),
    ("pgr", "weak", "w2s"),
    ("sgr_easy_weak", "unsup", "easy_weak"),
    ("pgr_easy_weak", "weak", "easy_weak"),
)
COLOURS = {"sgr": "#1f77b4", "pgr": "#d62728"}
TITLE = "Easy-to-Hard (SGR) Beside Weak-to-Strong (PGR), Hard Test Items"


def load(specs: list[dict[str, Any]], tables: dict[str, str]) -> list[dict[str, Any]]:
    """Each spec with its arms' predictions (``preds``) and the item levels (``levels``)."""
    cache: dict[str, pd.DataFrame] = {}
    levels: dict[str, pd.DataFrame] = {}
    out = []
    for spec in specs:
        dataset = spec["dataset"]
        if dataset not in levels:
            table = pd.read_parquet(tables[dataset])
            levels[dataset] = table.set_index(table["id"].astype(str))
        missing = [a for a in ARMS if a not in spec["arms"]]
        if missing:
            raise KeyError(f"{dataset}/{spec['measure']}/{spec['method']}: no arm(s) {missing}")
        preds = {}
        for arm in ARMS:
            path = str(spec["arms"][arm])
            if path not in cache:
                cache[path] = read_predictions([path])
            preds[arm] = cache[path]
        out.append({**spec, "preds": preds, "levels": levels[dataset][f"{spec['measure']}_level"]})
    return out


def supervisor_on_tests(weak: pd.DataFrame, tested: pd.DataFrame) -> pd.DataFrame:
    """The supervisor's rows on the students' test items of each resample (it also predicts
    the students' training items, which are its labels, not its test)."""
    keys = tested[["id", "resample"]].drop_duplicates()
    return weak.merge(keys, on=["id", "resample"], how="inner")


def _field(pred: pd.DataFrame, column: str) -> float:
    return float(pred[column].mean()) if column in pred.columns and len(pred) else math.nan


def build(loaded: list[dict[str, Any]], draws: int, base_seed: int, purpose: str) -> pd.DataFrame:
    """One row per (dataset, measure, student method): arm accuracies with 95 % intervals,
    SGR and PGR (and both for easy × weak) with their gaps, intervals and p."""
    rows = []
    for spec in loaded:
        preds = dict(spec["preds"])
        sup = preds["weak"]
        preds["weak"] = supervisor_on_tests(sup, preds["hard"])
        labelled = sup.merge(preds["hard"][["id", "resample"]], on=["id", "resample"], how="left",
                             indicator=True)  # fmt: skip
        labelled = labelled[labelled["_merge"] == "left_only"]
        # every arm on the (item, resample) pairs all of them test: with uncapped tests an
        # item one arm trains on is tested by the others (docs/methods.md#weak-to-strong)
        common = preds["weak"][["id", "resample"]]
        for arm in ("easy", "hard", "w2s", "easy_weak"):
            common = common.merge(preds[arm][["id", "resample"]], on=["id", "resample"])
        for arm in ("easy", "hard", "w2s", "easy_weak", "weak"):
            preds[arm] = preds[arm].merge(common, on=["id", "resample"])
        mats = {a: arm_matrix(p, spec["levels"], LEVEL) for a, p in preds.items() if a != "unsup"}
        tested = set().union(*(set(mats[a].index) for a in ("easy", "hard")))
        mats["unsup"] = arm_matrix(preds["unsup"], spec["levels"], LEVEL, ids=tested)
        key = (spec["dataset"], spec["measure"], LEVEL, spec["method_label"])
        row: dict[str, Any] = {
            "dataset": spec["dataset"],
            "measure": spec["measure"],
            "method": spec["method"],
            "method_label": spec["method_label"],
            "confidence_loss": bool(spec["confidence"]),
            "student": spec["student"],
            "supervisor": spec["supervisor"],
            "test_level": LEVEL,
            "n_items": int(mats["hard"].shape[0]),
            # the labels the students trained on: the supervisor's accuracy on them
            "weak_label_accuracy_hard": _field(preds["w2s"], "weak_label_accuracy"),
            "weak_label_accuracy_easy": _field(preds["easy_weak"], "weak_label_accuracy"),
            "supervisor_accuracy_labelled": _field(labelled, "correct"),
        }
        for arm in ARMS:
            gen = rng("bootstrap", purpose, *key, arm, base_seed=base_seed)
            acc = stats.grid_bootstrap(mats[arm], draws, gen)
            row[arm] = stats.boot_averaged_accuracy(mats[arm])
            row[f"{arm}_ci_low"], row[f"{arm}_ci_high"] = acc.ci_low, acc.ci_high
        for name, base, student in RATIOS:
            gen = rng("bootstrap", purpose, *key, name, base_seed=base_seed)
            res = stats.sgr_bootstrap(mats[base], mats[student], mats["hard"], draws, gen)
            gap = row["hard"] - row[base]
            positive = bool(np.isfinite(gap) and gap >= stats.ZERO_GAP)
            row.update(
                {
                    name: res.estimate if positive else np.nan,
                    f"{name}_gap": gap,
                    f"{name}_gap_positive": positive,
                    f"{name}_gap_ci_low": res.gap_ci_low,
                    f"{name}_gap_ci_high": res.gap_ci_high,
                    f"{name}_bootstrap_mean": res.mean,
                    f"{name}_ci_low": res.ci_low,
                    f"{name}_ci_high": res.ci_high,
                    f"{name}_half_width": res.half_width,
                    f"{name}_p_value": res.p_value,
                    f"{name}_draws_nonfinite": res.n_nonfinite,
                }
            )
        row["draws"] = draws
        rows.append(row)
    return pd.DataFrame(rows)


def _estimate(data: pd.DataFrame, name: str) -> list[str]:
    out = []
    for _, r in data.iterrows():
        if not r[f"{name}_gap_positive"]:
            out.append("no gap: Hard ≤ " + ("Unsup" if name.startswith("sgr") else "Weak"))
            continue
        text = stats.format_estimate(
            r[name], (r[f"{name}_ci_high"] - r[f"{name}_ci_low"]) / 2, r[f"{name}_p_value"]
        )
        if not r[f"{name}_gap_ci_low"] > 0:
            text += " [gap n.s.]"
        out.append(text)
    return out


def table(data: pd.DataFrame) -> pd.DataFrame:
    """``tab-sgr-vs-pgr``: display columns first, then every number behind them."""
    display = pd.DataFrame(
        {
            "Dataname": data["dataset"].map(lambda d: registry.dataset(d).short_name),
            "Hardness Measure": data["measure"].map(registry.measure_label),
            "Method": data["method_label"],
            "Unsup": data["unsup"],
            "Weak": data["weak"],
            "Easy": data["easy"],
            "W2S": data["w2s"],
            "Easy x Weak": data["easy_weak"],
            "Hard (ceiling)": data["hard"],
            "SGR": _estimate(data, "sgr"),
            "PGR": _estimate(data, "pgr"),
            "n": data["n_items"],
        }
    )
    return pd.concat([display, data], axis=1)


#: The LaTeX table's columns (the CSV has every number behind them).
DISPLAY = ["Dataname", "Hardness Measure", "Method", "Unsup", "Weak", "Easy", "W2S",
           "Easy x Weak", "Hard (ceiling)", "SGR", "PGR", "n"]  # fmt: skip


def y_limits(data: pd.DataFrame) -> tuple[float, float]:
    values = []
    for name in ("sgr", "pgr"):
        drawn = data[np.isfinite(data[name].to_numpy(dtype=float))]
        values += list(drawn[[name, f"{name}_ci_low", f"{name}_ci_high"]].to_numpy(float).ravel())
    values = [v for v in values if math.isfinite(v)]
    low, high = min([0.0, *values]), max([1.0, *values])
    pad = 0.2 * (high - low)
    return (low - pad if low < 0 else 0.0), high + pad


#: The accuracy row's arms, colours and labels (the ratio row's inputs).
ARM_STYLE = {
    "unsup": ("#8c8c8c", "Unsup"),
    "weak": ("#d62728", "Weak (supervisor)"),
    "easy": ("#1f77b4", "Easy"),
    "w2s": ("#ff7f0e", "W2S"),
    "easy_weak": ("#9467bd", "Easy x weak"),
    "hard": ("#2ca02c", "Hard (ceiling)"),
}


def accuracy_bars(ax, d: pd.DataFrame) -> None:
    """Hard-test accuracy of every arm per student method, with 95 % whiskers: what the
    ratios below are made of (and why one has no gap)."""
    x = np.arange(len(d))
    width = 0.8 / len(ARM_STYLE)
    for k, (arm, (colour, label)) in enumerate(ARM_STYLE.items()):
        xs = x - 0.4 + width * (k + 0.5)
        values = d[arm].to_numpy(dtype=float)
        low, high = d[f"{arm}_ci_low"].to_numpy(float), d[f"{arm}_ci_high"].to_numpy(float)
        ax.bar(xs, values, width=width * 0.9, color=colour, label=label)
        ax.errorbar(xs, (low + high) / 2, yerr=(high - low) / 2, fmt="none", ecolor="black",
                    capsize=1.5, lw=0.8)  # fmt: skip
    ax.set_xticks(x, d["method_label"], fontsize=8)
    ax.set_xlim(-0.6, len(d) - 0.4)
    ax.set_ylim(0, 1)
    ax.set_ylabel("hard-test accuracy")
    ax.legend(fontsize=6, ncols=3, loc="upper right")


def ratio_bars(ax, d: pd.DataFrame, ylim: tuple[float, float]) -> None:
    """Per student method an SGR and a PGR bar with its 95 % interval; "no gap" where the
    denominator is not positive, hatched where its interval contains 0."""
    step = 0.02 * (ylim[1] - ylim[0])
    x = np.arange(len(d))
    for offset, name in ((-0.2, "sgr"), (0.2, "pgr")):
        for xi, (_, r) in zip(x + offset, d.iterrows(), strict=True):
            value = r[name]
            if not r[f"{name}_gap_positive"] or not math.isfinite(value):
                ratio_note(ax, xi, step, "no\ngap", fontsize=6, color=COLOURS[name])
                continue
            vague = not r[f"{name}_gap_ci_low"] > 0
            ax.bar(xi, value, width=0.38, color=COLOURS[name], alpha=0.35 if vague else 1.0,
                   hatch="//" if vague else None, edgecolor=COLOURS[name])  # fmt: skip
            low, high = r[f"{name}_ci_low"], r[f"{name}_ci_high"]
            top = value
            if math.isfinite(low) and math.isfinite(high):
                ax.errorbar(xi, (low + high) / 2, yerr=(high - low) / 2, fmt="none",
                            ecolor="black", capsize=2)  # fmt: skip
                top = max(value, high)
            ax.text(xi, top + step, f"{value:.2f}", ha="center", va="bottom", fontsize=7)
    labels = [
        f"{m}\nweak {w:.0%} / ceil. {h:.0%}"
        for m, w, h in zip(d["method_label"], d["weak"], d["hard"], strict=True)
    ]
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_xlim(-0.6, len(d) - 0.4)
    ax.set_ylim(*ylim)
    ax.axhline(0.0, lw=0.8, color="black")
    ax.axhline(1.0, ls="--", lw=0.8, color="black")
    ax.set_ylabel("gap recovered")
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[n]) for n in ("sgr", "pgr")]
    ax.legend(handles, ["SGR (easy gold labels)", "PGR (weak labels, hard items)"],
              loc="upper right", fontsize=7)  # fmt: skip


def draw(data: pd.DataFrame, title: str = TITLE) -> plt.Figure:
    """One column per (dataset, measure): the arms' hard-test accuracies above, SGR beside
    PGR per student method below."""
    panels = list(dict.fromkeys(zip(data["dataset"], data["measure"], strict=True)))
    if not panels:
        raise ValueError(f"{title}: no panels to draw")
    width = max(3.0 + 1.6 * data.groupby(["dataset", "measure"]).size().max(), 6.5)
    fig, axes = plt.subplots(
        2, len(panels), figsize=(width * len(panels), 7.0), squeeze=False, layout="constrained"
    )
    ylim = y_limits(data)
    for col, (dataset, measure) in enumerate(panels):
        d = data[(data["dataset"] == dataset) & (data["measure"] == measure)]
        first = d.iloc[0]
        accuracy_bars(axes[0, col], d)
        axes[0, col].set_title(
            f"{registry.dataset(dataset).short_name}, {registry.measure_label(measure)}: "
            f"student {first['student']}, supervisor {first['supervisor']}",
            fontsize=9,
        )
        ratio_bars(axes[1, col], d, ylim)
    fig.suptitle(title)
    fig.supxlabel(
        "whiskers: 95 % bootstrap intervals; hatched: the gap (Hard − Unsup or Hard − Weak) is "
        "not significant; no gap: Hard is not above Unsup (SGR) or Weak (PGR)",
        fontsize=8,
    )
    return fig
