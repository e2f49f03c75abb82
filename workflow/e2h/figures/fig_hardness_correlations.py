"""``fig-hardness-correlations``: Spearman correlations between hardness measures (RQ1).

One heat map per dataset (``fig-hardness-correlations``: ARC only, the paper's Figure 2;
``-all``: every dataset, ARC with all three MDL variants). Spearman with average ranks for
ties, pairwise-complete, over the probing set (model-based measures cover the items the MDL
stage scored). The figure data CSV carries the paper's ARC values next to ours with the
absolute difference; pairs of item-table measures (the same numbers as the paper's) are
checked against the tolerance, pairs with an MDL measure are not: ours come from other
hardness models (docs/hardness.md#mdl).
"""

from __future__ import annotations

import logging

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from e2h import registry

log = logging.getLogger(__name__)


def panel_measures(dataset: str, configured: list[str]) -> list[str]:
    """The configured measures in the registry's panel order (the paper's)."""
    order = registry.dataset(dataset).correlation_order
    return [m for m in order if m in configured]


def spearman_pairs(table: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """ρ and pairwise-complete n for every unordered pair of measures."""
    values = table[measures].apply(pd.to_numeric, errors="coerce")
    rho = values.corr(method="spearman")
    mask = values.notna().astype(int)
    n = mask.T @ mask
    rows = []
    for i, a in enumerate(measures):
        for b in measures[i + 1 :]:
            rows.append(
                {"measure_x": a, "measure_y": b, "rho": rho.loc[a, b], "n_pairs": int(n.loc[a, b])}
            )
    return pd.DataFrame(rows)


def build(
    tables: dict[str, pd.DataFrame],
    measures: dict[str, list[str]],
    paper_pairs: list[list],
    tolerance: float,
) -> pd.DataFrame:
    """Every pair per dataset on the probing set (and all items), with the paper's ARC ρ."""
    paper = {frozenset(p[:2]): float(p[2]) for p in paper_pairs}
    frames = []
    for dataset, table in tables.items():
        ms = panel_measures(dataset, measures[dataset])
        if len(ms) < 2:
            continue
        probing = spearman_pairs(table[table["probing"]], ms).assign(
            dataset=dataset, item_set="probing"
        )
        everything = spearman_pairs(table, ms)
        probing["rho_all_items"] = everything["rho"].to_numpy()
        frames.append(probing)
    data = pd.concat(frames, ignore_index=True)
    data["paper_rho"] = [
        paper.get(frozenset((a, b))) if d == "arc" else np.nan
        for d, a, b in zip(data["dataset"], data["measure_x"], data["measure_y"], strict=True)
    ]
    data["abs_diff_vs_paper"] = (data["rho"] - data["paper_rho"]).abs()
    model_based = [
        registry.dataset(d).model_based(a) or registry.dataset(d).model_based(b)
        for d, a, b in zip(data["dataset"], data["measure_x"], data["measure_y"], strict=True)
    ]
    checked = data["paper_rho"].notna() & ~pd.Series(model_based, index=data.index)
    data["tolerance"] = np.where(checked, tolerance, np.nan)
    data["within_tolerance"] = np.where(
        checked, data["abs_diff_vs_paper"] <= tolerance + 1e-12, pd.NA
    )
    cols = [
        "dataset",
        "item_set",
        "measure_x",
        "measure_y",
        "rho",
        "n_pairs",
        "rho_all_items",
        "paper_rho",
        "abs_diff_vs_paper",
        "tolerance",
        "within_tolerance",
    ]
    return data[cols]


def matrix(data: pd.DataFrame, dataset: str, labels: dict[str, str] | None = None) -> pd.DataFrame:
    d = data[data["dataset"] == dataset]
    ms = list(dict.fromkeys(list(d["measure_x"]) + list(d["measure_y"])))
    mat = pd.DataFrame(np.eye(len(ms)), index=ms, columns=ms)
    for r in d.itertuples(index=False):
        mat.loc[r.measure_x, r.measure_y] = mat.loc[r.measure_y, r.measure_x] = r.rho
    names = [(labels or {}).get(m) or registry.measure_label(m) for m in ms]
    mat.index, mat.columns = names, names
    return mat


def draw(data: pd.DataFrame, labels: dict[str, str] | None = None) -> plt.Figure:
    """One heat map per dataset on a 2-column grid; labels readable on dark tiles.
    ``labels`` overrides measure names (Figure 2 calls the zero-shot MDL just "MDL")."""
    datasets = list(dict.fromkeys(data["dataset"]))
    ncols = min(2, len(datasets))
    nrows = -(-len(datasets) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(7.4 * ncols, 5.6 * nrows), squeeze=False, layout="constrained"
    )
    im = None
    for ax, dataset in zip(axes.flat, datasets, strict=False):
        mat = matrix(data, dataset, labels)
        im = ax.imshow(mat.to_numpy(), cmap="RdBu", vmin=-1, vmax=1)
        ax.set_xticks(range(len(mat)), mat.columns, rotation=35, ha="right", fontsize=9)
        ax.set_yticks(range(len(mat)), mat.index, fontsize=9)
        for i in range(len(mat)):
            for j in range(len(mat)):
                value = mat.iat[i, j]
                ax.text(
                    j,
                    i,
                    f"{round(float(value), 2) + 0.0:.2f}",  # never "-0.00"
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if abs(value) > 0.6 else "black",
                )
        title = f"{registry.dataset(dataset).short_name} Hardness Measures"
        d = data[data["dataset"] == dataset]
        info = registry.dataset(dataset)
        with_mdl = d[[info.model_based(a) or info.model_based(b)
                      for a, b in zip(d["measure_x"], d["measure_y"], strict=True)]]  # fmt: skip
        if len(with_mdl):  # MDL covers the scored sample only: say over how many items
            title += f"\n(MDL pairs over n = {int(with_mdl['n_pairs'].min())} scored items)"
        ax.set_title(title)
        ax.grid(False)
    for ax in axes.flat[len(datasets) :]:
        ax.axis("off")
    names = " ".join(registry.dataset(d).short_name for d in datasets) if len(datasets) == 1 else ""
    fig.suptitle(
        f"Correlation Matrix for {names + ' ' if names else ''}Hardness Measures "
        "(Spearman, probing sets)"
    )
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.5, label="Spearman ρ")
    return fig


def run(smk) -> None:
    """The body of both rules (their outputs differ only by params): build, log the
    comparison with the paper, write the CSV and the figure."""
    import yaml

    from e2h.io import write_csv
    from e2h.plotting import save_figure, set_style

    set_style()
    tables = {
        d: pd.read_parquet(p) for d, p in zip(smk.params.datasets, smk.input.tables, strict=True)
    }
    paper = yaml.safe_load(open(smk.input.paper))["arc_correlations"]["pairs"]
    data = build(tables, smk.params.measures, paper, smk.params.tolerance)
    write_csv(data, smk.output.data)
    compared = data[data["tolerance"].notna()]  # pairs of item-table measures
    off = compared[~compared["within_tolerance"].astype(bool)]
    log.info(
        "ARC vs paper: %d pairs compared, max |diff| %.3f, %d outside ±%.2f",
        len(compared),
        compared["abs_diff_vs_paper"].max() if len(compared) else 0,
        len(off),
        smk.params.tolerance,
    )
    for r in off.itertuples():
        log.warning(
            "ARC %s vs %s: ours %.3f, paper %.2f", r.measure_x, r.measure_y, r.rho, r.paper_rho
        )
    save_figure(draw(data, smk.params.labels), smk.output.figures, dpi=smk.params.dpi)
