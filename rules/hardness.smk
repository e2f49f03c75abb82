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


# Model-based hardness (docs/hardness.md#mdl): per (dataset, hardness model) one zero-shot
# pass (decoding scores + hidden states), the learned and finetuned learning curves, then the
# average over every configured hardness model, merged into the dataset's hardness table.


rule mdl_zero_shot_pass:
    input:
        table="results/hardness/{dataset}/human.parquet",
        probing="results/data/{dataset}/probing_ids.txt",
        pool="results/data/{dataset}/hardness_pool_ids.txt",
        model=model_input,
        code=code("mdl_zero_shot_pass.py"),
    output:
        predictions="results/mdl/{dataset}/{model}/zero_shot.parquet",
        scores="results/mdl/{dataset}/{model}/decoding.parquet",
        manifest="results/mdl/{dataset}/{model}/states/manifest.json",
        features="results/mdl/{dataset}/{model}/states/features.npy",
        mask="results/mdl/{dataset}/{model}/states/choice_mask.npy",
        record="results/mdl/{dataset}/{model}/zero_shot.json",
    log:
        "results/logs/mdl_zero_shot_pass/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/mdl_zero_shot_pass/{dataset}/{model}.tsv"
    conda:
        "../envs/gpu.yaml"
    threads: lambda wc: config["models"][wc.model]["threads"]
    resources:
        **model_job(model_of, "prompting"),
    params:
        mdl=lambda wc: PLAN.mdl_pass_params(wc.dataset),
        registry=model_params,
    script:
        "../workflow/scripts/mdl_zero_shot_pass.py"


rule mdl_curve:
    input:
        unpack(mdl_curve_inputs),
        table="results/hardness/{dataset}/human.parquet",
        probing="results/data/{dataset}/probing_ids.txt",
        pool="results/data/{dataset}/hardness_pool_ids.txt",
        code=code("mdl_curve.py"),
    output:
        scores="results/mdl/{dataset}/{model}/{variant}.parquet",
        curve="results/mdl/{dataset}/{model}/{variant}_curve.parquet",
        online="results/mdl/{dataset}/{model}/{variant}_online.csv",
        record="results/mdl/{dataset}/{model}/{variant}.json",
    log:
        "results/logs/mdl_curve/{dataset}/{model}/{variant}.log",
    benchmark:
        "results/benchmarks/mdl_curve/{dataset}/{model}/{variant}.tsv"
    conda:
        "../envs/gpu.yaml"
    threads: lambda wc: config["models"][wc.model]["threads"]
    resources:
        # the finetuned curve trains one adapter per (size, resample)
        **model_job(model_of, lambda wc: wc.variant, mdl_curve_points),
    params:
        mdl=lambda wc: PLAN.mdl_curve_params(wc.dataset, wc.variant),
        method=lambda wc: PLAN.mdl_method_params(wc.model, wc.variant),
        # the learned curve reads features (their manifest names the model)
        registry=lambda wc: (
            {} if wc.variant == "learned" else PLAN.model_params(wc.model)
        ),
        checkpoints="results/checkpoints/mdl/{dataset}/{model}/{variant}",
    script:
        "../workflow/scripts/mdl_curve.py"


rule annotate_model_hardness:
    input:
        table="results/hardness/{dataset}/human.parquet",
        scores=lambda wc: PLAN.mdl_score_files(wc.dataset),
        code=code("annotate_model_hardness.py"),
    output:
        table="results/hardness/{dataset}/hardness.parquet",
        cutoffs="results/hardness/{dataset}/mdl_cutoffs.csv",
        per_model="results/hardness/{dataset}/mdl_per_model.parquet",
    log:
        "results/logs/annotate_model_hardness/{dataset}.log",
    benchmark:
        "results/benchmarks/annotate_model_hardness/{dataset}.tsv"
    localrule: True
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        measures=lambda wc: PLAN.mdl_measures(wc.dataset),
        models=PLAN.mdl_models,
        percentiles=config["percentiles"],
    script:
        "../workflow/scripts/annotate_model_hardness.py"
