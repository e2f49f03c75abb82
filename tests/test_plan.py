"""The experiment plan as data: cells, panels and ids computed from configs, no Snakemake."""

from __future__ import annotations

import copy
import importlib
from collections import Counter
from pathlib import Path

import pytest
import yaml

from e2h import registry
from e2h.cells import CELL_PATH, CellSpec
from e2h.code_deps import module_closure
from e2h.config import validated
from e2h.plan import OUTPUTS, Plan, PlanError
from tests.conftest import ROOT

PAPER = ROOT / "workflow" / "configs" / "paper.yaml"


def plan_of(config: dict) -> Plan:
    return Plan(validated(config))


@pytest.fixture(scope="module")
def default() -> Plan:
    return plan_of(yaml.safe_load((ROOT / "config.yaml").read_text()))


@pytest.fixture(scope="module")
def paper() -> Plan:
    return plan_of(yaml.safe_load(PAPER.read_text()))


def two_models(config: dict) -> dict:
    """The default config with a second registered model in the grid."""
    cfg = copy.deepcopy(config)
    cfg["models"]["other"] = {"local_path": "/nowhere/other", "precision": "fp32"}
    cfg["experiments"]["models"] = ["smollm2-135m", "other"]
    return cfg


def counts(plan: Plan, *fields: str) -> Counter:
    return Counter(tuple(getattr(s, f) for f in fields) for s in plan.cells.values())


