# Dataset preparation: normalised item tables and the hardness-pool split (study.md §2).


rule prepare_dataset:
    input:
        snapshot=snapshot_inputs,
    output:
        table="results/data/{dataset}/items.parquet",
        provenance="results/data/{dataset}/provenance.json",
    params:
        data=data_params,
    log:
        "results/logs/prepare_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare_dataset/{dataset}.tsv"
    resources:
        mem_mb=2000,
        runtime=10,
    localrule: True
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/prepare_dataset.py"


rule split_hardness_pool:
    input:
        table="results/data/{dataset}/items.parquet",
    output:
        pool="results/data/{dataset}/hardness_pool_ids.txt",
        probing="results/data/{dataset}/probing_ids.txt",
    params:
        size=lambda wc: config["datasets"][wc.dataset]["hardness_pool"],
        seed=config["seed"],
    log:
        "results/logs/split_hardness_pool/{dataset}.log",
    benchmark:
        "results/benchmarks/split_hardness_pool/{dataset}.tsv"
    resources:
        mem_mb=1000,
        runtime=5,
    localrule: True
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/split_hardness_pool.py"


rule write_provenance:
    input:
        data=expand("results/data/{dataset}/provenance.json", dataset=DATASETS),
    output:
        "results/provenance.json",
    params:
        workflow_dir=str(ROOT),
    log:
        "results/logs/write_provenance.log",
    resources:
        mem_mb=500,
        runtime=5,
    localrule: True
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/write_provenance.py"
