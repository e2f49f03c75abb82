"""Shared figure and table output conventions (docs/figures.md).

Figures are saved in every configured format (PDF + PNG by default) next to the plotted
numbers as CSV; tables as CSV + LaTeX. Writes are atomic.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on CI machines or cluster nodes

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from e2h.io import write_csv, write_text  # noqa: E402

#: Bar colours of the 3rd grade → college sources (Unsupervised, 3rd, 8th, HS, College).
SOURCE_COLOURS = ["#8c8c8c", "#8172b3", "#64b5cd", "#55a868", "#c44e52"]
#: Training-method labels in plotting order, and their colours.
METHOD_ORDER = ["ICL", "Linear Probe", "LoRA"]
METHOD_COLOURS = {"ICL": "#4c72b0", "Linear Probe": "#dd8452", "LoRA": "#55a868"}


def chance_line(ax, dataset: str) -> None:
    """The dataset's chance accuracy (registry) as a dashed line, where it has one."""
    from e2h import registry

    chance = registry.dataset(dataset).chance
    if chance:
        ax.axhline(chance, ls="--", lw=0.8, color="black")
        low, high = ax.get_ylim()
        if chance + 5 > high:  # all bars far below chance: the reference stays in view
            ax.set_ylim(low, 5 * (int(chance) // 5) + 10)


def ratio_note(ax, x: float, y: float, text: str, **style) -> None:
    """A word drawn in place of a ratio bar ("no gap", "NA"): on white and above the
    reference lines, so the dashed ratio = 1 line, a few points above 0, cannot run
    through it (the SGR and PGR figures)."""
    style = {"ha": "center", "va": "bottom", "zorder": 3, **style}
    ax.text(x, y, text, bbox={"facecolor": "white", "edgecolor": "none", "pad": 1}, **style)


def signed(value: float) -> str:
    """A difference for a panel note, one decimal with its sign, never "-0.0"."""
    return f"{round(float(value), 1) + 0.0:+.1f}"


def panel_grid(n_panels: int, ncols: int, width: float, height: float):
    """(figure, axes) of a grid for ``n_panels`` panels, at most ``ncols`` per row; the
    unused axes are switched off."""
    import math

    ncols = max(1, min(ncols, n_panels))
    nrows = max(1, math.ceil(n_panels / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[n_panels:]:
        ax.axis("off")
    return fig, axes


#: The figures' seaborn theme (``seaborn.set_theme`` arguments).
THEME = {"context": "paper", "style": "whitegrid", "font_scale": 1.1}
#: ``THEME`` as a matplotlib style file: applying it needs no seaborn import, which pulls in
#: scipy.stats and costs about 1.4 s per figure job (docs/speed.md#figure-jobs);
#: tests/test_plotting.py checks it against seaborn, workflow/tools/write_plot_style.py
#: rewrites it.
STYLE_FILE = Path(__file__).with_name("plot_style.mplstyle")
#: Theme settings the style file leaves out: seaborn's own colormap, which only exists once
#: seaborn is imported (the figures name their colormaps).
NOT_IN_STYLE = ("image.cmap",)
#: Settings of every figure beyond the theme.
OUTPUT_PARAMS = {"pdf.fonttype": 42, "savefig.bbox": "tight", "figure.dpi": 100}


def seaborn_theme_params() -> dict:
    """The rcParams ``seaborn.set_theme(**THEME)`` changes from matplotlib's defaults."""
    import seaborn as sns

    with matplotlib.rc_context():
        plt.rcdefaults()
        default = dict(plt.rcParams)
        sns.set_theme(**THEME)
        themed = dict(plt.rcParams)
    return {
        key: value
        for key, value in themed.items()
        if value != default[key] and key not in NOT_IN_STYLE
    }


def set_style() -> None:
    """The figures' look: the seaborn theme (from its style file) and the output settings."""
    plt.style.use(STYLE_FILE)
    plt.rcParams.update(OUTPUT_PARAMS)


def save_figure(fig: plt.Figure, paths: list[str | Path], dpi: int = 150) -> None:
    """Save one figure to each path (format from the suffix), atomically."""
    for path in map(Path, paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
        fig.savefig(
            tmp, dpi=dpi, metadata={"CreationDate": None} if path.suffix == ".pdf" else None
        )
        tmp.replace(path)
    plt.close(fig)


def save_table(
    frame: pd.DataFrame,
    csv_path: str | Path | None,
    tex_path: str | Path,
    caption: str,
    label: str,
    float_format: str = "{:.2f}",
) -> None:
    """A table as CSV (full precision; None: the caller writes its own) and LaTeX (booktabs,
    formatted)."""
    if csv_path is not None:
        write_csv(frame, csv_path)
    floats = frame.select_dtypes("float").columns
    styler = frame.style.hide(axis="index").format(escape="latex", na_rep="--")
    styler = styler.format(float_format, subset=floats, na_rep="--")
    styler = styler.format_index(escape="latex", axis=1)
    tex = styler.to_latex(
        caption=caption, label=label, hrules=True, position="t", position_float="centering"
    )
    write_text(latex_symbols(tex), tex_path)


def latex_symbols(tex: str) -> str:
    """Replace the Unicode symbols our tables use with LaTeX commands (pdflatex-safe)."""
    for symbol, command in LATEX_SYMBOLS.items():
        tex = tex.replace(symbol, command)
    return tex


LATEX_SYMBOLS = {
    "≤": r"$\leq$",
    "≥": r"$\geq$",
    "✓": r"$\checkmark$",
    "–": "--",
    "−": "-",
    "±": r"$\pm$",
    "ρ": r"$\rho$",
}


def labelled_bars(
    ax, frame: pd.DataFrame, colours: list[str], error_bars: bool = False, fontsize: int = 8
) -> None:
    """Bars of ``frame['accuracy']`` (×100) with value labels, optional CI whiskers, and
    y-limits computed from the data so no bar, label or whisker is clipped."""
    import math

    import numpy as np

    x = np.arange(len(frame))
    values = frame["accuracy"].to_numpy(dtype=float)
    ax.bar(x, values, color=colours)
    if error_bars:
        ax.errorbar(
            x,
            values,
            # the boot-averaged value can sit just outside the percentile CI: clip at 0
            yerr=[
                np.clip(values - frame["ci_low"], 0, None),
                np.clip(frame["ci_high"] - values, 0, None),
            ],
            fmt="none",
            ecolor="black",
            capsize=3,
        )
    # the value sits above its whisker when one is drawn, never on it
    above = np.fmax(values, frame["ci_high"].to_numpy(dtype=float)) if error_bars else values
    for xi, value, y in zip(x, values, above, strict=True):
        if np.isfinite(value):
            ax.text(xi, y + 1, f"{value:.1f}", ha="center", va="bottom", fontsize=fontsize)
    tops = np.r_[values, frame["ci_high"].to_numpy(dtype=float) if error_bars else [], 0.0]
    top = np.nanmax(tops)
    # room above 100 % for the label of a whisker that reaches it (else the label sits on
    # the panel title); the ticks stop at 100 %, as accuracy does
    ax.set_ylim(0.0, min(112.0, max(10.0, math.ceil((top + 8) / 5) * 5)))
    if top + 8 > 100:
        ax.set_yticks(np.arange(0, 101, 20))
    ax.set_xticks(x, frame["label"], fontsize=fontsize)