def test_default_cells_per_dataset_and_method(default):
    got = Counter(
        (s.dataset, s.method) for s in default.cells.values() if s.model == "smollm2-135m"
    )
    # ARC: 3 measures x 3 levels + 3 secondary measures easy/hard (fig-e2h-extra-measures; one
    # of them, mdl_learned, also fig-sgr-by-method-extra's ICL arms) + Table 4 (ICL all);
    # probe / LoRA-MC: (3 + 1 extra measure) x easy/hard + Table 4
    assert got[("arc", "zs")] == 1
    # + the weak supervisor of experiments.weak_to_strong (docs/methods.md#weak-to-strong)
    assert got[("arc", "icl")] == 3 * 3 + 3 * 2 + 1 + 1
    assert got[("arc", "lora_mc")] == 4 * 2 + 1
    # + learning curves (fig-cost-curves): 3 ARC, 1 MMLU, 1 StrategyQA measure x easy / hard
    # x 4 sizes
    assert got[("arc", "probe")] == 4 * 2 + 1 + 3 * 2 * 4
    # MMLU: binary measure (no medium), 1 secondary measure, the transfer ICL cells of Figure 1
    assert got[("mmlu", "icl")] == 2 + 1 * 2 + 1 + 4
    assert got[("mmlu", "zs")] == 1 + 1  # the grid's and Figure 1's zero-shot cells
    # + fig-noisy-labels: easy / hard at four noise levels (the clean cells are the curves')
    assert got[("mmlu", "probe")] == 2 * 2 + 1 + 4 + 2 * 4 + 2 * 4
    assert ("mmlu", "lora_mc") not in got  # left out by trained.skip
    # StrategyQA: no secondary measure in the 2-core default, no extra trained measure;
    # + fig-strategyqa-by-model's k = 4 easy / hard
    assert got[("strategyqa", "icl_cot")] == 3 + 1 + 2
    assert got[("strategyqa", "icl")] == 1
    assert got[("strategyqa", "probe")] == 1 * 2 + 1 + 2 * 4
    assert ("strategyqa", "lora_cot") not in got  # left out by trained.skip
    assert got[("strategyqa", "lora_mc")] == 1  # Table 4's row only
    assert got[("gsm8k", "zs_cot")] == 1 and got[("gsm8k", "icl_cot")] == 3 + 1
    # GSM8k's LoRA-CoT is left out by trained.skip, and GSM8k has no probe
    assert ("gsm8k", "lora_cot") not in got and ("gsm8k", "probe") not in got
    # skipped: GSM8k's and StrategyQA's LoRA-CoT (3 cells each), MMLU's LoRA-MC (9); the
    # 2-core default's shorter secondary-measure lists: ARC trained 1 (was 2), MMLU ICL 1 (was 2),
    # StrategyQA and GSM8k ICL none (was 1 each)
    assert sum(got.values()) == 146 - 3 - 3 - 9 - 6 - 4
    # the ladder's second model: zero-shot on every dataset, fig-scaling's MMLU and
    # fig-strategyqa-by-model's easy / hard, Figure 1's five ICL sources; the weak-to-strong
    # student on ARC grade: ICL easy / hard with gold and weak labels, the probe the same plus
    # the two confidence-loss students
    gemma = Counter(
        (s.dataset, s.method) for s in default.cells.values() if s.model == "gemma3-270m"
    )
    assert gemma == {
        ("arc", "zs"): 1, ("mmlu", "zs"): 2, ("strategyqa", "zs"): 1, ("gsm8k", "zs_cot"): 1,
        ("mmlu", "icl"): 2 + 4, ("strategyqa", "icl_cot"): 2, ("arc", "icl"): 4,
        ("arc", "probe"): 6,
    }  # fmt: skip
    assert len(default.cells) == 121 + 13 + 10  # SmolLM2, Gemma above, the weak-to-strong cells
    # zero-shot passes: SmolLM2's ARC, MMLU and StrategyQA (probes and zero-shot cells);
    # Gemma's ARC (weak-to-strong probe, ladder), MMLU and StrategyQA (ladder zero-shot)
    assert sorted(default.representations) == [
        f"results/representations/{d}/{m}/p{p}"
        for d, m, p in [
            ("arc", "gemma3-270m", "cloze"),
            ("arc", "smollm2-135m", "cloze"),
            ("mmlu", "gemma3-270m", "cloze"),
            ("mmlu", "smollm2-135m", "cloze"),
            ("strategyqa", "gemma3-270m", "0306"),
            ("strategyqa", "smollm2-135m", "0306"),
        ]
    ]
    zs = default.one(dataset="arc", model="smollm2-135m", method="zs", train="unsup")
    assert default.cell_inputs(zs)["zero_shot"] == [
        "results/representations/arc/smollm2-135m/pcloze/zero_shot.parquet"
    ]
    assert "model" not in default.cell_inputs(zs)  # read, not scored
    assert default.mdl_pass_reuse("arc", "smollm2-135m", "cloze") == {
        "mdl_states": "results/mdl/arc/smollm2-135m/states/manifest.json",
        "mdl_predictions": "results/mdl/arc/smollm2-135m/zero_shot.parquet",
    }
    assert default.mdl_pass_reuse("arc", "gemma3-270m", "cloze") == {}  # not a hardness model
    assert default.mdl_pass_reuse("strategyqa", "smollm2-135m", "0306")  # its MDL prompt


def test_every_cell_spec_round_trips_through_its_folder(default, paper):
    for plan in (default, paper):
        for directory, spec in plan.cells.items():
            assert spec.directory == directory
            parsed = CellSpec.from_directory(directory)
            assert parsed.path_fields() == spec.path_fields()
            assert CellSpec.from_dict(spec.as_dict()) == spec
            assert plan.cell(directory) is spec


def test_from_directory_refuses_a_malformed_path():
    with pytest.raises(ValueError, match="is not a cell folder"):
        CellSpec.from_directory("results/cells/arc/m/icl-0040/any/all-nine/r1-cap3-s0")


def test_unplanned_cell_is_named(default):
    spec = next(iter(default.cells.values()))
    other = CellSpec.from_directory(spec.directory.replace("-s0", "-s7"))
    with pytest.raises(PlanError, match="not a cell of this configuration"):
        default.cell(other.directory)


