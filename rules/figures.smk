# One rule per paper figure and table, named after its id (figures.md §0).


rule tab_datasets:
    input:
        tables=human_tables(),
        paper=PAPER_NUMBERS,
    output:
        csv="results/tables/tab-datasets.csv",
        tex="results/tables/tab-datasets.tex",
    log:
        "results/logs/tab_datasets.log",
    benchmark:
        "results/benchmarks/tab_datasets.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        datasets=DATASETS,
        measures={d: list(measures(d)) for d in DATASETS},
    script:
        "../workflow/scripts/tab_datasets.py"


rule tab_cutoffs:
    input:
        tables=human_tables(),
        cutoffs=expand("results/hardness/{dataset}/cutoffs.csv", dataset=DATASETS),
    output:
        csv="results/tables/tab-cutoffs.csv",
        tex="results/tables/tab-cutoffs.tex",
    log:
        "results/logs/tab_cutoffs.log",
    benchmark:
        "results/benchmarks/tab_cutoffs.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        datasets=DATASETS,
    script:
        "../workflow/scripts/tab_cutoffs.py"


rule fig_hardness_histograms:
    input:
        tables=human_tables(),
    output:
        figures=report_figure("fig-hardness-histograms", "RQ1: measuring hardness"),
        data="results/figure_data/fig-hardness-histograms.csv",
    log:
        "results/logs/fig_hardness_histograms.log",
    benchmark:
        "results/benchmarks/fig_hardness_histograms.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        datasets=DATASETS,
        measures={d: list(measures(d)) for d in DATASETS},
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/fig_hardness_histograms.py"


rule fig_hardness_correlations:
    input:
        tables=human_tables(),
        paper=PAPER_NUMBERS,
    output:
        figures=report_figure("fig-hardness-correlations", "RQ1: measuring hardness"),
        data="results/figure_data/fig-hardness-correlations.csv",
    log:
        "results/logs/fig_hardness_correlations.log",
    benchmark:
        "results/benchmarks/fig_hardness_correlations.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        datasets=DATASETS,
        measures={d: list(measures(d)) for d in DATASETS},
        tolerance=config["figures"]["correlation_tolerance"],
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/fig_hardness_correlations.py"
