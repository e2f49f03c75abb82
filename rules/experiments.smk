# Model jobs: GGUF conversion, cells (prompting and trained) and hidden states.
# Which cells exist and what each one reads is e2h.plan's; the rules look them up by path.


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


# Zero-shot, ICL and ICL-CoT cells, of the grid and of 3rd grade -> college.
rule run_cell:
    input:
        unpack(cell_inputs),
        code=code("run_cell.py"),
    output:
        predictions=f"{CELL_PATH}/predictions.parquet",
        cell=f"{CELL_PATH}/cell.json",
    log:
        f"results/logs/run_cell/{CELL_DIR}.log",
    benchmark:
        f"results/benchmarks/run_cell/{CELL_DIR}.tsv"
    wildcard_constraints:
        method="|".join(PROMPTING_METHODS),
    conda:
        "../envs/gpu.yaml"
    threads: 2
    resources:
        mem_mb=model_mem_mb,
        runtime=model_resource("runtime"),
        gpu=model_resource("gpus"),
    params:
        spec=cell_param("spec"),
        registry=cell_param("registry"),
    script:
        "../workflow/scripts/run_cell.py"


# Linear-probe and LoRA cells, of the grid and of 3rd grade -> college.
rule run_trained_cell:
    input:
        unpack(cell_inputs),
        code=code("run_trained_cell.py"),
    output:
        predictions=f"{CELL_PATH}/predictions.parquet",
        cell=f"{CELL_PATH}/cell.json",
    log:
        f"results/logs/run_trained_cell/{CELL_DIR}.log",
    benchmark:
        f"results/benchmarks/run_trained_cell/{CELL_DIR}.tsv"
    wildcard_constraints:
        method="|".join(TRAINED_METHODS),
    conda:
        "../envs/gpu.yaml"
    threads: 2
    resources:
        mem_mb=model_mem_mb,
        runtime=model_resource("runtime"),
        gpu=lambda wc: 0 if wc.method == "probe" else model_resource("gpus")(wc),
    params:
        spec=cell_param("spec"),
        registry=cell_param("registry"),
        trained=cell_param("trained"),
        checkpoints=lambda wc: f"results/checkpoints/{CELL_DIR.format(**wc)}",
    script:
        "../workflow/scripts/run_trained_cell.py"


rule extract_hidden_states:
    input:
        tables=representation_tables,
        model=model_input,
        code=code("extract_hidden_states.py"),
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
        runtime=model_resource("runtime"),
        gpu=model_resource("gpus"),
    params:
        registry=model_params,
        cells=representation_cells,
    script:
        "../workflow/scripts/extract_hidden_states.py"


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
        engines=config["benchmark_engines"].split(","),
        n_items=200,
        n_demos=10,
    script:
        "../workflow/scripts/benchmark_scoring_rule.py"