def test_settings_that_change_predictions_are_in_the_spec(default):
    """reserve, cap_measures and max_new_tokens are part of the spec the job gets (params)."""
    zs = default.one(dataset="arc", model="smollm2-135m", method="zs", measure="any", train="unsup")
    assert zs.reserve == 40 and zs.cap_measures == (  # the largest learning-curve size
        "human_grade",
        "human_difficulty",
        "human_bloom",
        "mdl_learned:hard",  # secondary measures: only hard-test outputs compare
        "question_num_words:hard",
        "mdl_decoding:hard",
        "any@40",  # the train = All cells' sample, at experiments.all_test_cap
    )
    everything = default.find(dataset="arc", model="smollm2-135m", measure="any", train="all")
    assert {s.cap for s in everything} == {40} and zs.cap == 20
    # a dataset without all_test_cap: its All cells' sample at test_cap, no own cap
    mmlu = default.one(dataset="mmlu", model="smollm2-135m", method="zs", measure="any")
    assert mmlu.cap_measures[-1] == "any"
    cot = default.one(dataset="gsm8k", method="icl_cot", train="hard", measure="num_steps")
    assert cot.max_new_tokens == 64
    params = default.cell_params(zs)
    assert params["spec"]["reserve"] == 40 and params["spec"]["cap_measures"][-1] == "any@40"
    # job sizes are not predictions: editing them reruns nothing
    entry = params["registry"]["smollm2-135m"]
    assert not {"gpus", "mem_mb", "runtime"} & set(entry)
    assert entry["batch_size"] == 32


def test_two_models_reach_every_figure_that_shows_models(default):
    plan = plan_of(two_models(default.config))
    # Figure 1's 13 cells and the ladder's k = 4 StrategyQA pair run on smollm2 only; the
    # ladder's gemma cells (13) and the weak-to-strong cells (11) are not other's
    # less GSM8k's and StrategyQA's 3 LoRA-CoT and MMLU's 9 LoRA-MC cells per model
    # (trained.skip; the second model runs no Figure-1 transfer cells: 5 of its own MMLU
    # LoRA-MC cells)
    assert len(plan.cells) == 2 * 135 - 13 - 2 + 13 + 11 - 2 * (3 + 3) - (9 + 5)
    for output_id in [
        "fig-e2h-main",
        "fig-e2h-all-test",
        "fig-e2h-extra-measures",
        "fig-acc-vs-test-hardness",
        "fig-acc-vs-test-hardness-extra",
        "tab-sgr",
        "tab-sgr-pairwise",
        "fig-sgr-by-method",
        "tab-sgr-by-method",
        "fig-sgr-by-method-extra",
        "tab-all-to-all",
    ]:
        out = plan.outputs[output_id]
        cell_models = {plan.cell(str(Path(p).parent)).model for p in out.inputs["cells"]}
        assert cell_models == {"smollm2-135m", "other"}, output_id
        specs = out.params.get("panels") or out.params["rows"]
        assert {s["model"] for s in specs} == {"smollm2-135m", "other"}, output_id
    titles = [p["title"] for p in plan.outputs["fig-e2h-main"].params["panels"]]
    assert "other: ARC Grade Level" in titles and "smollm2-135m: ARC Grade Level" in titles
    assert plan.outputs["fig-e2h-main"].params["title"].endswith("(smollm2-135m, other)")
    # one model: its name is in the figure title, not in every panel
    assert default.outputs["fig-e2h-main"].params["title"].endswith("(smollm2-135m)")
    assert default.outputs["fig-e2h-main"].params["panels"][0]["title"] == "ARC Grade Level"
    assert plan.outputs["fig-third-grade-to-college"].params["model"] == "smollm2-135m"


