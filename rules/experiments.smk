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
    threads: 1  # GGUF parsing and dequantisation run in one Python thread
    resources:
        mem_mb=6000,
        runtime=30,
    params:
        gguf=lambda wc: config["models"][wc.model]["gguf"],
    script:
        "../workflow/scripts/convert_model.py"


# Cell jobs: one per group of cells (e2h.plan.CellGroup; docs/speed.md#cell-jobs), so
# libraries and the model load once per (dataset, model, kind of method). Prompting groups run
# run_cells.py; linear-probe and LoRA groups run_trained_cells.py. A finished cell of a killed
# job is kept under results/checkpoints/ and reused when the job reruns.
for group in PLAN.groups.values():

    rule:
        name:
            group.name
        input:
            **PLAN.group_inputs(group),
            code=code(group.script),
        output:
            group.outputs(),
        log:
            f"results/logs/cells/{group.directory}.log",
        benchmark:
            f"results/benchmarks/cells/{group.directory}.tsv"
        conda:
            "../envs/gpu.yaml"
        threads: config["models"][group.model]["threads"]
        resources:
            **model_job(group.model, group.kind, len(group.cells)),
        params:
            **PLAN.group_params(group),
            checkpoints="results/checkpoints",
            script=group.script,  # `script:` is evaluated when the job runs
        script:
            "../workflow/scripts/{params.script}"


# The zero-shot pass of one (dataset, model, prompt): the probe's hidden states and the
# zero-shot cells' predictions from the same forwards, reusing the MDL stage's pass.
rule extract_hidden_states:
    input:
        unpack(mdl_pass_reuse),
        tables=representation_tables,
        model=model_input,
        code=code("extract_hidden_states.py"),
    output:
        manifest="results/representations/{dataset}/{model}/p{prompt}/manifest.json",
        features="results/representations/{dataset}/{model}/p{prompt}/features.npy",
        mask="results/representations/{dataset}/{model}/p{prompt}/choice_mask.npy",
        zero_shot="results/representations/{dataset}/{model}/p{prompt}/zero_shot.parquet",
    log:
        "results/logs/extract_hidden_states/{dataset}/{model}/p{prompt}.log",
    benchmark:
        "results/benchmarks/extract_hidden_states/{dataset}/{model}/p{prompt}.tsv"
    conda:
        "../envs/gpu.yaml"
    threads: lambda wc: config["models"][wc.model]["threads"]
    resources:
        **model_job(model_of, "hidden_states"),
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
