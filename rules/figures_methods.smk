# RQ2/RQ4 by training method (ICL*, Linear Probe, LoRA) and Table 4 (figures.md §4, §6).


rule fig_sgr_by_method:
    input:
        cells=method_panel_inputs(),
        tables=human_tables(),
        code=module_source("figures/fig_sgr_by_method"),
    output:
        figures=report_figure("fig-sgr-by-method", "RQ2: easy-to-hard generalization"),
        data="results/figure_data/fig-sgr-by-method.csv",
    log:
        "results/logs/fig_sgr_by_method.log",
    benchmark:
        "results/benchmarks/fig_sgr_by_method.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        panels=method_panel_specs(),
        tables=hardness_table_paths(),
        title="Supervision Gap Recovered By Training Method",
        draws=config["statistics"]["bootstrap_draws"],
        seed=config["seed"],
        error_bars=config["figures"]["error_bars"],
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/fig_sgr_by_method.py"


rule fig_sgr_by_method_extra:
    input:
        cells=method_panel_inputs(extra=True),
        tables=human_tables(),
        code=module_source("figures/fig_sgr_by_method"),
    output:
        figures=report_figure(
            "fig-sgr-by-method-extra", "RQ2: easy-to-hard generalization"
        ),
        data="results/figure_data/fig-sgr-by-method-extra.csv",
    log:
        "results/logs/fig_sgr_by_method_extra.log",
    benchmark:
        "results/benchmarks/fig_sgr_by_method_extra.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        panels=method_panel_specs(extra=True),
        tables=hardness_table_paths(),
        title="Supervision Gap Recovered By Training Method (Secondary Measures)",
        draws=config["statistics"]["bootstrap_draws"],
        seed=config["seed"],
        error_bars=config["figures"]["error_bars"],
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/fig_sgr_by_method_extra.py"


# The data behind fig-sgr-by-method, with the SGR table's 100,000-draw bootstrap.
rule tab_sgr_by_method:
    input:
        cells=method_panel_inputs(),
        tables=human_tables(),
        code=module_source("figures/fig_sgr_by_method"),
    output:
        csv="results/tables/tab-sgr-by-method.csv",
        tex="results/tables/tab-sgr-by-method.tex",
    log:
        "results/logs/tab_sgr_by_method.log",
    benchmark:
        "results/benchmarks/tab_sgr_by_method.tsv"
    localrule: True
    conda:
        "../envs/stats.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        panels=method_panel_specs(),
        tables=hardness_table_paths(),
        draws=config["statistics"]["sgr_bootstrap_draws"],
        seed=config["seed"],
    script:
        "../workflow/scripts/tab_sgr_by_method.py"


# Table 4. The CSV is the whole wide table: the display columns ("Method", one
# "acc ± half-width" column per dataset) followed by the numbers behind them,
# "{Dataset} accuracy|ci_low|ci_high|half_width|n_items" (accuracy x100, NaN where a
# method does not apply); the LaTeX file holds the display columns only.
rule tab_all_to_all:
    input:
        cells=all_to_all_inputs(),
        code=module_source("tables/tab_all_to_all"),
    output:
        csv="results/tables/tab-all-to-all.csv",
        tex="results/tables/tab-all-to-all.tex",
    log:
        "results/logs/tab_all_to_all.log",
    benchmark:
        "results/benchmarks/tab_all_to_all.tsv"
    localrule: True
    conda:
        "../envs/stats.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        rows=all_to_all_rows(),
        draws=config["statistics"]["bootstrap_draws"],
        seed=config["seed"],
    script:
        "../workflow/scripts/tab_all_to_all.py"


rule fig_third_grade_to_college_by_method:
    input:
        cells=lambda wc: transfer_method_inputs(),
        code=module_source("figures/fig_third_grade_to_college_by_method"),
    output:
        figures=report_figure(
            "fig-third-grade-to-college-by-method", "RQ4: train-test gap"
        ),
        data="results/figure_data/fig-third-grade-to-college-by-method.csv",
    log:
        "results/logs/fig_third_grade_to_college_by_method.log",
    benchmark:
        "results/benchmarks/fig_third_grade_to_college_by_method.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cells=lambda wc: transfer_method_cells(),
        draws=config["statistics"]["bootstrap_draws"],
        seed=config["seed"],
        error_bars=config["figures"]["error_bars"],
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/fig_third_grade_to_college_by_method.py"