def test_without_trained_methods_only_prompting_ids_exist(default):
    cfg = copy.deepcopy(default.config)
    cfg["experiments"]["trained"] = None
    cfg["experiments"]["noisy_labels"] = None  # a linear-probe experiment
    cfg["experiments"]["learning_curves"] = None
    cfg["experiments"]["third_grade_to_college"]["methods"] = ["icl"]
    cfg["experiments"]["weak_to_strong"].update(methods={"icl": 10}, confidence={"methods": []})
    plan = plan_of(cfg)
    assert set(plan.outputs) == {
        "tab-sgr-vs-pgr",
        "fig-sgr-vs-pgr",
        "tab-datasets",
        "tab-cutoffs",
        "fig-hardness-histograms",
        "tab-mdl-online",
        "fig-hardness-correlations",
        "fig-hardness-correlations-all",
        "fig-e2h-main",
        "fig-e2h-all-test",
        "fig-e2h-extra-measures",
        "fig-acc-vs-test-hardness",
        "fig-acc-vs-test-hardness-extra",
        "tab-sgr",
        "tab-sgr-pairwise",
        "tab-sgr-vs-paper",
        "fig-third-grade-to-college",
        "fig-train-test-gap",
        "tab-model-ladder",
        "fig-scaling",
        "fig-strategyqa-by-model",
        "fig-third-grade-to-college-by-model",
    }
    # no probe: the zero-shot passes serve the zero-shot cells only
    assert all(
        registry.method(c.method).zero_shot
        for rep in plan.representations.values()
        for c in rep.cells
    )
    assert {registry.method(s.method).kind for s in plan.cells.values()} == {"prompting"}


def test_without_experiments_only_the_data_stage_ids_exist(default):
    cfg = copy.deepcopy(default.config)
    del cfg["experiments"]
    plan = plan_of(cfg)
    assert set(plan.outputs) == {
        "tab-datasets",
        "tab-cutoffs",
        "fig-hardness-histograms",
        "fig-hardness-correlations",
        "fig-hardness-correlations-all",
        "tab-mdl-online",  # the MDL stage is hardness annotation, not an experiment
    }
    assert not plan.cells


def test_paper_scale_cell_counts(paper):
    kinds = Counter(registry.method(s.method).kind for s in paper.cells.values())
    # 25 population-grid + 24 secondary-measure ICL cells (length and MDL measures, easy /
    # hard) + StrategyQA's non-CoT row + 5 Figure 1
    # + the ladder: zero-shot of 6 models x 4 datasets (70b's exist; Figure 1's MMLU zero-shot
    # for the 5 others), fig-scaling's MMLU easy / hard (7b, 13b), fig-strategyqa-by-model's
    # k = 4 easy / hard (4 models) and Figure 1's four ICL sources (3 models besides Mixtral)
    # + weak-to-strong on ARC grade and MMLU (the gold-label arms are the grid's): ICL with
    # weak labels (easy / hard) on each
    assert kinds["prompting"] == 50 + 5 + (5 * 4 + 3) + 2 * 2 + 4 * 2 + 3 * 4 + 2 * 2
    # probe 17 + 9 + 7, LoRA-MC 17 + 9 + 1, LoRA-CoT 7 + 7, + probe and LoRA-MC x 4 sources,
    # + learning curves: 5 measures x easy / hard x 6 sizes
    # + noisy labels: easy / hard x 4 noise levels (the clean pair, n = 160 and 5 resamples,
    # is the grid's probe cell)
    # + weak-to-strong: probe and LoRA-MC students on weak labels, with and without the
    # confidence loss, easy / hard, on 2 datasets; the 7b probe supervisor on each
    assert kinds["probe"] + kinds["lora"] == 74 + 8 + 60 + 2 * 4 + 2 * 2 * 2 * 2 + 2
    trained = {s.model for s in paper.cells.values() if registry.method(s.method).trained}
    assert trained == {"llama2-70b", "mixtral-8x7b", "llama2-7b"}
    reps = paper.representations.values()
    with_probe = [r for r in reps if any(c.method == "probe" for c in r.cells)]
    assert len(with_probe) == 5 + 2  # + the supervisor's ARC and MMLU features
    # every other zero-shot pass is a zero-shot cell's (ladder models, MC datasets)
    assert all(
        registry.method(c.method).zero_shot for r in reps for c in r.cells if c.method != "probe"
    )
    assert {(r.dataset, r.model) for r in reps if r not in with_probe} <= {
        (s.dataset, s.model) for s in paper.cells.values() if s.method == "zs"
    }
    assert all(s.cap is None for s in paper.cells.values() if s.dataset != "gsm8k")


