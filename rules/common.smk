# Config validation (before any job), wildcard constraints, paths and parameter helpers.
import copy
from pathlib import Path

from snakemake.utils import validate

from e2h.config import check_config
from e2h.data.sources import BUNDLED_FILES

ROOT = Path(workflow.basedir)
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"

check_config(config, SCHEMA)  # readable errors naming the key and the allowed values
validate(config, schema=str(SCHEMA))  # fills schema defaults

DATASETS = list(config["datasets"])
PAPER_NUMBERS = str(ROOT / "workflow" / "resources" / "paper_numbers.yaml")
FIG_FORMATS = config["figures"]["formats"]


wildcard_constraints:
    dataset="|".join(DATASETS),


def snapshot_dir():
    """The bundled snapshot folder; relative paths resolve against the workflow folder."""
    path = Path(config["data"]["snapshot_dir"])
    return path if path.is_absolute() else ROOT / path


def data_params(wildcards):
    """Only this dataset's data settings, so editing one dataset reruns only its jobs."""
    data = config["data"]
    params = {"source": data["source"], "snapshot_dir": str(snapshot_dir())}
    if data["source"] == "hub":
        params["hub"] = {
            wildcards.dataset: copy.deepcopy(data["hub"][wildcards.dataset])
        }
    if wildcards.dataset == "gsm8k":
        params["gsm8k_keep_calculator_annotations"] = data[
            "gsm8k_keep_calculator_annotations"
        ]
    return params


def snapshot_inputs(wildcards):
    """The bundled files a dataset reads (ARC annotations are read in both modes)."""
    if config["data"]["source"] == "hub":
        names = ["arc_annotations.json.gz"] if wildcards.dataset == "arc" else []
    else:
        names = BUNDLED_FILES[wildcards.dataset]
    return [str(snapshot_dir() / name) for name in names]


def measures(dataset):
    return config["datasets"][dataset]["measures"]


def figure_outputs(fig_id):
    return [f"figures/{fig_id}.{fmt}" for fmt in FIG_FORMATS]


def report_figure(fig_id, category):
    """The first format goes into the HTML report; all formats are outputs."""
    files = figure_outputs(fig_id)
    first = report(
        files[0],
        caption=f"../workflow/report/{fig_id}.rst",
        category=category,
        labels={"figure": fig_id},
    )
    return [first, *files[1:]]


def human_tables():
    return expand("results/hardness/{dataset}/human.parquet", dataset=DATASETS)


FIGURE_IDS = ["fig-hardness-histograms", "fig-hardness-correlations"]
TABLE_IDS = ["tab-datasets", "tab-cutoffs"]
FIGURE_FILES = [f for fig in FIGURE_IDS for f in figure_outputs(fig)] + [
    f"results/figure_data/{fig}.csv" for fig in FIGURE_IDS
]
TABLE_FILES = [
    f"results/tables/{tab}.{ext}" for tab in TABLE_IDS for ext in ("csv", "tex")
]


# ---------------------------------------------------------------- models and cells
from e2h import grid as e2h_grid
from e2h.transfer import SOURCES as TRANSFER_SOURCES

MODELS = config.get("models") or {}
if MODELS:  # every registry entry is checked at parse time, before any job starts
    from e2h.jobs import model_only
    from e2h.models import validate_registry

    validate_registry(model_only(MODELS))
EXPERIMENTS = config.get("experiments")
CELL_PATH = e2h_grid.CELL_PATH
TRANSFER_PATH = e2h_grid.TRANSFER_PATH
CONDITIONS = e2h_grid.conditions(config) if EXPERIMENTS else None
TRAINED_METHODS = list(((EXPERIMENTS or {}).get("trained") or {}).get("methods", []))


wildcard_constraints:
    model="|".join(MODELS) or "none",
    method="zs|zs_cot|icl|icl_cot|probe|lora_mc|lora_cot",
    prompt=r"\d{4}",
    measure=r"[a-z0-9_]+",
    train="unsup|easy|medium|hard|all",
    n=r"\d+",
    k=r"\d+",
    resamples=r"\d+",
    cap=r"\d+|all",
    seed=r"\d+",
    source="|".join(TRANSFER_SOURCES),


def model_input(wildcards):
    """The converted GGUF folder when the model comes from a bundled GGUF file."""
    entry = MODELS[wildcards.model]
    if entry.get("gguf") and not entry.get("local_path"):
        return f"results/models/{wildcards.model}"
    return []


