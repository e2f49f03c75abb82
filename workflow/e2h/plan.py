"""The experiment plan: every target of a run, computed from the validated config alone.

``Plan(config)`` decides, without Snakemake, what a run contains:

- ``cells``: every cell (population grid, trained-method grid, Table 4's all-data runs and
  the 3rd grade → college sources) with its full ``CellSpec``, keyed by its folder;
- ``representations``: the cached hidden states each probe cell reads;
- ``outputs``: every figure and table id with its rule, script, module, inputs and params.

The rule files only wire this up. ``OUTPUTS`` is the one table mapping each id to its rule,
its script and its module; ``python -m e2h.plan`` prints it for a config, with the inputs.

Every configured model runs the whole grid. Figures facet by model (panel titles carry the
model when there are several; the title names it when there is one), tables have a model
column, and the 3rd grade → college figures show the one model configured for them.
Bootstrap draws are keyed by (figure, dataset, measure, level, arm), not by model, so models
are compared on common random numbers and a one-model run draws what it always drew.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from e2h import registry
from e2h.cells import (
    CAP_SEP,
    CELL_FILES,
    LEVEL_SEP,
    SUPERVISOR,
    TRANSFER_MEASURE,
    ZERO_SHOT_FILE,
    CellSpec,
    representation_dir,
)
from e2h.code_deps import module_closure
from e2h.sampling import ANY_MEASURE
from e2h.transfer import SOURCES
from e2h.weak import supervisor_labels

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "workflow" / "scripts"
PAPER_NUMBERS = ROOT / "workflow" / "resources" / "paper_numbers.yaml"
RESOURCE_FILES = [
    str(ROOT / "workflow" / "resources" / name)
    for name in ("datasets.yaml", "methods.yaml", "measures.yaml")
]
#: Registry fields that size jobs (SLURM), not what a model predicts: never in params.
JOB_FIELDS = ("billion_parameters", "gpus", "mem_mb", "runtime", "threads")
#: Train levels of the secondary measures' ICL arms (fig-e2h-extra-measures: Unsup, Easy, Hard).
SECONDARY_LEVELS = ["easy", "hard"]
#: Training sources of the learning curves (fig-cost-curves).
CURVE_LEVELS = ["easy", "hard"]
#: The test level most outputs read (fig-e2h-main, the SGR figures and tables, the curves, the
#: by-model figures). A cell only such outputs read scores only that level's test items; the
#: grid's ICL cells (fig-e2h-all-test, tab-sgr's "all" rows), the train = All cells
#: (tab-all-to-all, fig-acc-vs-test-hardness) and zero-shot cells test every level.
TEST_LEVEL = "hard"
#: Prompt of the 3rd grade → college cells: MMLU's prompt of each method.
TRANSFER_DATASET = "mmlu"
#: The model ladder's by-model panels (docs/methods.md#model-ladder): id → (dataset, measure).
LADDER_PANELS = {
    "fig-scaling": ("mmlu", "human_hardness"),
    "fig-strategyqa-by-model": ("strategyqa", "num_steps"),
}


@dataclass(frozen=True)
class OutputKind:
    """One row of the id table: what builds an id and where it is shown."""

    id: str
    kind: str  # figure | table
    module: str  # the e2h module with its build (and draw) functions
    category: str  # the report section
    caption: str = ""

    @property
    def paper_item(self) -> str:
        """The paper's item this id reproduces ("tent." where its number is inferred)."""
        return PAPER_ITEMS.get(self.id, "beyond the paper")

    @property
    def rule(self) -> str:
        return self.id.replace("-", "_")

    @property
    def script(self) -> str:
        return str(SCRIPTS / f"{self.rule}.py")


#: The paper's item each id reproduces (docs/figures.md); numbers marked "tent." are inferred.
PAPER_ITEMS = {
    "fig-third-grade-to-college": "Figure 1",
    "tab-datasets": "tent. Table 1",
    "tab-cutoffs": "setup table (number unknown)",
    "fig-hardness-correlations": "tent. Figure 2",
    "fig-hardness-correlations-all": "appendix",
    "fig-acc-vs-test-hardness": "tent. Figure 3",
    "fig-acc-vs-test-hardness-extra": "appendix",
    "fig-hardness-histograms": "appendix",
    "fig-e2h-main": "tent. Figure 4",
    "fig-e2h-all-test": "appendix",
    "fig-e2h-extra-measures": "appendix",
    "fig-sgr-by-method": "tent. Figure 5",
    "tab-sgr-by-method": "data of tent. Figure 5",
    "fig-sgr-by-method-extra": "appendix",
    "tab-sgr": "tent. appendix table",
    "tab-sgr-pairwise": "tests printed in the text",
    "tab-all-to-all": "Table 4",
    "fig-cost-curves": "tent. Figure 6 (appendix version)",
    "fig-cost-curves-mmlu": "tent. Figure 6 (main version)",
    "fig-noisy-labels": "tent. Figure 7",
    "fig-scaling": "tent. Figure 8",
    "fig-train-test-gap": "tent. Figure 9",
    "fig-third-grade-to-college-by-method": "main-text 3-facet figure",
    "fig-third-grade-to-college-by-model": "appendix",
    "fig-strategyqa-by-model": "appendix",
}

_RQ1_MDL = "RQ1: measuring hardness"
_RQ3 = "RQ3: cost and noise of hard data"
_W2S = "Beyond the paper: weak-to-strong"
_RQ1, _RQ2, _RQ4 = (
    "RQ1: measuring hardness",
    "RQ2: easy-to-hard generalization",
    "RQ4: model scale and the train-test gap",
)
#: Every figure and table id: its rule is the id with "-" → "_", its script
#: ``workflow/scripts/<rule>.py``, its code the module named here.
OUTPUTS: dict[str, OutputKind] = {
    o.id: o
    for o in [
        OutputKind("tab-datasets", "table", "e2h.tables.tab_datasets", "Setup"),
        OutputKind("tab-cutoffs", "table", "e2h.tables.tab_cutoffs", "Setup"),
        OutputKind("tab-mdl-online", "table", "e2h.tables.tab_mdl_online", _RQ1_MDL),
        OutputKind(
            "fig-hardness-histograms", "figure", "e2h.figures.fig_hardness_histograms", _RQ1
        ),
        OutputKind(
            "fig-hardness-correlations", "figure", "e2h.figures.fig_hardness_correlations", _RQ1
        ),
        OutputKind(
            "fig-hardness-correlations-all",
            "figure",
            "e2h.figures.fig_hardness_correlations",
            _RQ1,
        ),
        OutputKind("fig-e2h-main", "figure", "e2h.figures.fig_e2h", _RQ2),
        OutputKind("fig-e2h-all-test", "figure", "e2h.figures.fig_e2h", _RQ2),
        OutputKind("fig-e2h-extra-measures", "figure", "e2h.figures.fig_e2h", _RQ2),
        OutputKind(
            "fig-acc-vs-test-hardness", "figure", "e2h.figures.fig_acc_vs_test_hardness", _RQ1
        ),
        OutputKind(
            "fig-acc-vs-test-hardness-extra",
            "figure",
            "e2h.figures.fig_acc_vs_test_hardness",
            _RQ1,
        ),
        OutputKind("tab-sgr", "table", "e2h.tables.tab_sgr", _RQ2),
        OutputKind("tab-sgr-pairwise", "table", "e2h.tables.tab_sgr", _RQ2),
        OutputKind("tab-sgr-vs-paper", "table", "e2h.tables.tab_sgr", _RQ2),
        OutputKind(
            "fig-third-grade-to-college", "figure", "e2h.figures.fig_third_grade_to_college", _RQ4
        ),
        OutputKind("fig-sgr-by-method", "figure", "e2h.figures.fig_sgr_by_method", _RQ2),
        OutputKind("fig-sgr-by-method-extra", "figure", "e2h.figures.fig_sgr_by_method", _RQ2),
        OutputKind("tab-sgr-by-method", "table", "e2h.figures.fig_sgr_by_method", _RQ2),
        OutputKind("tab-all-to-all", "table", "e2h.tables.tab_all_to_all", _RQ2),
        OutputKind("fig-cost-curves", "figure", "e2h.figures.fig_cost_curves", _RQ3),
        OutputKind("fig-train-test-gap", "figure", "e2h.figures.fig_train_test_gap", _RQ4),
        OutputKind("fig-cost-curves-mmlu", "figure", "e2h.figures.fig_cost_curves", _RQ3),
        OutputKind(
            "fig-third-grade-to-college-by-method",
            "figure",
            "e2h.figures.fig_third_grade_to_college_by_method",
            _RQ4,
        ),
        OutputKind("fig-noisy-labels", "figure", "e2h.figures.fig_noisy_labels", _RQ3),
        OutputKind("tab-model-ladder", "table", "e2h.tables.tab_model_ladder", _RQ4),
        OutputKind("tab-sgr-vs-pgr", "table", "e2h.figures.fig_sgr_vs_pgr", _W2S),
        OutputKind("fig-sgr-vs-pgr", "figure", "e2h.figures.fig_sgr_vs_pgr", _W2S),
        OutputKind("fig-scaling", "figure", "e2h.figures.fig_by_model", _RQ4),
        OutputKind("fig-strategyqa-by-model", "figure", "e2h.figures.fig_by_model", _RQ4),
        OutputKind(
            "fig-third-grade-to-college-by-model",
            "figure",
            "e2h.figures.fig_third_grade_to_college_by_method",
            _RQ4,
        ),
    ]
}