def test_id_table_names_rule_script_and_module_of_every_id(default):
    assert set(default.outputs) <= set(OUTPUTS)
    for kind in OUTPUTS.values():
        assert Path(kind.script).is_file(), kind.script
        importlib.import_module(kind.module)
        assert kind.rule == kind.id.replace("-", "_")
        assert (ROOT / "workflow" / "report" / f"{kind.id}.rst").is_file(), kind.id
    row = {r["id"]: r for r in default.id_table()}["fig-e2h-main"]
    assert row["script"] == "workflow/scripts/fig_e2h_main.py" and row["cells"] == "21"


def test_each_id_depends_on_exactly_the_code_it_runs(default):
    """stats.py: every statistics output and no cell; scoring.py: cells that score."""
    stats = str(ROOT / "workflow/e2h/stats.py")
    scoring = str(ROOT / "workflow/e2h/scoring.py")
    uses_stats = {i for i, o in default.outputs.items() if stats in o.all_inputs()["code"]}
    assert uses_stats == {
        "fig-e2h-main",
        "fig-e2h-all-test",
        "fig-e2h-extra-measures",
        "fig-acc-vs-test-hardness",
        "fig-acc-vs-test-hardness-extra",
        "tab-sgr",
        "tab-sgr-pairwise",
        "tab-sgr-vs-paper",
        "fig-third-grade-to-college",
        "fig-sgr-by-method",
        "fig-sgr-by-method-extra",
        "tab-sgr-by-method",
        "tab-all-to-all",
        "fig-cost-curves",
        "fig-cost-curves-mmlu",
        "fig-train-test-gap",
        "fig-third-grade-to-college-by-method",
        "fig-noisy-labels",
        "tab-model-ladder",
        "fig-scaling",
        "fig-strategyqa-by-model",
        "fig-third-grade-to-college-by-model",
        "tab-sgr-vs-pgr",
        "fig-sgr-vs-pgr",
    }
    scripts = ROOT / "workflow" / "scripts"
    for script in ("run_cells.py", "run_trained_cells.py", "extract_hidden_states.py"):
        closure = module_closure(scripts / script)
        assert stats not in closure and scoring in closure, script
    for o in default.outputs.values():
        assert scoring not in o.all_inputs()["code"], o.id


def test_cell_path_has_every_path_field():
    for name in ("dataset", "model", "method", "prompt", "measure", "train", "n", "seed"):
        assert "{" + name + "}" in CELL_PATH


def test_docs_list_every_id_with_its_module():
    text = (ROOT / "docs" / "figures.md").read_text()
    for kind in OUTPUTS.values():
        assert f'<a id="{kind.id}"></a>`{kind.id}`' in text, kind.id
        row = next(line for line in text.splitlines() if f'<a id="{kind.id}">' in line)
        assert f"`{kind.module}`" in row, kind.id


def test_prompt_overrides_come_from_config_and_are_checked(default):
    cfg = copy.deepcopy(default.config)
    cfg["datasets"]["arc"]["prompts"] = {"zs": "cloze", "icl": "cloze"}
    plan = plan_of(cfg)
    arc = [s for s in plan.cells.values() if s.dataset == "arc"]
    assert {s.prompt for s in arc if s.method in ("zs", "icl")} == {"cloze"}
    assert {s.prompt for s in arc if s.method == "probe"} == {"0040"}  # the paper's otherwise
    assert CellSpec.from_directory(arc[0].directory).prompt == "cloze"
    for bad, message in [
        ({"icl_cot": "0305"}, r"arc does not run 'icl_cot'"),
        ({"icl": "9999"}, r"unknown prompt '9999'"),
        ({"icl": "0305"}, r"prompt '0305' has a chain of thought; allowed for icl: 0040, 0306"),
    ]:
        cfg["datasets"]["arc"]["prompts"] = bad
        with pytest.raises(ValueError, match=message):
            plan_of(cfg)


