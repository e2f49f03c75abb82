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


def cells(**fields):
    """Prediction paths of the grid's conditions whose fields equal ``fields``."""
    frame = CONDITIONS
    for key, value in fields.items():
        frame = frame[frame[key].astype(str) == str(value)]
    if frame.empty:
        raise ValueError(f"no configured condition matches {fields}")
    return e2h_grid.cell_paths(frame)


def transfer_cells():
    tgc = EXPERIMENTS["third_grade_to_college"]
    cap = "all" if tgc.get("test_cap") is None else tgc["test_cap"]
    return {
        source: e2h_grid.TRANSFER_PREDICTIONS.format(
            model=tgc["model"],
            method="icl" if source != "unsup" else "zs",
            prompt="0040",
            source=source,
            k=tgc["k"] if source != "unsup" else 0,
            resamples=tgc["resamples"],
            cap=cap,
            seed=config["seed"],
        )
        for source in TRANSFER_SOURCES
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
                    dataset=dataset, model=model, measure=measure, train=level
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
        path = cells(dataset=dataset, model=model, train="all")[0]
        for measure in measure_list:
            specs.append({"dataset": dataset, "measure": measure, "path": path})
    return specs


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
    FIGURE_FILES = [f for fig in FIGURE_IDS for f in figure_outputs(fig)] + [
        f"results/figure_data/{fig}.csv" for fig in FIGURE_IDS
    ]
    TABLE_FILES = [
        f"results/tables/{tab}.{ext}" for tab in TABLE_IDS for ext in ("csv", "tex")
    ]


def module_source(name):
    """A figure's e2h module as an input: editing the plotting code reruns that figure only."""
    return str(ROOT / "workflow" / "e2h" / f"{name}.py")