@dataclass
class Output:
    """One planned figure or table: its files, inputs (paths) and params (what it shows)."""

    kind: OutputKind
    inputs: dict[str, Any]
    params: dict[str, Any]

    @property
    def id(self) -> str:
        return self.kind.id

    def files(self, formats: list[str]) -> dict[str, Any]:
        if self.kind.kind == "table":
            return {
                "csv": f"results/tables/{self.id}.csv",
                "tex": f"results/tables/{self.id}.tex",
            }
        return {
            "figures": [f"figures/{self.id}.{fmt}" for fmt in formats],
            "data": f"results/figure_data/{self.id}.csv",
        }

    def all_inputs(self) -> dict[str, Any]:
        """Inputs plus the code that builds it (its script's ``e2h`` modules, the registries)."""
        code = module_closure(self.kind.script)
        return {**self.inputs, "code": code + RESOURCE_FILES}


@dataclass
class CellGroup:
    """The cells one job runs (docs/speed.md#cell-jobs): libraries are imported and the model
    (or the hidden states) loaded once for all of them.

    With ``execution.group_cells`` a group is every cell of one (dataset, model, kind of
    method: prompting, probe or LoRA); without it, every cell is its own group (one job per
    cell, for clusters).
    """

    name: str  # the rule name
    directory: str  # under results/cells/: the shared folder of its cells
    cells: list[CellSpec] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """prompting | probe | lora (one kind per group)."""
        return registry.method(self.cells[0].method).kind

    @property
    def script(self) -> str:
        return "run_cells.py" if self.kind == "prompting" else "run_trained_cells.py"

    @property
    def model(self) -> str:
        return self.cells[0].model

    def outputs(self) -> list[str]:
        return [f"{spec.directory}/{name}" for spec in self.cells for name in CELL_FILES]


@dataclass
class Representation:
    """The zero-shot pass of one (dataset, model, prompt): hidden states and zero-shot
    predictions of every item its cells read (probe cells: training and test items;
    zero-shot cells: test items), from one forward per item."""

    dataset: str
    model: str
    prompt: str
    cells: list[CellSpec] = field(default_factory=list)

    @property
    def directory(self) -> str:
        return representation_dir(self.dataset, self.model, self.prompt)


def representation_files(dataset: str, model: str, prompt: str) -> list[str]:
    d = representation_dir(dataset, model, prompt)
    return [f"{d}/manifest.json", f"{d}/features.npy", f"{d}/choice_mask.npy"]


def zero_shot_file(dataset: str, model: str, prompt: str) -> str:
    return f"{representation_dir(dataset, model, prompt)}/{ZERO_SHOT_FILE}"


def human_table(dataset: str) -> str:
    return f"results/hardness/{dataset}/human.parquet"


def mdl_dir(dataset: str, model: str) -> str:
    return f"results/mdl/{dataset}/{model}"


def predictions(spec: CellSpec) -> str:
    return f"{spec.directory}/predictions.parquet"


def skip_reason(datasets: list[str]) -> str:
    """Why a figure shows no bar or facet for a method: the one wording of every figure's
    "not shown" note, with the datasets' display names."""
    names = ", ".join(registry.dataset(d).short_name for d in datasets)
    return f"left out by experiments.trained.skip ({names})"


class PlanError(ValueError):
    """The config asks for something the plan cannot build; the message names it."""