def test_cell_jobs_group_cells_by_dataset_model_and_kind(default, paper):
    """One job per (dataset, model, kind) by default; one per cell at paper scale. Every
    planned cell is in exactly one job, and a job's inputs cover its cells' inputs."""
    kinds = {(g.directory, g.kind) for g in default.groups.values()}
    assert kinds == {
        (f"{d}/smollm2-135m/{k}", k)
        for d in ("arc", "mmlu", "strategyqa", "gsm8k")
        for k in ("prompting", "probe", "lora")
        # GSM8k has no probe; trained.skip leaves out GSM8k LoRA-CoT and MMLU LoRA-MC
        if not (d == "gsm8k" and k == "probe") and not (d in ("gsm8k", "mmlu") and k == "lora")
    } | {
        (f"{d}/gemma3-270m/prompting", "prompting") for d in ("arc", "mmlu", "strategyqa", "gsm8k")
    } | {  # the weak-to-strong cells no other experiment needs: jobs of their own
        ("arc/gemma3-270m/probe-w2s", "probe"),
        ("arc/gemma3-270m/prompting-w2s", "prompting"),
        ("arc/smollm2-135m/prompting-w2s", "prompting"),
    }
    for plan in (default, paper):
        cells = [s for g in plan.groups.values() for s in g.cells]
        assert sorted(c.directory for c in cells) == sorted(plan.cells)
        for group in plan.groups.values():
            inputs = plan.group_inputs(group)
            for spec in group.cells:
                for key, paths in plan.cell_inputs(spec).items():
                    assert set(paths) <= set(inputs[key])
            assert len(group.outputs()) == 2 * len(group.cells)
    assert all(len(g.cells) == 1 for g in paper.groups.values())
    assert len(paper.groups) == len(paper.cells)
    mmlu_icl = default.groups["mmlu/smollm2-135m/prompting"]
    assert any(s.is_transfer for s in mmlu_icl.cells)  # 3rd grade → college reads ARC too
    # ARC's hardness table: human measures and MDL (the default config has both)
    assert "results/hardness/arc/hardness.parquet" in default.group_inputs(mmlu_icl)["tables"]


def test_stratum_sizes_are_cached_and_a_read_only_cache_is_no_error(tmp_path, monkeypatch):
    """e2h.strata: the first call computes and caches, later calls read the cache; an
    unwritable cache folder only costs the caching."""
    import e2h.strata as strata

    calls = []
    monkeypatch.setattr(strata, "_compute", lambda *a: calls.append(1) or {"m": {"easy": 3}})
    import e2h.data.sources as sources

    monkeypatch.setattr(sources, "read_manifest", lambda _: {"files": {"x": 1}})
    config = {"percentiles": [0.3, 0.7], "datasets": {"arc": {"hardness_pool": 10}}, "seed": 0}
    data = {"source": "bundled", "snapshot_dir": str(tmp_path)}
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert strata.stratum_sizes("arc", data, config, {"m": {}}) == {"m": {"easy": 3}}
    assert strata.stratum_sizes("arc", data, config, {"m": {}}) == {"m": {"easy": 3}}
    assert len(calls) == 1  # the second call read the cache
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert strata.stratum_sizes("arc", data, config, {"m": {}}) == {"m": {"easy": 3}}
    assert len(calls) == 2