def model_registry(wildcards):
    return {wildcards.model: MODELS[wildcards.model]}


def model_mem_mb(wildcards, attempt):
    return int(MODELS[wildcards.model].get("mem_mb", 8000)) * attempt


def model_runtime(wildcards):
    return MODELS[wildcards.model].get("runtime", 60)


def model_gpus(wildcards):
    return int(MODELS[wildcards.model].get("gpus", 0))


def _cap_value(token):
    return None if token == "all" else int(token)


def cell_spec(wildcards):
    """The resolved cell settings (every factor in the path, plus derived ones)."""
    dataset = wildcards.dataset
    spec = {
        "dataset": dataset,
        "model": wildcards.model,
        "method": wildcards.method,
        "prompt": wildcards.prompt,
        "measure": wildcards.measure,
        "train": wildcards.train,
        "n": int(wildcards.n),
        "resamples": int(wildcards.resamples),
        "cap": _cap_value(wildcards.cap),
        "seed": int(wildcards.seed),
        "reserve": e2h_grid.reserve(config, dataset),
        "cap_measures": e2h_grid.cap_measures(config, dataset),
    }
    if wildcards.method.endswith("_cot"):
        spec["max_new_tokens"] = int(EXPERIMENTS["max_new_tokens"][dataset])
    return spec


def transfer_spec(wildcards):
    return {
        "model": wildcards.model,
        "method": wildcards.method,
        "prompt": wildcards.prompt,
        "source": wildcards.source,
        "k": int(wildcards.k),
        "resamples": int(wildcards.resamples),
        "cap": _cap_value(wildcards.cap),
        "seed": int(wildcards.seed),
    }


def trained_settings(wildcards):
    """Hyperparameters of a trained cell (probe or LoRA), plus the model's LoRA targets."""
    trained = EXPERIMENTS.get("trained") or {}
    if wildcards.method == "probe":
        return dict(trained.get("probe") or {})
    lora = dict(trained.get("lora") or {})
    return {
        "lora": lora,
        "targets": list(MODELS[wildcards.model].get("lora_targets") or []),
    }


def representation_dir(dataset, model, prompt):
    return f"results/representations/{dataset}/{model}/p{prompt}"


def representation_files(dataset, model, prompt):
    d = representation_dir(dataset, model, prompt)
    return [f"{d}/manifest.json", f"{d}/features.npy", f"{d}/choice_mask.npy"]


def trained_cell_inputs(wildcards):
    """A probe reads cached hidden states (training and test features of the same dataset);
    LoRA reads the model."""
    if wildcards.method == "probe":
        files = representation_files(
            wildcards.dataset, wildcards.model, wildcards.prompt
        )
        return {"train_features": files, "test_features": files}
    return {"model": model_input(wildcards)}


def transfer_trained_inputs(wildcards):
    """Transfer probes train on the source dataset's features, test on MMLU's."""
    if wildcards.method == "probe":
        source = TRANSFER_SOURCES[wildcards.source][0]
        return {
            "train_features": representation_files(
                source, wildcards.model, wildcards.prompt
            ),
            "test_features": representation_files(
                "mmlu", wildcards.model, wildcards.prompt
            ),
        }
    return {"model": model_input(wildcards)}


def _spec_of_row(row):
    spec = {
        "dataset": row["dataset"],
        "model": row["model"],
        "method": row["method"],
        "prompt": row["prompt"],
        "measure": row["measure"],
        "train": row["train"],
        "n": int(row["n"]),
        "resamples": int(row["resamples"]),
        "cap": _cap_value(str(row["cap"])),
        "seed": int(row["seed"]),
        "reserve": e2h_grid.reserve(config, row["dataset"]),
        "cap_measures": e2h_grid.cap_measures(config, row["dataset"]),
    }
    return spec


def representation_cells(wildcards):
    """Every probe cell (grid and transfer) reading one representation: its items are
    the union of their training and test items (the whole probing set when uncapped)."""
    frame = CONDITIONS[
        (CONDITIONS["method"] == "probe")
        & (CONDITIONS["dataset"] == wildcards.dataset)
        & (CONDITIONS["model"] == wildcards.model)
        & (CONDITIONS["prompt"] == wildcards.prompt)
    ]
    grid_specs = [_spec_of_row(r) for r in frame.to_dict("records")]
    transfer_specs = []
    if wildcards.dataset in ("arc", "mmlu"):
        transfer_specs = [
            transfer_spec_of(method, source)
            for method, source in transfer_conditions()
            if method == "probe"
        ]
        transfer_specs = [
            t
            for t in transfer_specs
            if t["model"] == wildcards.model and t["prompt"] == wildcards.prompt
        ]
    return {"grid": grid_specs, "transfer": transfer_specs}


