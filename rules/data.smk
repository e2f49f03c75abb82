# Dataset preparation: normalised item tables and the hardness-pool split (docs/data.md#datasets).


rule prepare_dataset:
    input:
        snapshot=snapshot_inputs,
    output:
        table="results/data/{dataset}/items.parquet",
        provenance="results/data/{dataset}/provenance.json",
    log:
        "results/logs/prepare_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare_dataset/{dataset}.tsv"
    localrule: True
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        data=data_params,
    script:
        "../workflow/scripts/prepare_dataset.py"


rule split_hardness_pool:
    input:
        table="results/data/{dataset}/items.parquet",
    output:
        pool="results/data/{dataset}/hardness_pool_ids.txt",
        probing="results/data/{dataset}/probing_ids.txt",
    log:
        "results/logs/split_hardness_pool/{dataset}.log",
    benchmark:
        "results/benchmarks/split_hardness_pool/{dataset}.tsv"
    localrule: True
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        size=lambda wc: config["datasets"][wc.dataset]["hardness_pool"],
        seed=config["seed"],
    script:
        "../workflow/scripts/split_hardness_pool.py"


rule write_provenance:
    input:
        data=expand("results/data/{dataset}/provenance.json", dataset=DATASETS),
        models=[p for m in PLAN.used_models() for p in PLAN.model_input(m)],
    output:
        json="results/provenance.json",
        html=report(
            "results/provenance.html",
            caption="../workflow/report/provenance.rst",
            category="Provenance",
        ),
    log:
        "results/logs/write_provenance.log",
    benchmark:
        "results/benchmarks/write_provenance.tsv"
    localrule: True
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        workflow_dir=str(ROOT),
        models=lambda wc: {m: PLAN.model_params(m)[m] for m in PLAN.used_models()},
    script:
        "../workflow/scripts/write_provenance.py"
