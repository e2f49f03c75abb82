# Config validation (before any job), the plan, wildcard constraints and small input
# functions. What a run contains is decided by e2h.plan; this file only wires it up.
from pathlib import Path

from e2h import registry
from e2h.cells import WILDCARDS, representation_dir
from e2h.code_deps import module_closure
from e2h.config import ConfigError, validated
from e2h.models import validate_registry
from e2h.plan import Plan
from e2h.resources import gpu_hour_table, job_size
from e2h.strata import stratum_errors, stratum_sizes

ROOT = Path(workflow.basedir)
SCRIPTS = ROOT / "workflow" / "scripts"

# Readable errors naming the key and the allowed values; fills the schema's defaults.
config.update(validated(config))
if config.get("models"):  # every registry entry is checked before any job starts
    validate_registry(config["models"])
PLAN = Plan(config)
if config["execution"]["gpu_memory_gb"] and workflow.is_main_process:
    # a run (or dry run) for a GPU cluster first says what it would cost (e2h.resources)
    print(gpu_hour_table(PLAN, config), file=sys.stderr)
DATASETS = PLAN.datasets
FIG_FORMATS = config["figures"]["formats"]


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="|".join(config.get("models") or {}) or "none",
    prompt=WILDCARDS["prompt"],
    variant="learned|finetuned",


def snapshot_dir():
    """The bundled snapshot folder; relative paths resolve against the workflow folder."""
    path = Path(config["data"]["snapshot_dir"])
    return path if path.is_absolute() else ROOT / path


def dataset_data_params(dataset):
    """Only this dataset's data settings, so editing one dataset reruns only its jobs."""
    info = registry.dataset(dataset)
    data = config["data"]
    params = {"source": data["source"], "snapshot_dir": str(snapshot_dir())}
    if data["source"] == "hub":
        params["hub"] = {dataset: data["hub"][dataset]}
    params |= {key: data[key] for key in info.data_options}
    return params


def data_params(wildcards):
    return dataset_data_params(wildcards.dataset)


# k / n that a level cannot supply is refused now, not in a cell job (e2h.strata)
if PLAN.exp and config["data"]["source"] == "bundled" and workflow.is_main_process:
    _errors = stratum_errors(
        PLAN,
        {
            d: stratum_sizes(d, dataset_data_params(d), config, PLAN.human_measures(d))
            for d in PLAN.grid_datasets()
        },
    )
    if _errors:
        raise ConfigError(
            f"invalid configuration ({len(_errors)} problem(s)):\n"
            + "\n".join(f"  - {e}" for e in _errors)
        )


def snapshot_inputs(wildcards):
    """The bundled files a dataset reads (in hub mode, only files the hub lacks)."""
    info = registry.dataset(wildcards.dataset)
    hub = config["data"]["source"] == "hub"
    names = info.hub_bundled_files if hub else info.bundled_files
    return [str(snapshot_dir() / name) for name in names]


def measures(wildcards):
    return PLAN.human_measures(wildcards.dataset)


def code(script):
    """The script's e2h modules as inputs: editing one reruns exactly the jobs using it."""
    return module_closure(SCRIPTS / script)


def model_input(wildcards):
    return PLAN.model_input(wildcards.model)


def model_params(wildcards):
    return PLAN.model_params(wildcards.model)


def model_job(model, kind, cells=1):
    """A model job's resources by attempt (e2h.resources): GPUs, host memory and runtime
    from the registry, and a batch that halves on each retry (CUDA out of memory)."""

    def size(wildcards, attempt):
        key = model(wildcards) if callable(model) else model
        what = kind(wildcards) if callable(kind) else kind
        n = cells(wildcards) if callable(cells) else cells
        entry = config["models"][key]
        return job_size(entry, what, config["execution"]["gpu_memory_gb"], n, attempt)

    return {
        "mem_mb": lambda wc, attempt: size(wc, attempt).mem_mb,
        "runtime": lambda wc, attempt: size(wc, attempt).runtime,
        "gpu": lambda wc, attempt: size(wc, attempt).gpus,
        "batch_size": lambda wc, attempt: size(wc, attempt).batch_size,
    }


def model_of(wildcards):
    return wildcards.model


def mdl_curve_points(wildcards):
    curve = config["mdl"][wildcards.variant]
    return len(curve["sizes"]) * curve["resamples"]


def representation(wildcards):
    return PLAN.representation(
        representation_dir(wildcards.dataset, wildcards.model, wildcards.prompt)
    )


def representation_tables(wildcards):
    """The hardness tables the item list needs (a transfer probe also reads MMLU's)."""
    rep = representation(wildcards)
    datasets = {wildcards.dataset}
    for spec in rep.cells:
        datasets |= {Path(t).parent.name for t in PLAN.cell_inputs(spec)["tables"]}
    return sorted(PLAN.hardness_table(d) for d in datasets)


def mdl_pass_reuse(wildcards):
    """The MDL stage's zero-shot pass of the same model and prompt, if any: its items are
    copied, not recomputed."""
    return PLAN.mdl_pass_reuse(wildcards.dataset, wildcards.model, wildcards.prompt)


def representation_cells(wildcards):
    return [spec.as_dict() for spec in representation(wildcards).cells]


def output_files(output):
    """Tables: CSV (into the HTML report) + LaTeX. Figures: every format (the PNG into the
    HTML report) + CSV. Each with its caption from workflow/report/<id>.rst."""
    files = output.files(FIG_FORMATS)
    # grouped by the paper's item; one label only (the report turns a second label with two
    # values into a toggle, which breaks categories of two results)
    where = {"category": output.kind.category, "subcategory": output.kind.paper_item}
    if "csv" in files:
        files["csv"] = report(
            files["csv"],
            caption=f"../workflow/report/{output.id}.rst",
            labels={"table": output.id},
            **where,
        )
    if "figures" in files:
        # the report shows the PNG where there is one (a browser draws it inline), else the
        # first format
        figures = files["figures"]
        pick = next((i for i, f in enumerate(figures) if f.endswith(".png")), 0)
        figures[pick] = report(
            figures[pick],
            caption=f"../workflow/report/{output.id}.rst",
            labels={"figure": output.id},
            **where,
        )
        files["figures"] = figures
    return files


def mdl_curve_inputs(wildcards):
    """The learned curve reads the zero-shot pass's hidden states; the finetuned one the model."""
    if wildcards.variant == "learned":
        return {
            "manifest": f"results/mdl/{wildcards.dataset}/{wildcards.model}/states/manifest.json"
        }
    return {"model": PLAN.model_input(wildcards.model)}