def representation_tables(wildcards):
    """The hardness table(s) the item list needs: transfer probes draw from ARC and MMLU."""
    tables = {wildcards.dataset: f"results/hardness/{wildcards.dataset}/human.parquet"}
    if representation_cells(wildcards)["transfer"]:
        tables.update(
            {d: f"results/hardness/{d}/human.parquet" for d in ("arc", "mmlu")}
        )
    return tables


def cells(**fields):
    """Prediction paths of the grid's conditions whose fields equal ``fields``."""
    frame = CONDITIONS
    for key, value in fields.items():
        frame = frame[frame[key].astype(str) == str(value)]
    if frame.empty:
        raise ValueError(f"no configured condition matches {fields}")
    return e2h_grid.cell_paths(frame)


def transfer_methods():
    tgc = EXPERIMENTS.get("third_grade_to_college") or {}
    wanted = tgc.get("methods", ["icl"])
    trained = set((EXPERIMENTS.get("trained") or {}).get("methods", []))
    return [m for m in wanted if m == "icl" or m in trained]


def transfer_conditions():
    """(method, source) pairs of the 3rd grade -> college experiment."""
    return [
        (m, s)
        for m in transfer_methods()
        for s in TRANSFER_SOURCES
        if not (s == "unsup" and m != "icl")
    ]


def transfer_spec_of(method, source):
    tgc = EXPERIMENTS["third_grade_to_college"]
    trained = EXPERIMENTS.get("trained") or {}
    if source == "unsup":
        method, k = "zs", 0
    elif method == "icl":
        k = tgc["k"]
    else:
        k = int(trained["n"])
    return {
        "model": tgc["model"],
        "method": method,
        "prompt": "0040",
        "source": source,
        "k": k,
        "resamples": tgc["resamples"],
        "cap": tgc.get("test_cap"),
        "seed": config["seed"],
    }


def transfer_path(method, source):
    spec = transfer_spec_of(method, source)
    cap = "all" if spec["cap"] is None else spec["cap"]
    return e2h_grid.TRANSFER_PREDICTIONS.format(**{**spec, "cap": cap})


def transfer_cells(method="icl"):
    """{source: predictions path} of one method; unsup is the zero-shot cell."""
    return {
        source: transfer_path(method if source != "unsup" else "icl", source)
        for source in TRANSFER_SOURCES
    }


def transfer_method_cells():
    """fig-third-grade-to-college-by-method: {method label: {source: path}}."""
    return {METHOD_LABELS[m]: transfer_cells(m) for m in transfer_methods()}


def transfer_method_inputs():
    return sorted({p for c in transfer_method_cells().values() for p in c.values()})


METHOD_LABELS = {
    "icl": "ICL",
    "icl_cot": "ICL",
    "probe": "Linear Probe",
    "lora_mc": "LoRA",
    "lora_cot": "LoRA",
}


def panel_specs():
    """One panel per (dataset, measure) of the population grid, arms by train source."""
    specs = []
    for dataset, measure_list in EXPERIMENTS["measures"].items():
        if dataset not in DATASETS:
            continue
        model = EXPERIMENTS["models"][0]
        unsup = cells(dataset=dataset, model=model, train="unsup")[0]
        for measure in measure_list:
            arms = {"unsup": unsup}
            for level in EXPERIMENTS["train_levels"]:
                if level == "medium" and measure in e2h_grid.BINARY_MEASURES:
                    continue
                arms[level] = cells(
                    dataset=dataset,
                    model=model,
                    method=e2h_grid.ICL_METHOD[dataset],
                    measure=measure,
                    train=level,
                )[0]
            specs.append({"dataset": dataset, "measure": measure, "arms": arms})
    return specs


def panel_inputs():
    return sorted({p for spec in panel_specs() for p in spec["arms"].values()})


def all_train_specs():
    """fig-acc-vs-test-hardness: train = All cells, one panel per (dataset, measure)."""
    specs = []
    model = EXPERIMENTS["models"][0]
    for dataset, measure_list in EXPERIMENTS["measures"].items():
        if dataset not in DATASETS:
            continue
        path = cells(
            dataset=dataset,
            model=model,
            method=e2h_grid.ICL_METHOD[dataset],
            train="all",
        )[0]
        for measure in measure_list:
            specs.append({"dataset": dataset, "measure": measure, "path": path})
    return specs


