# Model jobs: GGUF conversion and prompting cells (study.md §4-8, §15).


rule convert_model:
    output:
        directory("results/models/{model}"),
    log:
        "results/logs/convert_model/{model}.log",
    benchmark:
        "results/benchmarks/convert_model/{model}.tsv"
    conda:
        "../envs/gpu.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=30,
    params:
        gguf=lambda wc: config["models"][wc.model]["gguf"],
    script:
        "../workflow/scripts/convert_model.py"


rule run_cell:
    input:
        table="results/hardness/{dataset}/human.parquet",
        model=model_input,
    output:
        predictions=e2h_grid.CELL_PREDICTIONS,
        cell=e2h_grid.CELL_RECORD,
    log:
        e2h_grid.CELL_LOG,
    benchmark:
        e2h_grid.CELL_BENCHMARK
    wildcard_constraints:
        method="zs|zs_cot|icl|icl_cot",
    conda:
        "../envs/gpu.yaml"
    threads: 2
    resources:
        mem_mb=model_mem_mb,
        runtime=model_runtime,
        gpu=model_gpus,
    params:
        spec=cell_spec,
        registry=model_registry,
    script:
        "../workflow/scripts/run_cell.py"


rule run_transfer_cell:
    input:
        arc="results/hardness/arc/human.parquet",
        mmlu="results/hardness/mmlu/human.parquet",
        model=model_input,
    output:
        predictions=e2h_grid.TRANSFER_PREDICTIONS,
        cell=e2h_grid.TRANSFER_RECORD,
    log:
        e2h_grid.TRANSFER_LOG,
    benchmark:
        "results/benchmarks/"
        + TRANSFER_PATH.replace("results/cells", "run_cell")
        + ".tsv"
    wildcard_constraints:
        method="zs|icl",
    conda:
        "../envs/gpu.yaml"
    threads: 2
    resources:
        mem_mb=model_mem_mb,
        runtime=model_runtime,
        gpu=model_gpus,
    params:
        spec=transfer_spec,
        registry=model_registry,
    script:
        "../workflow/scripts/run_transfer_cell.py"


rule benchmark_scoring:
    input:
        table="results/data/arc/items.parquet",
        model="results/models/{model}",
    output:
        json="results/benchmarks/scoring/{model}.json",
        csv="results/benchmarks/scoring/{model}.csv",
        per_item="results/benchmarks/scoring/{model}_logprobs.csv",
    log:
        "results/logs/benchmark_scoring/{model}.log",
    benchmark:
        "results/benchmarks/benchmark_scoring/{model}.tsv"
    conda:
        "../envs/gpu.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        engines=config.get("benchmark_engines", "fast,naive,lm_eval").split(","),
        n_items=200,
        n_demos=10,
    script:
        "../workflow/scripts/benchmark_scoring_rule.py"


rule extract_hidden_states:
    input:
        unpack(representation_tables),
        model=model_input,
    output:
        manifest="results/representations/{dataset}/{model}/p{prompt}/manifest.json",
        features="results/representations/{dataset}/{model}/p{prompt}/features.npy",
        mask="results/representations/{dataset}/{model}/p{prompt}/choice_mask.npy",
    log:
        "results/logs/extract_hidden_states/{dataset}/{model}/p{prompt}.log",
    benchmark:
        "results/benchmarks/extract_hidden_states/{dataset}/{model}/p{prompt}.tsv"
    conda:
        "../envs/gpu.yaml"
    threads: 2
    resources:
        mem_mb=model_mem_mb,
        runtime=model_runtime,
        gpu=model_gpus,
    params:
        registry=model_registry,
        out_dir=lambda wc: representation_dir(wc.dataset, wc.model, wc.prompt),
        cells=representation_cells,
    script:
        "../workflow/scripts/extract_hidden_states.py"


rule run_trained_cell:
    input:
        unpack(trained_cell_inputs),
        table="results/hardness/{dataset}/human.parquet",
    output:
        predictions=e2h_grid.CELL_PREDICTIONS,
        cell=e2h_grid.CELL_RECORD,
    log:
        e2h_grid.CELL_LOG.replace("run_cell", "run_trained_cell"),
    benchmark:
        e2h_grid.CELL_BENCHMARK.replace("run_cell", "run_trained_cell")
    wildcard_constraints:
        method="probe|lora_mc|lora_cot",
    conda:
        "../envs/gpu.yaml"
    threads: 2
    resources:
        mem_mb=model_mem_mb,
        runtime=model_runtime,
        gpu=lambda wc: 0 if wc.method == "probe" else model_gpus(wc),
    params:
        spec=cell_spec,
        registry=model_registry,
        trained=trained_settings,
        checkpoints=lambda wc: e2h_grid.CELL_PATH.format(**wc).replace(
            "results/cells", "results/checkpoints"
        ),
    script:
        "../workflow/scripts/run_trained_cell.py"


rule run_trained_transfer_cell:
    input:
        unpack(transfer_trained_inputs),
        arc="results/hardness/arc/human.parquet",
        mmlu="results/hardness/mmlu/human.parquet",
    output:
        predictions=e2h_grid.TRANSFER_PREDICTIONS,
        cell=e2h_grid.TRANSFER_RECORD,
    log:
        e2h_grid.TRANSFER_LOG.replace("run_cell", "run_trained_cell"),
    benchmark:
        "results/benchmarks/"
        + TRANSFER_PATH.replace("results/cells", "run_trained_cell")
        + ".tsv"
    wildcard_constraints:
        method="probe|lora_mc",
    conda:
        "../envs/gpu.yaml"
    threads: 2
    resources:
        mem_mb=model_mem_mb,
        runtime=model_runtime,
        gpu=lambda wc: 0 if wc.method == "probe" else model_gpus(wc),
    params:
        spec=transfer_spec,
        registry=model_registry,
        trained=trained_settings,
        checkpoints=lambda wc: e2h_grid.TRANSFER_PATH.format(**wc).replace(
            "results/cells", "results/checkpoints"
        ),
    script:
        "../workflow/scripts/run_trained_cell.py"
