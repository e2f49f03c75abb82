# Hardness annotation: levels of every human measure on each dataset
# (docs/hardness.md#hardness-measures).


rule annotate_human_hardness:
    input:
        table="results/data/{dataset}/items.parquet",
        probing="results/data/{dataset}/probing_ids.txt",
    output:
        table="results/hardness/{dataset}/human.parquet",
        cutoffs="results/hardness/{dataset}/cutoffs.csv",
    log:
        "results/logs/annotate_human_hardness/{dataset}.log",
    benchmark:
        "results/benchmarks/annotate_human_hardness/{dataset}.tsv"
    localrule: True
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        measures=measures,
        percentiles=config["percentiles"],
    script:
        "../workflow/scripts/annotate_human_hardness.py"
