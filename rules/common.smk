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
