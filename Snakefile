# e2h: reproduce Hase et al. (ACL 2024), "The Unreasonable Effectiveness of Easy Training
# Data for Hard Tasks". This file only validates the config, includes one rule file per
# stage and names the targets; logic lives in the e2h package under workflow/.
from snakemake.utils import min_version

min_version("9.17")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/hardness.smk"
include: "rules/figures.smk"


if EXPERIMENTS:

    include: "rules/experiments.smk"
    include: "rules/stats.smk"
    include: "rules/figures_rq2.smk"

    if TRAINED_METHODS:

        include: "rules/figures_methods.smk"


localrules:
    all,
    figures,
    tables,


rule all:
    default_target: True
    input:
        FIGURE_FILES,
        TABLE_FILES,
        "results/provenance.json",


rule figures:
    input:
        FIGURE_FILES,


rule tables:
    input:
        TABLE_FILES,