class Plan:
    """Every target of a run (see the module docstring). ``config`` must be validated."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.datasets = list(config["datasets"])
        self.exp = config.get("experiments") or None
        self.trained = (self.exp or {}).get("trained") or {}
        self.trained_methods = list(self.trained.get("methods") or [])
        self.cells: dict[str, CellSpec] = {}
        # every planned cell by its every-level folder (the key a narrowed cell is found by)
        self._wide: dict[str, CellSpec] = {}
        self.representations: dict[str, Representation] = {}
        self.w2s_only: set[str] = set()  # cells no experiment but weak-to-strong plans
        if self.exp:
            self._plan_grid()
            self._plan_transfer()
            self._plan_curves()
            self._plan_ladder()
            self._plan_noise()
            self._plan_weak_to_strong()
            self.cells = {spec.directory: spec for spec in self._wide.values()}
            self._plan_representations()
        self.groups: dict[str, CellGroup] = {}
        self._plan_groups()
        self.outputs: dict[str, Output] = {}
        self._plan_outputs()

    # ------------------------------------------------------------------ cells

    @property
    def models(self) -> list[str]:
        return list(self.exp["models"]) if self.exp else []

    def grid_datasets(self) -> list[str]:
        """Configured datasets the experiments cover, in config order."""
        return [d for d in self.datasets if self.exp and d in self.exp["measures"]]

    def extra_measures(self, dataset: str) -> list[str]:
        """Secondary measures of fig-sgr-by-method-extra (trained methods' extra arms)."""
        return list((self.trained.get("extra_measures") or {}).get(dataset, []))

    def secondary_measures(self, dataset: str) -> list[str]:
        """Secondary measures of fig-e2h-extra-measures and fig-acc-vs-test-hardness-extra."""
        return list(((self.exp or {}).get("extra_measures") or {}).get(dataset, []))

    def trained_on(self, dataset: str) -> list[str]:
        """The configured trained methods that run on ``dataset``: `trained.methods` less the
        ones `trained.skip` leaves out there (docs/methods.md#trained-skip)."""
        skipped = set((self.trained.get("skip") or {}).get(dataset) or [])
        return [m for m in self.trained_methods if m not in skipped]

    def sgr_methods(self, dataset: str) -> list[str]:
        """Configured trained methods of fig-sgr-by-method on ``dataset``, in figure order."""
        wanted = set(self.trained_on(dataset))
        return [m for m in registry.dataset(dataset).sgr_methods if m in wanted]

    def sgr_methods_left_out(self, datasets: list[str]) -> dict[str, str]:
        """{method label: why} of the trained methods `trained.skip` leaves out of
        fig-sgr-by-method's facets on some of ``datasets``, so the figure can say so (a
        reader otherwise looks for the missing bars)."""
        skipped: dict[str, list[str]] = {}
        for dataset in datasets:
            for method in registry.dataset(dataset).sgr_methods:
                if method in self.trained_methods and method not in self.sgr_methods(dataset):
                    label = registry.method(method).label
                    skipped.setdefault(label, []).append(dataset)
        return {label: skip_reason(names) for label, names in skipped.items()}

    def all_to_all_methods(self, dataset: str) -> list[str]:
        wanted = set(self.trained_on(dataset))
        return [
            m
            for m in registry.dataset(dataset).all_to_all_methods
            if not registry.method(m).trained or m in wanted
        ]

    def prompt(self, dataset: str, method: str) -> str:
        """The prompt id of a method on a dataset: the config's, else the paper's."""
        override = (self.config["datasets"].get(dataset) or {}).get("prompts") or {}
        return str(override.get(method) or registry.dataset(dataset).prompt(method))

    def reserve(self, dataset: str) -> int:
        """Largest training draw on a dataset: capped test samples leave that many per level."""
        n_trained = int(self.trained["n"]) if self.trained_methods else 0
        curve = max(self.curve_config["sizes"]) if self.curve_measures(dataset) else 0
        if self.noise_config and self.noise_config["dataset"] == dataset:
            curve = max(curve, int(self.noise_config["n"]))
        ladder = [self.ladder_k(d) for d, _ in self.ladder_panels().values() if d == dataset]
        w2s = (
            list(self.w2s_config.get("methods", {}).values()) if self.w2s_measures(dataset) else []
        )
        return max(int(self.exp["k"][dataset]), n_trained, curve, *ladder, *w2s)

    def cap_measures(self, dataset: str) -> tuple[str, ...]:
        """The capped test samples the shared zero-shot cell (every Unsup arm) must cover:
        every level of the grid's measures (their ICL cells test every level) and the
        all-items sample of the train = All cells; only ``measure:hard`` of the measures that
        only hard-test outputs compare with zero-shot (the secondary measures, the by-model
        and weak-to-strong panels' measures; e2h.cells.zero_shot_test_ids)."""
        primary = list(self.exp["measures"].get(dataset, []))
        measures = list(primary)
        ladder = [m for d, m in self.ladder_panels().values() if d == dataset]
        others = self.extra_measures(dataset) + self.secondary_measures(dataset)
        for m in others + ladder + self.w2s_measures(dataset):
            entry = f"{m}{LEVEL_SEP}{TEST_LEVEL}"
            if m not in primary and entry not in measures:
                measures.append(entry)
        if self.exp["all_to_all"]:
            cap, all_cap = self.exp["test_cap"].get(dataset), self.all_test_cap(dataset)
            own = "" if all_cap == cap or cap is None else f"{CAP_SEP}{all_cap}"
            measures.append(ANY_MEASURE + own)
        return tuple(measures)

    def all_test_cap(self, dataset: str) -> int | None:
        """Items per level-equivalent and resample of the train = All cells' unstratified
        sample (3 x this many): ``experiments.all_test_cap``, else the dataset's test_cap.
        Larger than test_cap where fig-acc-vs-test-hardness compares easy and hard test items
        of that one sample (docs/sampling.md#all-test-cap)."""
        caps = self.exp.get("all_test_cap") or {}
        return caps[dataset] if dataset in caps else self.exp["test_cap"].get(dataset)

    def _add(self, spec: CellSpec, test_level: str = "") -> None:
        """Plan a cell. ``test_level``: the one test level every output of the calling
        experiment reads of it ("" = more than one), so it scores only those items; a cell
        two experiments ask for tests what either reads (docs/speed.md#test-levels)."""
        key = spec.directory
        asked = replace(spec, test_level=test_level) if test_level else spec
        planned = self._wide.get(key)
        if planned is None:
            self._wide[key] = asked
        elif planned.test_level != asked.test_level:
            self._wide[key] = spec

    @staticmethod
    def _key(spec: CellSpec) -> str:
        return replace(spec, test_level="").directory

    def resolve(self, spec: CellSpec) -> CellSpec:
        """The planned cell of ``spec``'s condition, narrowed to one test level or not."""
        planned = self._wide.get(self._key(spec))
        if planned is None:
            raise PlanError(f"{spec.directory}: not a planned cell")
        return planned

    def path(self, spec: CellSpec) -> str:
        """The predictions file of ``spec``'s planned cell (see :meth:`resolve`)."""
        return predictions(self.resolve(spec))

    def _grid_cell(
        self,
        dataset: str,
        model: str,
        method: str,
        measure: str,
        train: str,
        n: int,
        resamples: int | None = None,
    ):
        cot = registry.method(method).cot
        all_items = measure == ANY_MEASURE and train == "all"
        cap = self.all_test_cap(dataset) if all_items else self.exp["test_cap"].get(dataset)
        return CellSpec(
            dataset=dataset,
            model=model,
            method=method,
            prompt=self.prompt(dataset, method),
            measure=measure,
            train=train,
            n=int(n),
            resamples=int(resamples or self.exp["resamples"]),
            cap=None if cap is None else int(cap),
            seed=int(self.config["seed"]),
            max_new_tokens=int(self.exp["max_new_tokens"][dataset]) if cot else None,
            reserve=self.reserve(dataset),
            cap_measures=self.cap_measures(dataset),
        )

    def _levels(self, dataset: str, measure: str, levels: list[str]) -> list[str]:
        binary = registry.dataset(dataset).is_binary(measure)
        return [lv for lv in levels if not (binary and lv == "medium")]

    def _plan_grid(self) -> None:
        exp = self.exp
        train_levels = list(exp["train_levels"])
        trained_levels = list(self.trained.get("train_levels") or [])
        for dataset in self.grid_datasets():
            info = registry.dataset(dataset)
            k = int(exp["k"][dataset])
            measures = list(exp["measures"][dataset])
            extra = self.extra_measures(dataset)
            for model in self.models:
                cell = self._grid_cell
                self._add(cell(dataset, model, info.unsup, ANY_MEASURE, "unsup", 0))
                for measure in measures:
                    for level in self._levels(dataset, measure, train_levels):
                        self._add(cell(dataset, model, info.supervised, measure, level, k))
                # the outputs below read the hard test level only (TEST_LEVEL)
                for measure in extra:  # ICL arms of fig-sgr-by-method-extra
                    for level in trained_levels:
                        if measure not in measures or level not in train_levels:
                            spec = cell(dataset, model, info.supervised, measure, level, k)
                            self._add(spec, TEST_LEVEL)
                for measure in self.secondary_measures(dataset):  # fig-e2h-extra-measures
                    for level in self._levels(dataset, measure, SECONDARY_LEVELS):
                        spec = cell(dataset, model, info.supervised, measure, level, k)
                        self._add(spec, TEST_LEVEL)
                for method in self.sgr_methods(dataset):  # fig-sgr-by-method(-extra)
                    for measure in measures + extra:
                        for level in self._levels(dataset, measure, trained_levels):
                            spec = cell(dataset, model, method, measure, level, self.n(method))
                            self._add(spec, TEST_LEVEL)
                if exp["all_to_all"]:
                    for method in self.all_to_all_methods(dataset):
                        n = self.n(method) if registry.method(method).trained else k
                        self._add(cell(dataset, model, method, ANY_MEASURE, "all", n))

    def n(self, method: str) -> int:
        """Training items of a trained method's cells."""
        return int(self.trained["n"])

    # --------------------------------------------------------- learning curves (RQ3)

    @property
    def curve_config(self) -> dict[str, Any]:
        return (self.exp or {}).get("learning_curves") or {}

    def curve_measures(self, dataset: str) -> list[str]:
        """Measures with linear-probe learning curves (fig-cost-curves) on a dataset."""
        return list((self.curve_config.get("measures") or {}).get(dataset, []))

    def _plan_curves(self) -> None:
        """Probe cells of every (measure, easy / hard, size): the nested learning curves of
        docs/methods.md#learning-curves (prefixes of one keyed permutation per resample)."""
        lc = self.curve_config
        for dataset in self.grid_datasets():
            for model in self.models:
                for measure in self.curve_measures(dataset):
                    for level in CURVE_LEVELS:
                        for n in lc["sizes"]:
                            spec = self._grid_cell(
                                dataset, model, lc["method"], measure, level, n, lc["resamples"]
                            )
                            self._add(spec, TEST_LEVEL)  # fig-cost-curves: hard test

    def curve_specs(self) -> list[dict[str, Any]]:
        """fig-cost-curves: per (model, dataset, measure), {arm: {n: predictions path}}."""
        lc = self.curve_config
        specs = []
        for model in self.models:
            for dataset in self.grid_datasets():
                for measure in self.curve_measures(dataset):
                    arms = {
                        level: {
                            int(n): self.path(
                                self.one(
                                    dataset=dataset, model=model, method=lc["method"],
                                    measure=measure, train=level, n=int(n),
                                    resamples=int(lc["resamples"]),
                                )
                            )
                            for n in lc["sizes"]
                        }
                        for level in CURVE_LEVELS
                    }  # fmt: skip
                    specs.append(self._panel_spec(model, dataset, measure, arms=arms))
        return specs

    # --------------------------------------------------------- 3rd grade → college

    @property
    def transfer_config(self) -> dict[str, Any] | None:
        return (self.exp or {}).get("third_grade_to_college") or None

    def transfer_methods(self) -> list[str]:
        tgc = self.transfer_config
        if not tgc:
            return []
        return [
            m
            for m in tgc["methods"]
            if not registry.method(m).trained or m in self.trained_on(TRANSFER_DATASET)
        ]

    def transfer_methods_left_out(self) -> dict[str, str]:
        """{method label: why} of the configured Figure-1 methods that do not run (a trained
        method `trained.skip` leaves out on MMLU), so the figure can say so."""
        tgc = self.transfer_config or {}
        kept = set(self.transfer_methods())
        return {
            registry.method(m).label: skip_reason([TRANSFER_DATASET])
            for m in tgc.get("methods", [])
            if m not in kept
        }

    def transfer_spec(self, method: str, source: str, model: str | None = None) -> CellSpec:
        """The Figure-1 cell of (method, source), by default of the model configured for
        Figure 1; the unsupervised source is zero-shot."""
        tgc = self.transfer_config
        if SOURCES[source] is None:
            method, k = registry.dataset(TRANSFER_DATASET).unsup, 0
        elif registry.method(method).trained:
            k = self.n(method)
        else:
            k = int(tgc["k"])
        cap = tgc.get("test_cap")
        return CellSpec(
            dataset=TRANSFER_DATASET,
            model=model or tgc["model"],
            method=method,
            prompt=self.prompt(TRANSFER_DATASET, method),
            measure=TRANSFER_MEASURE,
            train=source,
            n=k,
            resamples=int(tgc["resamples"]),
            cap=None if cap is None else int(cap),
            seed=int(self.config["seed"]),
        )

    def transfer_cells(self, method: str, model: str | None = None) -> dict[str, str]:
        """{source: predictions path} of one method; every method shares the zero-shot cell."""
        return {s: self.path(self.transfer_spec(method, s, model)) for s in SOURCES}

    def _plan_transfer(self) -> None:
        for method in self.transfer_methods():
            for source in SOURCES:
                self._add(self.transfer_spec(method, source))

    # --------------------------------------------------------- noisy labels (RQ3)

    @property
    def noise_config(self) -> dict[str, Any]:
        return (self.exp or {}).get("noisy_labels") or {}

    def noise_cell(self, model: str, level: str, p: float, mode: str) -> CellSpec:
        """The probe cell of one training source at easy-noise ``p``: hard data gets
        hard_factor · p; clean cells (p = 0) are ordinary cells, shared by every mode."""
        nl = self.noise_config
        spec = self._grid_cell(
            nl["dataset"], model, nl["method"], nl["measure"], level, nl["n"], nl["resamples"]
        )
        noise = float(p) * (float(nl["hard_factor"]) if level == "hard" else 1.0)
        if not noise:
            return spec
        return replace(spec, noise=round(noise, 6), noise_mode=mode)

    def _plan_noise(self) -> None:
        nl = self.noise_config
        if not nl or nl["dataset"] not in self.grid_datasets():
            return
        for model in self.models:
            for mode in nl["modes"]:
                for p in nl["noise"]:
                    for level in CURVE_LEVELS:  # fig-noisy-labels: hard test
                        self._add(self.noise_cell(model, level, p, mode), TEST_LEVEL)

    def noise_specs(self) -> list[dict[str, Any]]:
        """fig-noisy-labels: per (model, mode), {source: {easy p: predictions path}}."""
        nl = self.noise_config
        if not nl or nl["dataset"] not in self.grid_datasets():
            return []
        specs = []
        for model in self.models:
            for mode in nl["modes"]:
                arms = {
                    level: {
                        float(p): self.path(self.noise_cell(model, level, p, mode))
                        for p in nl["noise"]
                    }
                    for level in CURVE_LEVELS
                }
                spec = self._panel_spec(model, nl["dataset"], nl["measure"], arms=arms)
                spec["title"] += f"\nnoise: {mode.replace('_', ' ')}"
                specs.append({**spec, "mode": mode, "hard_factor": float(nl["hard_factor"])})
        return specs

    # --------------------------------------------------------- model ladder (RQ4)

    @property
    def ladder(self) -> list[str]:
        """Every model of the ladder (config order; the figures order them by measured
        strength): fig-scaling's, then those only the other by-model figures show."""
        cfg = (self.exp or {}).get("ladder") or {}
        return list(dict.fromkeys([*(cfg.get("models") or []), *(cfg.get("by_model") or [])]))

    def ladder_models(self, output_id: str) -> list[str]:
        """The models one by-model id shows: fig-scaling the ladder's `models`, the others
        `by_model` where it is set."""
        cfg = (self.exp or {}).get("ladder") or {}
        if output_id == "fig-scaling" or not cfg.get("by_model"):
            return list(cfg.get("models") or [])
        return list(cfg["by_model"])

    def ladder_panels(self) -> dict[str, tuple[str, str]]:
        """The by-model ids whose dataset and measure this run has: id → (dataset, measure)."""
        return {
            output_id: (dataset, measure)
            for output_id, (dataset, measure) in LADDER_PANELS.items()
            if self.ladder
            and dataset in self.grid_datasets()
            and measure in self.config["datasets"][dataset]["measures"]
        }

    def ladder_k(self, dataset: str) -> int:
        """Demonstrations of a by-model panel (StrategyQA: the paper's k = 4 CoT)."""
        if dataset == "strategyqa":
            return int(self.exp["ladder"]["strategyqa_k"])
        return int(self.exp["k"][dataset])

    def _ladder_arms(self, model: str, dataset: str, measure: str) -> dict[str, CellSpec]:
        """Unsup / Easy / Hard of one model on a by-model panel: the population grid's cells
        (same test items, same seeds) with the panel's k."""
        info = registry.dataset(dataset)
        arms = {"unsup": self._grid_cell(dataset, model, info.unsup, ANY_MEASURE, "unsup", 0)}
        for level in ("easy", "hard"):
            arms[level] = self._grid_cell(
                dataset, model, info.supervised, measure, level, self.ladder_k(dataset)
            )
        return arms

    def ladder_zero_shot(self) -> dict[str, dict[str, str]]:
        """tab-model-ladder: {model: {dataset: zero-shot predictions}} on the same items."""
        return {
            model: {
                dataset: self.path(
                    self._grid_cell(
                        dataset, model, registry.dataset(dataset).unsup, ANY_MEASURE, "unsup", 0
                    )
                )
                for dataset in self.grid_datasets()
            }
            for model in self.ladder
        }

    def _plan_ladder(self) -> None:
        for model in self.ladder:
            for dataset in self.grid_datasets():
                info = registry.dataset(dataset)
                self._add(self._grid_cell(dataset, model, info.unsup, ANY_MEASURE, "unsup", 0))
        for output_id, (dataset, measure) in self.ladder_panels().items():
            for model in self.ladder_models(output_id):
                for arm, spec in self._ladder_arms(model, dataset, measure).items():
                    # the by-model figures read the hard test level
                    self._add(spec, "" if arm == "unsup" else TEST_LEVEL)
        if self.transfer_config:
            icl = registry.dataset(TRANSFER_DATASET).supervised
            for model in self.ladder_models("fig-third-grade-to-college-by-model"):
                for source in SOURCES:
                    self._add(self.transfer_spec(icl, source, model))

    # --------------------------------------------------------- weak-to-strong

    @property
    def w2s_config(self) -> dict[str, Any]:
        return (self.exp or {}).get("weak_to_strong") or {}

    def w2s_measures(self, dataset: str) -> list[str]:
        """Measures with weak-to-strong panels (tab-sgr-vs-pgr) on a dataset."""
        return list((self.w2s_config.get("measures") or {}).get(dataset, []))

    def supervisor_cell(self, dataset: str, measure: str) -> CellSpec:
        """The weak supervisor's cell: its predictions are the students' weak labels."""
        sup = self.w2s_config["supervisor"]
        return self._grid_cell(dataset, sup["model"], sup["method"], measure, SUPERVISOR, sup["n"])

    def w2s_arms(self, dataset: str, measure: str, method: str, confidence: bool) -> dict:
        """The cells of one panel: arm → CellSpec (docs/methods.md#weak-to-strong).

        unsup, easy, hard (the ceiling) and the supervisor's cell (weak), and the students
        on weak labels of the hard items (w2s) and of the easy items (easy_weak); with
        ``confidence`` the two weak-label students use the auxiliary confidence loss."""
        w2s = self.w2s_config
        student, n = w2s["student"], int(w2s["methods"][method])
        info = registry.dataset(dataset)
        sup = w2s["supervisor"]
        labels = supervisor_labels(sup["model"], sup["method"], sup["n"])
        alpha = float(w2s["confidence"]["alpha_max"]) if confidence else 0.0
        cell = self._grid_cell
        return {
            "unsup": cell(dataset, student, info.unsup, ANY_MEASURE, "unsup", 0),
            "easy": cell(dataset, student, method, measure, "easy", n),
            "hard": cell(dataset, student, method, measure, "hard", n),
            "weak": self.supervisor_cell(dataset, measure),
            "w2s": replace(
                cell(dataset, student, method, measure, "hard", n), labels=labels, confidence=alpha
            ),
            "easy_weak": replace(
                cell(dataset, student, method, measure, "easy", n), labels=labels, confidence=alpha
            ),
        }

    def w2s_variants(self) -> list[tuple[str, bool]]:
        """(student method, with the confidence loss) of every row of tab-sgr-vs-pgr."""
        w2s = self.w2s_config
        conf = set((w2s.get("confidence") or {}).get("methods") or [])
        out = []
        order = ("icl", "probe", "lora_mc")  # the by-method figures' order, not the config's
        for method in sorted(w2s.get("methods") or {}, key=order.index):
            out.append((method, False))
            if method in conf:
                out.append((method, True))
        return out

    def _plan_weak_to_strong(self) -> None:
        for dataset in self.grid_datasets():
            for measure in self.w2s_measures(dataset):
                for method, confidence in self.w2s_variants():
                    arms = self.w2s_arms(dataset, measure, method, confidence)
                    for arm, spec in arms.items():
                        if spec.directory not in self._wide:  # only this experiment needs it
                            self.w2s_only.add(spec.directory)
                        # tab-sgr-vs-pgr reads the hard test level
                        self._add(spec, "" if arm == "unsup" else TEST_LEVEL)

    def w2s_panel_specs(self) -> list[dict[str, Any]]:
        """tab-sgr-vs-pgr, fig-sgr-vs-pgr: one row per (dataset, measure, method, loss)."""
        w2s, specs = self.w2s_config, []
        for dataset in self.grid_datasets():
            for measure in self.w2s_measures(dataset):
                for method, confidence in self.w2s_variants():
                    arms = self.w2s_arms(dataset, measure, method, confidence)
                    specs.append(
                        {
                            "dataset": dataset,
                            "measure": measure,
                            "method": method,
                            "method_label": registry.method(method).label
                            + (" + conf. loss" if confidence else ""),
                            "confidence": confidence,
                            "student": w2s["student"],
                            "supervisor": "{model} {label} (n = {n})".format(
                                label=registry.method(w2s["supervisor"]["method"]).label,
                                **w2s["supervisor"],
                            ),
                            "arms": {arm: self.path(spec) for arm, spec in arms.items()},
                        }
                    )
        return specs

    def ladder_panel_specs(self, output_id: str) -> list[dict[str, Any]]:
        """fig-scaling, fig-strategyqa-by-model: one panel per ladder model."""
        dataset, measure = self.ladder_panels()[output_id]
        specs = []
        for model in self.ladder_models(output_id):
            arms = self._ladder_arms(model, dataset, measure)
            spec = self._panel_spec(
                model, dataset, measure, arms={a: self.path(c) for a, c in arms.items()}
            )
            specs.append({**spec, "title": model})
        return specs

    # ------------------------------------------------------------------ cell jobs

    def _plan_groups(self) -> None:
        grouped = (self.config.get("execution") or {}).get("group_cells", True)
        for spec in self.cells.values():
            folder = spec.directory.removeprefix("results/cells/")
            if grouped:  # dataset/model/kind
                kind = registry.method(spec.method).kind
                folder = f"{spec.dataset}/{spec.model}/{kind}"
                if self._key(spec) in self.w2s_only:  # switching it on reruns no other job
                    folder += "-w2s"
            name = "cells_" + "".join(c if c.isalnum() else "_" for c in folder)
            self.groups.setdefault(folder, CellGroup(name, folder)).cells.append(spec)

    def group_inputs(self, group: CellGroup) -> dict[str, list[str]]:
        """The union of its cells' inputs (tables, model or hidden states)."""
        inputs: dict[str, list[str]] = {}
        for spec in group.cells:
            for key, paths in self.cell_inputs(spec).items():
                inputs.setdefault(key, [])
                inputs[key] += [p for p in paths if p not in inputs[key]]
        return inputs

    def group_params(self, group: CellGroup) -> dict[str, Any]:
        """Every cell's params (what can change its predictions), in the group's order."""
        return {"cells": [self.cell_params(spec) for spec in group.cells]}

    # ------------------------------------------------------------ representations

    def _plan_representations(self) -> None:
        for spec in self.cells.values():
            method = registry.method(spec.method)
            if method.kind != "probe" and not method.zero_shot:
                continue
            if method.zero_shot:  # its test items, on its own dataset
                datasets = [spec.dataset]
            elif spec.is_transfer:
                datasets = sorted({TRANSFER_DATASET, *(d for d in self._source_datasets(spec))})
            else:
                datasets = [spec.dataset]
            for dataset in datasets:
                rep = Representation(dataset, spec.model, spec.prompt)
                self.representations.setdefault(rep.directory, rep).cells.append(spec)

    @staticmethod
    def _source_datasets(spec: CellSpec) -> list[str]:
        return [SOURCES[spec.train][0]] if SOURCES[spec.train] else []

    def representation(self, directory: str) -> Representation:
        if directory not in self.representations:
            raise PlanError(
                f"{directory}: no configured probe or zero-shot cell reads this zero-shot "
                "pass; planned: "
                f"{', '.join(self.representations) or '(none)'}"
            )
        return self.representations[directory]

    # ------------------------------------------------------------------ queries

    def cell(self, directory: str) -> CellSpec:
        """The full spec of the cell in ``directory``; a clear error for unplanned cells."""
        directory = directory.rstrip("/")
        if directory not in self.cells:
            parsed = CellSpec.from_directory(directory)  # names a malformed path
            raise PlanError(
                f"{directory}: not a cell of this configuration ({parsed.dataset}, "
                f"{parsed.model}, {parsed.method}, {parsed.measure}, {parsed.train}, "
                f"n={parsed.n}); `python -m e2h.plan --cells CONFIG` lists the planned cells"
            )
        return self.cells[directory]

    def find(self, **fields: Any) -> list[CellSpec]:
        """Planned cells whose fields equal ``fields`` (at least one, else ``PlanError``);
        clean-label cells unless ``noise`` is given."""
        fields.setdefault("noise", 0.0)
        fields.setdefault("labels", "")
        fields.setdefault("confidence", 0.0)
        found = [
            s for s in self.cells.values() if all(getattr(s, k) == v for k, v in fields.items())
        ]
        if not found:
            raise PlanError(f"no planned cell matches {fields}")
        return found

    def one(self, **fields: Any) -> CellSpec:
        found = self.find(**fields)
        if len(found) != 1:
            raise PlanError(f"{len(found)} planned cells match {fields}: expected one")
        return found[0]

    def cell_inputs(self, spec: CellSpec) -> dict[str, Any]:
        """What a cell job reads: hardness tables, the converted model or hidden states."""
        datasets = (
            sorted({TRANSFER_DATASET, *self._source_datasets(spec)})
            if spec.is_transfer
            else [spec.dataset]
        )
        inputs: dict[str, Any] = {"tables": [self.hardness_table(d) for d in datasets]}
        if registry.method(spec.method).kind == "probe":
            train_ds = self._source_datasets(spec)[0] if spec.is_transfer else spec.dataset
            inputs["train_features"] = representation_files(train_ds, spec.model, spec.prompt)
            inputs["test_features"] = representation_files(spec.dataset, spec.model, spec.prompt)
        elif registry.method(spec.method).zero_shot:
            inputs["zero_shot"] = [zero_shot_file(spec.dataset, spec.model, spec.prompt)]
        else:
            inputs["model"] = self.model_input(spec.model)
        if spec.weak:
            inputs["weak_labels"] = [self.path(self.weak_supervisor_of(spec))]
        return inputs

    def used_models(self) -> list[str]:
        """Every registered model some job of this run loads (cells, ladder, MDL), sorted."""
        return sorted({s.model for s in self.cells.values()} | set(self.mdl_models))

    def model_input(self, model: str) -> list[str]:
        """The converted GGUF folder when the model comes from a bundled GGUF file."""
        entry = self.config["models"][model]
        if entry.get("gguf") and not entry.get("local_path"):
            return [f"results/models/{model}"]
        return []

    def model_params(self, model: str) -> dict[str, Any]:
        """The registry entry without the job-sizing fields (they do not change outputs)."""
        entry = self.config["models"][model]
        return {model: {k: v for k, v in entry.items() if k not in JOB_FIELDS}}

    def cell_params(self, spec: CellSpec) -> dict[str, Any]:
        """Everything that can change a cell's predictions, for the rule's params."""
        params: dict[str, Any] = {
            "spec": spec.as_dict(),
            "registry": self.model_params(spec.model),
        }
        kind = registry.method(spec.method).kind
        if kind == "probe":
            from e2h.config import schema_defaults

            probe = self.trained.get("probe") or schema_defaults("experiments", "trained", "probe")
            params["trained"] = dict(probe)
            params["registry"] = {}  # a probe reads features; the model is in their manifest
        elif kind == "lora":
            lora = {k: v for k, v in self.trained["lora"].items() if k != "checkpoint_every"}
            params["trained"] = {
                "lora": lora,
                "targets": list(self.config["models"][spec.model]["lora_targets"]),
            }
        if spec.weak:
            params["weak_labels"] = self.path(self.weak_supervisor_of(spec))
        if spec.confidence:
            params["trained"]["confidence"] = {"warmup": self.w2s_config["confidence"]["warmup"]}
        return params

    def weak_supervisor_of(self, spec: CellSpec) -> CellSpec:
        """The supervisor cell whose predictions a weak-label student trains on."""
        sup = self.supervisor_cell(spec.dataset, spec.measure)
        if supervisor_labels(sup.model, sup.method, sup.n) != spec.labels:
            raise PlanError(f"{spec.directory}: no configured supervisor gives {spec.labels}")
        return sup

    # ------------------------------------------------------------------ outputs

    def has(self, output_id: str) -> bool:
        return output_id in self.outputs

    def _human_tables(self) -> list[str]:
        return [self.hardness_table(d) for d in self.datasets]

    def _table_map(self) -> dict[str, str]:
        return {d: self.hardness_table(d) for d in self.datasets}

    # ------------------------------------------------------------- model-based hardness

    def mdl_measures(self, dataset: str) -> dict[str, Any]:
        """Configured model-based (MDL) measures of a dataset with their level rules."""
        info = registry.dataset(dataset)
        configured = self.config["datasets"][dataset]["measures"]
        return {m: r for m, r in configured.items() if info.model_based(m)}

    def human_measures(self, dataset: str) -> dict[str, Any]:
        """Configured measures read from the item table (annotate_human_hardness)."""
        mdl = self.mdl_measures(dataset)
        return {
            m: r for m, r in self.config["datasets"][dataset]["measures"].items() if m not in mdl
        }

    def mdl_variants(self, dataset: str) -> list[str]:
        """The MDL variants (decoding, learned, finetuned) a dataset's measures need."""
        info = registry.dataset(dataset)
        wanted = {info.measures[m].mdl["variant"] for m in self.mdl_measures(dataset)}
        return [v for v in registry.MDL_VARIANTS if v in wanted]

    def mdl_datasets(self) -> list[str]:
        return [d for d in self.datasets if self.mdl_measures(d)]

    @property
    def mdl_models(self) -> list[str]:
        return list((self.config.get("mdl") or {}).get("models") or [])

    def hardness_table(self, dataset: str) -> str:
        """The dataset's hardness table: human measures, plus the model-based ones when
        configured (then every reader waits for the MDL stage)."""
        if self.mdl_measures(dataset):
            return f"results/hardness/{dataset}/hardness.parquet"
        return human_table(dataset)

    def cutoff_files(self, dataset: str) -> list[str]:
        files = [f"results/hardness/{dataset}/cutoffs.csv"]
        if self.mdl_measures(dataset):
            files.append(f"results/hardness/{dataset}/mdl_cutoffs.csv")
        return files

    def mdl_prompt(self, dataset: str) -> str:
        """The prompt of the MDL zero-shot pass: the registry names a method (whose prompt,
        config overrides included, is used) or a prompt id."""
        named = registry.dataset(dataset).mdl_prompt or registry.dataset(dataset).unsup
        return self.prompt(dataset, named) if named in registry.methods() else named

    def _mdl_common(self, dataset: str) -> dict[str, Any]:
        mdl = self.config["mdl"]
        cap = mdl["probing_cap"].get(dataset)
        return {
            "prompt": self.mdl_prompt(dataset),
            "probing_cap": None if cap is None else int(cap),
            "dev": int(mdl["dev"]),
            "seed": int(self.config["seed"]),
        }

    def mdl_pass_params(self, dataset: str) -> dict[str, Any]:
        """What changes the zero-shot pass: its items (probing sample, the learned curve's
        streams, whose hidden states it also writes) and prompt."""
        info = registry.dataset(dataset)
        nll = any(info.measures[m].mdl["score"] == "nll" for m in self.mdl_measures(dataset))
        curves = {}
        if "learned" in self.mdl_variants(dataset):
            curves["learned"] = {
                k: v for k, v in self.config["mdl"]["learned"].items() if k != "lora"
            }
        return {**self._mdl_common(dataset), "nll": nll, "curves": curves}

    def mdl_pass_reuse(self, dataset: str, model: str, prompt: str) -> dict[str, str]:
        """The MDL pass whose items the grid's zero-shot pass of (dataset, model, prompt)
        copies: the same model scoring the same prompt's choices (not an NLL pass)."""
        if (
            model not in self.mdl_models
            or dataset not in self.mdl_datasets()
            or self.mdl_prompt(dataset) != prompt
            or self.mdl_pass_params(dataset)["nll"]
        ):
            return {}
        d = mdl_dir(dataset, model)
        return {
            "mdl_states": f"{d}/states/manifest.json",
            "mdl_predictions": f"{d}/zero_shot.parquet",
        }

    def mdl_curve_params(self, dataset: str, variant: str) -> dict[str, Any]:
        curve = {k: v for k, v in self.config["mdl"][variant].items() if k != "lora"}
        return {**self._mdl_common(dataset), "curves": {variant: curve}}

    def mdl_method_params(self, model: str, variant: str) -> dict[str, Any]:
        """The probe's or LoRA's settings (experiments.trained, else the schema defaults)."""
        from e2h.config import schema_defaults

        trained = self.trained or {}
        if variant == "learned":
            return dict(trained.get("probe") or schema_defaults("experiments", "trained", "probe"))
        lora = dict(trained.get("lora") or schema_defaults("experiments", "trained", "lora"))
        lora |= self.config["mdl"]["finetuned"]["lora"]  # the curve's own overrides
        lora.pop("checkpoint_every", None)
        return {"lora": lora, "targets": list(self.config["models"][model]["lora_targets"])}

    def mdl_score_files(self, dataset: str) -> list[str]:
        """Every (hardness model, variant) score file the dataset's average needs."""
        return [
            f"{mdl_dir(dataset, m)}/{v}.parquet"
            for m in self.mdl_models
            for v in self.mdl_variants(dataset)
        ]

    def mdl_online_files(self) -> list[str]:
        return [
            f"{mdl_dir(d, m)}/{v}_online.csv"
            for d in self.mdl_datasets()
            for m in self.mdl_models
            for v in self.mdl_variants(d)
            if v != "decoding"
        ]

    def _measures_map(self) -> dict[str, list[str]]:
        return {d: list(self.config["datasets"][d]["measures"]) for d in self.datasets}

    def correlation_measures(self, dataset: str) -> list[str]:
        """Configured measures of a dataset's correlation panel (needs two to correlate)."""
        configured = self.config["datasets"][dataset]["measures"]
        return [m for m in registry.dataset(dataset).correlation_order if m in configured]

    def _figure_params(self) -> dict[str, Any]:
        figs = self.config["figures"]
        return {"error_bars": figs["error_bars"], "dpi": figs["dpi"]}

    def _panel_title(self, model: str, dataset: str, measure: str) -> str:
        title = registry.panel_title(dataset, measure)
        title = f"{model}: {title}" if len(self.models) > 1 else title
        if registry.dataset(dataset).model_based(measure) and model in self.mdl_models:
            # its hard items are those this very model finds hard zero-shot: the Unsupervised
            # arm is near 0 by construction (docs/hardness.md#mdl-default)
            title += "\n(MDL from this model itself)"
        return title

    def _panel_spec(self, model: str, dataset: str, measure: str, **fields: Any) -> dict[str, Any]:
        """One panel of a figure or table: its model, dataset, measure and title, and what
        it shows (arms, methods, a cell path)."""
        return {
            "model": model,
            "dataset": dataset,
            "measure": measure,
            "title": self._panel_title(model, dataset, measure),
            **fields,
        }

    def _title(self, text: str) -> str:
        """A figure title naming every model it shows."""
        return f"{text} ({', '.join(self.models)})"

    def panel_specs(self, secondary: bool = False) -> list[dict[str, Any]]:
        """fig-e2h-*, tab-sgr*: one panel per (model, dataset, measure), arms by train source
        (``secondary``: the measures and arms of fig-e2h-extra-measures)."""
        specs = []
        levels = SECONDARY_LEVELS if secondary else self.exp["train_levels"]
        for model in self.models:
            for dataset in self.grid_datasets():
                info = registry.dataset(dataset)
                unsup = self.one(dataset=dataset, model=model, measure=ANY_MEASURE, train="unsup")
                chosen = (
                    self.secondary_measures(dataset) if secondary else self.exp["measures"][dataset]
                )
                for measure in chosen:
                    arms = {"unsup": self.path(unsup)}
                    for level in self._levels(dataset, measure, levels):
                        arms[level] = self.path(
                            self.one(
                                dataset=dataset,
                                model=model,
                                method=info.supervised,
                                measure=measure,
                                train=level,
                                # the grid's k, not the ladder's (StrategyQA k = 4)
                                n=int(self.exp["k"][dataset]),
                                resamples=int(self.exp["resamples"]),
                            )
                        )
                    specs.append(self._panel_spec(model, dataset, measure, arms=arms))
        return specs

    def all_train_specs(self, secondary: bool = False) -> list[dict[str, Any]]:
        """fig-acc-vs-test-hardness(-extra): the train = All cell of ICL*, one panel per
        measure (``secondary``: the secondary measures)."""
        specs = []
        for model in self.models:
            for dataset in self.grid_datasets():
                spec = self.one(
                    dataset=dataset,
                    model=model,
                    method=registry.dataset(dataset).supervised,
                    train="all",
                )
                chosen = (
                    self.secondary_measures(dataset) if secondary else self.exp["measures"][dataset]
                )
                for measure in chosen:
                    specs.append(self._panel_spec(model, dataset, measure, path=self.path(spec)))
        return specs

    def method_panel_specs(self, extra: bool = False) -> list[dict[str, Any]]:
        """fig-sgr-by-method(-extra): per (model, dataset, measure), {method label: {arm:
        path}}; the Unsupervised arm of every method is the zero-shot cell."""
        specs = []
        for model in self.models:
            for dataset in self.grid_datasets():
                info = registry.dataset(dataset)
                chosen = self.extra_measures(dataset) if extra else self.exp["measures"][dataset]
                unsup = self.path(
                    self.one(dataset=dataset, model=model, measure=ANY_MEASURE, train="unsup")
                )
                for measure in chosen:
                    methods = {}
                    for method in [info.supervised, *self.sgr_methods(dataset)]:
                        arms = {"unsup": unsup}
                        for level in ("easy", "hard"):
                            arms[level] = self.path(
                                self.one(
                                    dataset=dataset,
                                    model=model,
                                    method=method,
                                    measure=measure,
                                    train=level,
                                    # the grid's cell, not a learning curve's
                                    n=self.n(method)
                                    if registry.method(method).trained
                                    else int(self.exp["k"][dataset]),
                                    resamples=int(self.exp["resamples"]),
                                )
                            )
                        methods[registry.method(method).label] = arms
                    specs.append(self._panel_spec(model, dataset, measure, methods=methods))
        return specs

    def all_to_all_rows(self) -> list[dict[str, Any]]:
        """tab-all-to-all (Table 4): one row per (model, dataset, method) with train = All."""
        rows = []
        for model in self.models:
            for dataset in self.grid_datasets():
                for method in self.all_to_all_methods(dataset):
                    spec = self.one(dataset=dataset, model=model, method=method, train="all")
                    info = registry.method(method)
                    cot = "TRUE" if info.cot else "FALSE"
                    rows.append(
                        {
                            "model": model,
                            "dataset": dataset,
                            "method": method,
                            "label": f"{info.label} CoT={cot} n={spec.n}",
                            "path": self.path(spec),
                        }
                    )
        return rows

    def transfer_method_cells(self) -> dict[str, dict[str, str]]:
        """fig-third-grade-to-college-by-method: {method label: {source: path}}."""
        return {registry.method(m).label: self.transfer_cells(m) for m in self.transfer_methods()}

    def _add_output(self, output_id: str, inputs: dict[str, Any], params: dict[str, Any]):
        self.outputs[output_id] = Output(OUTPUTS[output_id], inputs, params)

    def _plan_outputs(self) -> None:
        cfg, stats = self.config, self.config["statistics"]
        seed = int(cfg["seed"])
        datasets, measures = self.datasets, self._measures_map()
        tables, table_map = self._human_tables(), self._table_map()
        fig = self._figure_params()
        self._add_output(
            "tab-datasets",
            {"tables": tables, "paper": str(PAPER_NUMBERS)},
            {"datasets": datasets, "measures": measures},
        )
        self._add_output(
            "tab-cutoffs",
            {"tables": tables, "cutoffs": [f for d in datasets for f in self.cutoff_files(d)]},
            {"datasets": datasets},
        )
        if self.mdl_online_files():
            self._add_output("tab-mdl-online", {"online": self.mdl_online_files()}, {})
        self._add_output(
            "fig-hardness-histograms",
            {"tables": tables},
            {"datasets": datasets, "measures": measures, "dpi": fig["dpi"]},
        )
        correlated = [d for d in datasets if len(self.correlation_measures(d)) > 1]
        if correlated:
            # the paper's Figure 2: ARC only, the zero-shot MDL as "MDL" (its other variants
            # and the other datasets are in -all)
            main = "arc" if "arc" in correlated else correlated[0]
            main_measures = [
                m
                for m in self.correlation_measures(main)
                if not registry.dataset(main).model_based(m)
                or registry.dataset(main).measures[m].mdl["variant"] == "decoding"
            ]
            for output_id, chosen in [
                ("fig-hardness-correlations", {main: main_measures}),
                (
                    "fig-hardness-correlations-all",
                    {d: self.correlation_measures(d) for d in correlated},
                ),
            ]:
                self._add_output(
                    output_id,
                    {
                        "tables": [self.hardness_table(d) for d in chosen],
                        "paper": str(PAPER_NUMBERS),
                    },
                    {
                        "datasets": list(chosen),
                        "measures": chosen,
                        "labels": {"mdl_decoding": "MDL"}
                        if output_id == "fig-hardness-correlations"
                        else {},
                        "tolerance": cfg["figures"]["correlation_tolerance"],
                        "dpi": fig["dpi"],
                    },
                )
        if not self.exp:
            return
        panels = self.panel_specs()
        panel_cells = sorted({p for s in panels for p in s["arms"].values()})
        boot = {"draws": stats["bootstrap_draws"], "seed": seed}
        sgr_boot = {"draws": stats["sgr_bootstrap_draws"], "seed": seed}
        for output_id, level, title in [
            ("fig-e2h-main", "hard", "Hard Test Accuracy vs. Train Data Source"),
            ("fig-e2h-all-test", "all", "All Test Accuracy vs. Train Data Source"),
        ]:
            self._add_output(
                output_id,
                {"cells": panel_cells, "tables": tables},
                {
                    "panels": panels,
                    "tables": table_map,
                    "level": level,
                    "title": self._title(title),
                    **boot,
                    **fig,
                },
            )
        secondary = self.panel_specs(secondary=True)
        if secondary:
            self._add_output(
                "fig-e2h-extra-measures",
                {
                    "cells": sorted({p for s in secondary for p in s["arms"].values()}),
                    "tables": tables,
                },
                {
                    "panels": secondary,
                    "tables": table_map,
                    "level": "hard",
                    "title": self._title(
                        "Hard Test Accuracy vs. Train Data Source (Secondary Measures)"
                    ),
                    "ncols": 4,
                    **boot,
                    **fig,
                },
            )
        if secondary and self.exp["all_to_all"]:  # the train = All cells exist
            extra_train = self.all_train_specs(secondary=True)
            self._add_output(
                "fig-acc-vs-test-hardness-extra",
                {"cells": sorted({s["path"] for s in extra_train}), "tables": tables},
                {
                    "panels": extra_train,
                    "tables": table_map,
                    "title": self._title(
                        "Model Accuracy vs. Test Data Hardness (Secondary Measures)"
                    ),
                    "dpi": fig["dpi"],
                },
            )
        # RQ4's train-test gap: the grid's easy / medium / hard arms of measures with a medium
        gap = [s for s in panels if {"easy", "medium", "hard"} <= set(s["arms"])]
        if gap:
            self._add_output(
                "fig-train-test-gap",
                {"cells": sorted({p for s in gap for p in s["arms"].values()}), "tables": tables},
                {
                    "panels": gap,
                    "tables": table_map,
                    "title": self._title(
                        "Hard Test Performance As a Function of Train Data Hardness"
                    ),
                    **boot,
                    **fig,
                },
            )
        if self.exp["all_to_all"]:  # the train = All cells exist
            all_train = self.all_train_specs()
            self._add_output(
                "fig-acc-vs-test-hardness",
                {"cells": sorted({s["path"] for s in all_train}), "tables": tables},
                {
                    "panels": all_train,
                    "tables": table_map,
                    "title": self._title("Model Accuracy vs. Test Data Hardness"),
                    "dpi": fig["dpi"],
                },
            )
        for output_id in ("tab-sgr", "tab-sgr-pairwise"):
            self._add_output(
                output_id,
                {"cells": panel_cells, "tables": tables},
                {"panels": panels, "tables": table_map, **sgr_boot},
            )
        self._add_output(
            "tab-sgr-vs-paper",
            {"ours": "results/tables/tab-sgr.csv", "paper": str(PAPER_NUMBERS)},
            {},
        )
        curves = self.curve_specs()
        if curves:
            cost = dict(self.curve_config["cost"])
            for output_id, chosen in [
                ("fig-cost-curves", curves),
                ("fig-cost-curves-mmlu", [c for c in curves if c["dataset"] == "mmlu"]),
            ]:
                if not chosen:
                    continue
                paths = sorted({p for c in chosen for a in c["arms"].values() for p in a.values()})
                self._add_output(
                    output_id,
                    {"cells": paths, "tables": tables},
                    {
                        "panels": chosen,
                        "tables": table_map,
                        "cost": cost,
                        "title": self._title("Hard Data 2x Costlier to Label"),
                        **boot,
                        **fig,
                    },
                )
        noisy = self.noise_specs()
        if noisy:
            self._add_output(
                "fig-noisy-labels",
                {
                    "cells": sorted(
                        {p for s in noisy for a in s["arms"].values() for p in a.values()}
                    ),
                    "tables": tables,
                },
                {
                    "panels": noisy,
                    "tables": table_map,
                    "title": self._title(
                        "What If Hard Data Is "
                        f"{self.noise_config['hard_factor']:g}x as Noisy as Easy Data?"
                    ),
                    **boot,
                    **fig,
                },
            )
        if self.transfer_config:
            cells = self.transfer_cells(registry.dataset(TRANSFER_DATASET).supervised)
            self._add_output(
                "fig-third-grade-to-college",
                {"cells": list(cells.values())},
                {"cells": cells, "model": self.transfer_config["model"], **boot, **fig},
            )
        if self.trained_methods:
            method_panels = self.method_panel_specs()
            method_cells = sorted(
                {p for s in method_panels for arms in s["methods"].values() for p in arms.values()}
            )
            title = "Supervision Gap Recovered By Training Method"
            self._add_output(
                "fig-sgr-by-method",
                {"cells": method_cells, "tables": tables},
                {
                    "panels": method_panels,
                    "tables": table_map,
                    "title": self._title(title),
                    "left_out": self.sgr_methods_left_out(
                        list(dict.fromkeys(s["dataset"] for s in method_panels))
                    ),
                    **boot,
                    **fig,
                },
            )
            self._add_output(
                "tab-sgr-by-method",
                {"cells": method_cells, "tables": tables},
                {"panels": method_panels, "tables": table_map, **sgr_boot},
            )
            if any(self.extra_measures(d) for d in self.grid_datasets()):
                extra = self.method_panel_specs(extra=True)
                self._add_output(
                    "fig-sgr-by-method-extra",
                    {
                        "cells": sorted(
                            {p for s in extra for a in s["methods"].values() for p in a.values()}
                        ),
                        "tables": tables,
                    },
                    {
                        "panels": extra,
                        "tables": table_map,
                        "title": self._title(f"{title} (Secondary Measures)"),
                        "left_out": self.sgr_methods_left_out(
                            list(dict.fromkeys(s["dataset"] for s in extra))
                        ),
                        **boot,
                        **fig,
                    },
                )
            if self.exp["all_to_all"]:
                rows = self.all_to_all_rows()
                self._add_output(
                    "tab-all-to-all", {"cells": [r["path"] for r in rows]}, {"rows": rows, **boot}
                )
            if self.transfer_config and len(self.transfer_methods()) > 1:
                by_method = self.transfer_method_cells()
                self._add_output(
                    "fig-third-grade-to-college-by-method",
                    {"cells": sorted({p for c in by_method.values() for p in c.values()})},
                    {
                        "cells": by_method,
                        "model": self.transfer_config["model"],
                        "left_out": self.transfer_methods_left_out(),
                        **boot,
                        **fig,
                    },
                )

        if self.ladder:
            self._plan_ladder_outputs(tables, table_map, boot, fig)
        w2s = self.w2s_panel_specs() if self.exp else []
        if w2s:
            cells = sorted({p for s in w2s for p in s["arms"].values()})
            used = {d: table_map[d] for d in dict.fromkeys(s["dataset"] for s in w2s)}
            params = {"panels": w2s, "tables": used, **sgr_boot}
            inputs = {"cells": cells, "tables": list(used.values())}
            self._add_output("tab-sgr-vs-pgr", inputs, params)
            self._add_output("fig-sgr-vs-pgr", inputs, {**params, **fig})

    def _plan_ladder_outputs(
        self, tables: list[str], table_map: dict[str, str], boot: dict, fig: dict
    ) -> None:
        """RQ4 across models: the strength table, then the by-model figures ordered by it."""
        zero_shot = self.ladder_zero_shot()
        ladder_csv = "results/tables/tab-model-ladder.csv"
        self._add_output(
            "tab-model-ladder",
            {"cells": sorted({p for d in zero_shot.values() for p in d.values()})},
            {"cells": zero_shot, **boot},
        )
        titles = {
            "fig-scaling": "Easy-to-Hard Generalization Across Model Sizes",
            "fig-strategyqa-by-model": "StrategyQA Hard Test Accuracy Across Models "
            f"(ICL-CoT, k = {self.exp['ladder']['strategyqa_k']})",
        }
        for output_id in self.ladder_panels():
            panels = self.ladder_panel_specs(output_id)
            self._add_output(
                output_id,
                {
                    "cells": sorted({p for s in panels for p in s["arms"].values()}),
                    "tables": tables,
                    "ladder": ladder_csv,
                },
                {"panels": panels, "tables": table_map, "title": titles[output_id], **boot, **fig},
            )
        if self.transfer_config:
            icl = registry.dataset(TRANSFER_DATASET).supervised
            by_model = {
                m: self.transfer_cells(icl, m)
                for m in self.ladder_models("fig-third-grade-to-college-by-model")
            }
            self._add_output(
                "fig-third-grade-to-college-by-model",
                {
                    "cells": sorted({p for c in by_model.values() for p in c.values()}),
                    "ladder": ladder_csv,
                },
                {"cells": by_model, **boot, **fig},
            )

    def figure_ids(self) -> list[str]:
        return [i for i, o in self.outputs.items() if o.kind.kind == "figure"]

    def table_ids(self) -> list[str]:
        return [i for i, o in self.outputs.items() if o.kind.kind == "table"]

    def target_files(self) -> list[str]:
        formats = self.config["figures"]["formats"]
        out = []
        for o in self.outputs.values():
            for value in o.files(formats).values():
                out += value if isinstance(value, list) else [value]
        return out

    def id_table(self) -> list[dict[str, str]]:
        """The id table of this run: id, rule, script, module and input count."""
        rows = []
        for o in self.outputs.values():
            n_cells = len(o.inputs.get("cells", []))
            rows.append(
                {
                    "id": o.id,
                    "kind": o.kind.kind,
                    "rule": o.kind.rule,
                    "script": str(Path(o.kind.script).relative_to(ROOT)),
                    "module": o.kind.module,
                    "cells": str(n_cells),
                }
            )
        return rows


def load_plan(config_path: str | Path) -> Plan:
    """The plan of a config file (validated, defaults filled)."""
    from e2h.config import validated

    return Plan(validated(yaml.safe_load(Path(config_path).read_text())))


def main(argv: list[str] | None = None) -> None:
    """Print the id table (or every cell) of a config."""
    ap = argparse.ArgumentParser(description="The targets of a configuration.")
    ap.add_argument("config", nargs="?", default=str(ROOT / "config.yaml"))
    ap.add_argument("--cells", action="store_true", help="list every planned cell folder")
    args = ap.parse_args(argv)
    plan = load_plan(args.config)
    if args.cells:
        for directory in plan.cells:
            print(directory)
        return
    rows = plan.id_table()
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(r[c].ljust(widths[c]) for c in cols))
    print(f"{len(plan.cells)} cells, {len(plan.representations)} representations", file=sys.stderr)


if __name__ == "__main__":
    main()