def test_trained_skip_leaves_one_method_out_on_one_dataset(default):
    """trained.skip removes a method's cells on the named dataset only; its panels keep the
    other methods, and the other datasets keep it."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["experiments"]["trained"]["skip"] = {}
    unskipped = plan_of(cfg)
    cfg["experiments"]["trained"]["skip"] = {"gsm8k": ["lora_cot"]}
    gsm8k_only = plan_of(cfg)
    lora_cot = {d for d in unskipped.cells if "/gsm8k/" in d and "/lora_cot-" in d}
    assert len(lora_cot) == 3  # easy, hard, all
    assert not lora_cot & set(gsm8k_only.cells)
    assert {d for d in gsm8k_only.cells if "/strategyqa/" in d and "/lora_cot-" in d}
    gsm8k = [s for s in gsm8k_only.method_panel_specs() if s.get("dataset") == "gsm8k"]
    assert gsm8k and all(list(s["methods"]) == ["ICL"] for s in gsm8k), gsm8k
    assert set(gsm8k_only.cells) < set(unskipped.cells)
    assert set(default.cells) < set(gsm8k_only.cells)  # the default skips more


@pytest.mark.parametrize(
    ("skip", "message"),
    [
        ({"gsm9k": ["lora_cot"]}, "experiments.trained.skip.gsm9k: not a configured dataset"),
        ({"arc": ["lora"]}, "experiments.trained.skip.arc: 'lora' is not in experiments"),
    ],
)
def test_trained_skip_is_validated(skip, message):
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["experiments"]["trained"]["skip"] = skip
    with pytest.raises(ValueError, match=message):
        validated(cfg)


def test_mdl_levels_too_small_for_a_test_sample_are_refused_at_parse_time():
    """MDL levels are cut over the scored probing items (mdl.probing_cap), so their sizes
    are known before the MDL stage runs: a level that keeps no test item after the training
    reserve is refused, naming the key and the cap that would do."""
    from e2h.strata import mdl_level_errors, mdl_level_sizes

    assert mdl_level_sizes(400, [0.3, 0.7]) == {"easy": 120, "medium": 160, "hard": 120}
    assert mdl_level_sizes(10, [0.3, 0.7]) == {"easy": 3, "medium": 4, "hard": 3}
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    plan = plan_of(cfg)
    sizes = {"mmlu": {"human_hardness": {"easy": 1000, "hard": 600}}}
    assert mdl_level_errors(plan, sizes) == []
    cfg["mdl"]["probing_cap"]["mmlu"] = 130  # hard: 39 items, the reserve is 40
    errors = mdl_level_errors(plan_of(cfg), sizes)
    assert len(errors) == 1, errors
    assert errors[0].startswith("mdl.probing_cap.mmlu: mdl_decoding = hard has about 39 of")
    assert "keeps 40 for training" in errors[0] and "at least 135" in errors[0]
    assert mdl_level_sizes(135, [0.3, 0.7])["hard"] == 41


def test_figure_one_by_method_names_the_methods_it_leaves_out(default, paper) -> None:
    """The default skips MMLU's LoRA-MC, so Figure 1 by method has no LoRA facet: the
    figure's params say why (drawn under the plot); paper scale leaves nothing out."""
    params = default.outputs["fig-third-grade-to-college-by-method"].params
    assert "LoRA" not in params["cells"]
    assert params["left_out"] == {"LoRA": "left out by experiments.trained.skip (MMLU)"}
    assert paper.outputs["fig-third-grade-to-college-by-method"].params["left_out"] == {}


def test_sgr_by_method_names_the_methods_it_leaves_out(default, paper) -> None:
    """The default skips LoRA-MC on MMLU and LoRA-CoT on StrategyQA and GSM8k: those facets
    of fig-sgr-by-method have no LoRA bar, and the figure's params say why per method (drawn
    under the plot); paper scale leaves nothing out."""
    params = default.outputs["fig-sgr-by-method"].params
    # LoRA-MC and LoRA-CoT are both "LoRA" in the figure, as in the paper
    assert params["left_out"] == {
        "LoRA": "left out by experiments.trained.skip (MMLU, StrategyQA, GSM8k)"
    }
    shown = {(s["dataset"], m) for s in params["panels"] for m in s["methods"]}
    assert ("arc", "LoRA") in shown  # the note's datasets are exactly those without the bar
    assert not {("mmlu", "LoRA"), ("strategyqa", "LoRA"), ("gsm8k", "LoRA")} & shown
    # the secondary measures' figure names only what its own datasets leave out (ARC, MMLU)
    extra = default.outputs["fig-sgr-by-method-extra"].params["left_out"]
    assert extra == {"LoRA": "left out by experiments.trained.skip (MMLU)"}
    assert paper.outputs["fig-sgr-by-method"].params["left_out"] == {}