def method_panel_specs(extra=False):
    """fig-sgr-by-method panels: per (dataset, measure), {method label: {arm: path}};
    the Unsupervised arm of every method is the zero-shot cell (figures.md §4)."""
    specs = []
    model = EXPERIMENTS["models"][0]
    trained_levels = (EXPERIMENTS.get("trained") or {}).get(
        "train_levels", ["easy", "hard"]
    )
    for dataset, measure_list in EXPERIMENTS["measures"].items():
        if dataset not in DATASETS:
            continue
        chosen = e2h_grid.extra_measures(config, dataset) if extra else measure_list
        unsup = cells(dataset=dataset, model=model, train="unsup")[0]
        for measure in chosen:
            methods = {}
            for method in [e2h_grid.ICL_METHOD[dataset]] + [
                m
                for m in e2h_grid.trained_methods(config, dataset, e2h_grid.SGR_TRAINED)
                if m in e2h_grid.TRAINED_METHODS
            ]:
                arms = {"unsup": unsup}
                for level in ("easy", "hard"):
                    if level not in trained_levels:
                        raise ValueError(
                            f"experiments.trained.train_levels must include {level!r}"
                        )
                    arms[level] = cells(
                        dataset=dataset,
                        model=model,
                        method=method,
                        measure=measure,
                        train=level,
                    )[0]
                methods[METHOD_LABELS[method]] = arms
            specs.append({"dataset": dataset, "measure": measure, "methods": methods})
    return specs


def method_panel_inputs(extra=False):
    return sorted(
        {
            p
            for spec in method_panel_specs(extra)
            for arms in spec["methods"].values()
            for p in arms.values()
        }
    )


def all_to_all_rows():
    """tab-all-to-all (Table 4): one row per (dataset, method) with train = All."""
    rows = []
    model = EXPERIMENTS["models"][0]
    for dataset in EXPERIMENTS["measures"]:
        if dataset not in DATASETS:
            continue
        for method in e2h_grid.trained_methods(config, dataset, e2h_grid.ALL_TO_ALL):
            frame = CONDITIONS[
                (CONDITIONS["dataset"] == dataset)
                & (CONDITIONS["model"] == model)
                & (CONDITIONS["method"] == method)
                & (CONDITIONS["train"] == "all")
            ]
            path, n = e2h_grid.cell_paths(frame)[0], int(frame["n"].iloc[0])
            name = METHOD_LABELS[method]
            cot = "TRUE" if method.endswith("_cot") else "FALSE"
            rows.append(
                {
                    "dataset": dataset,
                    "method": method,
                    "label": f"{name} CoT={cot} n={n}",
                    "path": path,
                }
            )
    return rows


def all_to_all_inputs():
    return [r["path"] for r in all_to_all_rows()]


def hardness_table_paths():
    return {d: f"results/hardness/{d}/human.parquet" for d in DATASETS}


if EXPERIMENTS:
    FIGURE_IDS += [
        "fig-e2h-main",
        "fig-e2h-all-test",
        "fig-acc-vs-test-hardness",
    ]
    TABLE_IDS += ["tab-sgr", "tab-sgr-pairwise", "tab-sgr-vs-paper"]
    if EXPERIMENTS.get("third_grade_to_college"):
        FIGURE_IDS.append("fig-third-grade-to-college")
    if TRAINED_METHODS:
        FIGURE_IDS.append("fig-sgr-by-method")
        TABLE_IDS += ["tab-sgr-by-method"]
        if any(e2h_grid.extra_measures(config, d) for d in EXPERIMENTS["measures"]):
            FIGURE_IDS.append("fig-sgr-by-method-extra")
        if EXPERIMENTS.get("all_to_all", True):
            TABLE_IDS.append("tab-all-to-all")
        if EXPERIMENTS.get("third_grade_to_college") and len(transfer_methods()) > 1:
            FIGURE_IDS.append("fig-third-grade-to-college-by-method")
    FIGURE_FILES = [f for fig in FIGURE_IDS for f in figure_outputs(fig)] + [
        f"results/figure_data/{fig}.csv" for fig in FIGURE_IDS
    ]
    TABLE_FILES = [
        f"results/tables/{tab}.{ext}" for tab in TABLE_IDS for ext in ("csv", "tex")
    ]


def module_source(name):
    """A figure's e2h module as an input: editing the plotting code reruns that figure only."""
    return str(ROOT / "workflow" / "e2h" / f"{name}.py")
