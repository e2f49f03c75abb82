# RQ1/RQ2 figures built on prompting cells (figures.md §3-4, §6).


rule fig_e2h_main:
    input:
        cells=panel_inputs(),
        tables=human_tables(),
        code=module_source("figures/fig_e2h"),
    output:
        figures=report_figure("fig-e2h-main", "RQ2: easy-to-hard generalization"),
        data="results/figure_data/fig-e2h-main.csv",
    log:
        "results/logs/fig_e2h_main.log",
    benchmark:
        "results/benchmarks/fig_e2h_main.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        panels=panel_specs(),
        tables=hardness_table_paths(),
        level="hard",
        title="Hard Test Accuracy vs. Train Data Source",
        draws=config["statistics"]["bootstrap_draws"],
        seed=config["seed"],
        error_bars=config["figures"]["error_bars"],
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/fig_e2h_main.py"


rule fig_e2h_all_test:
    input:
        cells=panel_inputs(),
        tables=human_tables(),
        code=module_source("figures/fig_e2h"),
    output:
        figures=report_figure("fig-e2h-all-test", "RQ2: easy-to-hard generalization"),
        data="results/figure_data/fig-e2h-all-test.csv",
    log:
        "results/logs/fig_e2h_all_test.log",
    benchmark:
        "results/benchmarks/fig_e2h_all_test.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        panels=panel_specs(),
        tables=hardness_table_paths(),
        level="all",
        title="All Test Accuracy vs. Train Data Source",
        draws=config["statistics"]["bootstrap_draws"],
        seed=config["seed"],
        error_bars=config["figures"]["error_bars"],
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/fig_e2h_all_test.py"


rule fig_acc_vs_test_hardness:
    input:
        cells=lambda wc: sorted({s["path"] for s in all_train_specs()}),
        tables=human_tables(),
        code=module_source("figures/fig_acc_vs_test_hardness"),
    output:
        figures=report_figure("fig-acc-vs-test-hardness", "RQ1: measuring hardness"),
        data="results/figure_data/fig-acc-vs-test-hardness.csv",
    log:
        "results/logs/fig_acc_vs_test_hardness.log",
    benchmark:
        "results/benchmarks/fig_acc_vs_test_hardness.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        panels=all_train_specs(),
        tables=hardness_table_paths(),
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/fig_acc_vs_test_hardness.py"


rule fig_third_grade_to_college:
    input:
        cells=lambda wc: list(transfer_cells().values()),
        code=module_source("figures/fig_third_grade_to_college"),
    output:
        figures=report_figure("fig-third-grade-to-college", "RQ4: train-test gap"),
        data="results/figure_data/fig-third-grade-to-college.csv",
    log:
        "results/logs/fig_third_grade_to_college.log",
    benchmark:
        "results/benchmarks/fig_third_grade_to_college.tsv"
    localrule: True
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cells=lambda wc: transfer_cells(),
        model=lambda wc: EXPERIMENTS["third_grade_to_college"]["model"],
        draws=config["statistics"]["bootstrap_draws"],
        seed=config["seed"],
        error_bars=config["figures"]["error_bars"],
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/fig_third_grade_to_college.py"
