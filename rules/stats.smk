# SGR statistics with the two-way bootstrap (study.md §13-14).


rule tab_sgr:
    input:
        cells=panel_inputs(),
        tables=human_tables(),
        code=module_source("tables/tab_sgr"),
    output:
        csv="results/tables/tab-sgr.csv",
        tex="results/tables/tab-sgr.tex",
    log:
        "results/logs/tab_sgr.log",
    benchmark:
        "results/benchmarks/tab_sgr.tsv"
    localrule: True
    conda:
        "../envs/stats.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        panels=panel_specs(),
        tables=hardness_table_paths(),
        draws=config["statistics"]["sgr_bootstrap_draws"],
        seed=config["seed"],
        model=EXPERIMENTS["models"][0],
    script:
        "../workflow/scripts/tab_sgr.py"


rule tab_sgr_pairwise:
    input:
        cells=panel_inputs(),
        tables=human_tables(),
        code=module_source("tables/tab_sgr"),
    output:
        csv="results/tables/tab-sgr-pairwise.csv",
        tex="results/tables/tab-sgr-pairwise.tex",
    log:
        "results/logs/tab_sgr_pairwise.log",
    benchmark:
        "results/benchmarks/tab_sgr_pairwise.tsv"
    localrule: True
    conda:
        "../envs/stats.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        panels=panel_specs(),
        tables=hardness_table_paths(),
        draws=config["statistics"]["sgr_bootstrap_draws"],
        seed=config["seed"],
    script:
        "../workflow/scripts/tab_sgr_pairwise.py"


rule tab_sgr_vs_paper:
    input:
        ours="results/tables/tab-sgr.csv",
        paper=PAPER_NUMBERS,
        code=module_source("tables/tab_sgr"),
    output:
        csv="results/tables/tab-sgr-vs-paper.csv",
        tex="results/tables/tab-sgr-vs-paper.tex",
    log:
        "results/logs/tab_sgr_vs_paper.log",
    benchmark:
        "results/benchmarks/tab_sgr_vs_paper.tsv"
    localrule: True
    conda:
        "../envs/stats.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/tab_sgr_vs_paper.py"
