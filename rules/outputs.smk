# One rule per figure and table id, named after it ("-" -> "_"). The plan (e2h.plan.OUTPUTS)
# gives each id's script, module, inputs and params; the rule adds its code as inputs so an
# edit to any module it runs reruns it, and nothing else.


for planned in PLAN.outputs.values():

    rule:
        name:
            planned.kind.rule
        input:
            **planned.all_inputs(),
        output:
            **output_files(planned),
        log:
            f"results/logs/{planned.kind.rule}.log",
        benchmark:
            f"results/benchmarks/{planned.kind.rule}.tsv"
        localrule: True
        conda:
            "../envs/plot.yaml"
        resources:
            mem_mb=4000,
            runtime=30,
        params:
            **planned.params,
            rule=planned.kind.rule,  # names the script: `script:` is evaluated when the job runs
        script:
            "../workflow/scripts/{params.rule}.py"
