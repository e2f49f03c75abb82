# e2h: reproduce Hase et al. (ACL 2024), "The Unreasonable Effectiveness of Easy Training
# Data for Hard Tasks". This file only validates the config, includes one rule file per
# stage and names the targets; what a run contains is computed by e2h.plan.
import os
import sys

from snakemake.utils import min_version

min_version("9.17")

# Jobs import the e2h package of this checkout, whatever else is installed.
_PACKAGE_DIR = os.path.join(workflow.basedir, "workflow")
sys.path.insert(0, _PACKAGE_DIR)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [_PACKAGE_DIR, *filter(None, [os.environ.get("PYTHONPATH")])]
    )
)
# Bit-identical floats on CPU in every job (docs/scoring.md#determinism); importing e2h sets
# them for this process.
import e2h
from e2h.config import read_config_file

# Snakemake reports a broken YAML file without its line; this names file, line and column.
if os.path.exists("config.yaml"):
    read_config_file("config.yaml")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/hardness.smk"
include: "rules/experiments.smk"
include: "rules/outputs.smk"


onstart:
    # a local run re-selects jobs when one ends, not every second (docs/speed.md#scheduler-polling)
    from e2h.scheduling import stop_polling

    stop_polling(workflow, sys.argv)


onerror:
    # one file lists every failed job, its log and its last error line (README)
    from e2h.logs import write_failure_summary

    print(
        f"failed jobs are listed in {write_failure_summary(log)}", file=sys.stderr
    )


localrules:
    all,
    figures,
    tables,


rule all:
    default_target: True
    input:
        PLAN.target_files(),
        "results/provenance.json",
        "results/provenance.html",


rule figures:
    input:
        [
            f
            for i in PLAN.figure_ids()
            for f in PLAN.outputs[i].files(FIG_FORMATS)["figures"]
        ],


rule tables:
    input:
        [
            f
            for i in PLAN.table_ids()
            for f in PLAN.outputs[i].files(FIG_FORMATS).values()
        ],
