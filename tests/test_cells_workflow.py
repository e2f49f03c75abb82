"""The prompting stage end to end on the tiny random model: cells, SGR tables, figures,
determinism, and what reruns after a change (issue: regenerating after changes)."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from e2h.data.sources import sha256_file
from tests.browser import chromium as chromium  # a fixture
from tests.conftest import ROOT
from tests.slurm_local import slurm_cluster as slurm_cluster  # a fixture
from tests.test_workflow import copy_repository, expected_conditions, smk
from tests.tiny_model import build_tiny

pytestmark = pytest.mark.slow

RQ2_FIGURES = [
    "fig-e2h-main",
    "fig-e2h-all-test",
    "fig-acc-vs-test-hardness",
    "fig-third-grade-to-college",
    "fig-sgr-by-method",
    "fig-sgr-by-method-extra",
    "fig-third-grade-to-college-by-method",
    "fig-train-test-gap",
    "fig-cost-curves",
    "fig-noisy-labels",
    "fig-scaling",
    "fig-strategyqa-by-model",
    "fig-third-grade-to-college-by-model",
    "fig-sgr-vs-pgr",
]
HIDDEN = "results/representations/strategyqa/tiny/p0306/manifest.json"
RQ2_TABLES = [
    "tab-sgr",
    "tab-sgr-pairwise",
    "tab-sgr-vs-paper",
    "tab-sgr-by-method",
    "tab-all-to-all",
    "tab-model-ladder",
    "tab-sgr-vs-pgr",
]


def tiny_config(model_dir: Path, second_model_dir: Path | None = None) -> dict:
    cfg = yaml.safe_load((ROOT / "tests/data/config.test.yaml").read_text())
    cfg["datasets"]["arc"]["prompts"] = {"zs": "cloze", "icl": "cloze"}  # a configured prompt
    # model-based hardness (tab-mdl-online, the MDL correlations), the tiny model its own
    # hardness model; no experiment is stratified by it
    for measure in ("mdl_decoding", "mdl_learned"):
        cfg["datasets"]["arc"]["measures"][measure] = {"rule": "percentile"}
    cfg["mdl"] = {
        "models": ["tiny"],
        "dev": 10,
        "probing_cap": {"arc": 300},
        "learned": {"sizes": [2, 6], "resamples": 2},
    }
    entry = {
        "precision": "auto",  # as the default config: bf16 on CPUs with bf16 instructions
        "threads": 1,  # tiny-model jobs: two at once on 2 cores
        "lora_targets": ["q_proj", "v_proj"],
        "batch_size": 8,
        "max_length": 1024,
    }
    cfg["models"] = {
        "tiny": {"local_path": str(model_dir), **entry},
        "tiny2": {"local_path": str(second_model_dir or model_dir), **entry},
    }
    cfg["experiments"] = {
        "models": ["tiny"],
        "resamples": 2,
        "test_cap": {"arc": 3, "mmlu": 3, "strategyqa": 2, "gsm8k": 2},
        "k": {"arc": 2, "mmlu": 2, "strategyqa": 2, "gsm8k": 2},
        "max_new_tokens": {"strategyqa": 6, "gsm8k": 6},
        "measures": {
            "arc": ["human_grade"],
            "mmlu": ["human_hardness"],
            "strategyqa": ["num_steps"],
            "gsm8k": ["num_steps"],
        },
        "train_levels": ["easy", "medium", "hard"],
        "all_to_all": True,
        "extra_measures": {"arc": ["question_num_words"]},  # the trained extras' ICL arms
        "learning_curves": {
            "sizes": [3, 4],  # not the grid probe's n = 2: no shared cell
            "resamples": 2,
            "measures": {"arc": ["human_grade"], "mmlu": ["human_hardness"]},
            "cost": {"hard_factor": 2, "min": 2, "max": None},
        },
        # the clean pair is the grid's probe cell (n = 2, 2 resamples); both noise modes
        "noisy_labels": {
            "dataset": "mmlu",
            "measure": "human_hardness",
            "n": 2,
            "resamples": 2,
            "noise": [0, 0.4],
            "modes": ["any", "wrong_only"],
        },
        # a second tiny model (another seed, three layers) makes the ladder's by-model ids
        "ladder": {"models": ["tiny", "tiny2"], "strategyqa_k": 3},
        # tiny's ICL supervises tiny2's ICL and probe, the probe also with the confidence loss
        # (LoRA-MC students on weak labels: tests/test_weak_to_strong.py, in-process)
        "weak_to_strong": {
            "measures": {"arc": ["human_grade"]},
            "supervisor": {"model": "tiny", "method": "icl", "n": 2},
            "student": "tiny2",
            "methods": {"icl": 2, "probe": 3},
            "confidence": {"methods": ["probe"], "alpha_max": 0.5, "warmup": 0.5},
        },
        "third_grade_to_college": {
            "model": "tiny",
            "k": 2,
            "resamples": 2,
            "test_cap": 4,
            "methods": ["icl", "probe", "lora_mc"],
        },
        "trained": {
            "methods": ["probe", "lora_mc", "lora_cot"],
            "n": 2,
            "train_levels": ["easy", "hard"],
            "extra_measures": {"arc": ["question_num_words"]},
            "probe": {"epochs": 20},
            "lora": {"lr": 1e-3, "min_steps": 2, "cot_min_steps": 2, "micro_batch": 2},
        },
    }
    cfg["statistics"] = {"bootstrap_draws": 200, "sgr_bootstrap_draws": 500}
    return cfg


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A copy of the repository with a finished tiny run (so tests may edit its files)."""
    base = tmp_path_factory.mktemp("cells")
    repo = base / "repo"
    copy_repository(repo)
    model_dir = build_tiny(base / "tiny")
    second = build_tiny(base / "tiny2", seed=1, layers=3)
    cfg_path = base / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(tiny_config(model_dir, second)))
    work = base / "work"
    smk(
        work, "--cores", "2", "all", HIDDEN, configfile=cfg_path,
        snakefile=repo / "Snakefile",
    )  # fmt: skip
    return repo, work, cfg_path


def test_every_figure_and_cell_exists(finished_run):
    repo, work, cfg_path = finished_run
    for fig in RQ2_FIGURES:
        assert (work / f"figures/{fig}.pdf").stat().st_size > 1000
        assert (work / f"results/figure_data/{fig}.csv").exists()
    for tab in RQ2_TABLES:
        assert (work / f"results/tables/{tab}.tex").exists()
    sgr = pd.read_csv(work / "results/tables/tab-sgr.csv")
    assert set(sgr["Test Hardness"]) == {"Hard", "All"} and len(sgr) == 8
    records = list((work / "results/cells").rglob("cell.json"))
    cfg = yaml.safe_load(cfg_path.read_text())
    prompting, trained = expected_conditions(cfg), expected_conditions(cfg, trained_cells=True)
    # + five Figure-1 sources by ICL, four each by probe and LoRA-MC; the ladder: StrategyQA
    # easy / hard at k = 3 for both models, and tiny2's zero-shot cells (4 datasets), MMLU easy
    # / hard and five Figure-1 sources; noisy labels: easy / hard at p = 0.4 in two modes
    # weak-to-strong: the supervisor; tiny2's ARC gold easy / hard for ICL and the probe, the
    # same on weak labels, and the probe on weak labels with the confidence loss
    w2s = 1 + 2 * 2 + 2 * 2 + 1 * 2
    assert len(records) == prompting + trained + 5 + 8 + 2 * 2 + 4 + 2 + 5 + 2 * 2 + w2s
    for rec in records:
        cell = json.loads(rec.read_text())
        assert cell["cell_sha256"] and cell["packages"]["torch"]
        assert cell["model"]["model_key"] in {"tiny", "tiny2"} and cell["summary"]
        # the batch this attempt ran with (the registry's at the first attempt)
        assert cell["batch_size_used"] in ({"tiny": 8}, {"tiny2": 8}, {}), cell["batch_size_used"]
    noisy = pd.read_csv(work / "results/figure_data/fig-noisy-labels.csv")
    points = noisy[noisy["scope"] == "point"]
    assert set(points["mode"]) == {"any", "wrong_only"} and set(points["p"]) == {0.0, 0.4}
    assert (points.loc[points["p"] == 0, "realised_rate"] == 0).all()
    hard = points[(points["source"] == "hard") & (points["p"] == 0.4)]
    assert (hard["noise"] == 0.8).all() and hard["realised_rate"].between(0, 1).all()
    ladder = pd.read_csv(work / "results/tables/tab-model-ladder.csv")
    assert set(ladder["model"]) == {"tiny", "tiny2"} and set(ladder["rank"]) == {1, 2}
    assert len(ladder) == 8 and ladder["n_items"].gt(0).all()
    order = list(ladder.drop_duplicates("model").sort_values("rank")["model"])
    scaling = pd.read_csv(work / "results/figure_data/fig-scaling.csv")
    assert list(dict.fromkeys(scaling["model"])) == order  # facets by measured strength
    by_model = pd.read_csv(work / "results/figure_data/fig-third-grade-to-college-by-model.csv")
    assert list(dict.fromkeys(by_model["facet"])) == order and len(by_model) == 10
    pgr = pd.read_csv(work / "results/tables/tab-sgr-vs-pgr.csv")
    assert list(pgr["method_label"]) == ["ICL", "Linear Probe", "Linear Probe + conf. loss"]
    assert pgr["n_items"].gt(0).all() and pgr["weak"].between(0, 1).all()
    assert pgr["weak_label_accuracy_hard"].between(0, 1).all()
    weak_cells = [json.loads(r.read_text()) for r in records if "-weak_tiny_icl_n2" in str(r)]
    assert len(weak_cells) == 2 * 2 + 1 * 2
    assert all(c["weak_labels"]["sha256"] for c in weak_cells)  # what each student learned from


#: The 25 figure and table ids of the paper (docs/figures.md), and the project's own.
PAPER_IDS = {
    "fig-third-grade-to-college", "tab-datasets", "tab-cutoffs", "fig-hardness-correlations",
    "fig-hardness-correlations-all", "fig-acc-vs-test-hardness",
    "fig-acc-vs-test-hardness-extra", "fig-hardness-histograms", "fig-e2h-main",
    "fig-e2h-all-test", "fig-e2h-extra-measures", "fig-sgr-by-method", "tab-sgr-by-method",
    "fig-sgr-by-method-extra", "tab-sgr", "tab-sgr-pairwise", "tab-all-to-all",
    "fig-cost-curves", "fig-cost-curves-mmlu", "fig-noisy-labels", "fig-scaling",
    "fig-train-test-gap", "fig-third-grade-to-college-by-method",
    "fig-third-grade-to-college-by-model", "fig-strategyqa-by-model",
}  # fmt: skip
OWN_IDS = {
    "tab-sgr-vs-paper", "tab-mdl-online", "tab-model-ladder", "tab-sgr-vs-pgr", "fig-sgr-vs-pgr",
}  # fmt: skip


def test_every_id_from_one_command_with_its_files_and_caption(finished_run):
    """The default DAG builds exactly the paper's 25 ids and ours; the tiny run (the same
    code path) built every one of them, each with PDF, PNG and figure data (tables: CSV and
    LaTeX) and a caption in the HTML report."""
    from e2h.plan import load_plan

    repo, work, cfg_path = finished_run
    assert len(PAPER_IDS) == 25
    default = load_plan(ROOT / "config.yaml")
    assert set(default.outputs) == PAPER_IDS | OWN_IDS
    tiny = load_plan(cfg_path)
    assert set(tiny.outputs) == set(default.outputs)
    for output in tiny.outputs.values():
        files = output.files(["pdf", "png"])
        if output.kind.kind == "figure":
            assert [Path(f).suffix for f in files["figures"]] == [".pdf", ".png"]
            for path in files["figures"]:
                assert (work / path).stat().st_size > 1000, path
            assert len(pd.read_csv(work / files["data"])) > 0, output.id
        else:
            assert len(pd.read_csv(work / files["csv"])) > 0, output.id
            assert "\\begin{tabular}" in (work / files["tex"]).read_text(), output.id
        caption = repo / "workflow" / "report" / f"{output.id}.rst"
        assert len(caption.read_text().split()) > 15, output.id
    html = built_report(finished_run).read_text(errors="replace")
    for output_id in tiny.outputs:
        assert output_id in html, output_id


def built_report(finished_run) -> Path:
    """The finished run's HTML report (``snakemake --report``), built once."""
    repo, work, cfg_path = finished_run
    report = work / "report.html"
    if not report.exists():
        smk(work, "--report", str(report), configfile=cfg_path, snakefile=repo / "Snakefile")
    return report


#: Run in the report page after it loads: open every category and subcategory of the menu as
#: a reader would, note which ids the page lists, open each figure and read its image.
REPORT_CHECK = """<script>
window.addEventListener("load", async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const link = (text) => [...document.querySelectorAll("a")].find(
    (el) => el.textContent.trim() === text);
  const click = async (text) => { const a = link(text); if (a) { a.click(); await sleep(300); } };
  const label = (r) => (r.labels || {}).figure || (r.labels || {}).table;
  const ids = Object.values(results).map(label).filter((id) => id);
  const shown = new Set();
  const images = {};
  const look = async () => {  // the ids now listed; open each figure and read its image
    for (const id of ids) {
      const cell = [...document.querySelectorAll("#app td")].find(
        (td) => td.textContent.trim() === id);
      if (!cell) continue;
      shown.add(id);
      const result = Object.values(results).find((r) => label(r) === id);
      if (!result.mime_type.startsWith("image/")) continue;
      (cell.parentElement.querySelector('a[iconname="eye"]') || cell).click();  // "show"
      await sleep(300);
      const img = [...document.images].find((i) => i.src.startsWith("data:image/png"));
      images[id] = img && img.complete ? img.naturalWidth : 0;
    }
  };
  await sleep(2000);  // the report's app draws its menu after the page has loaded
  for (const category of Object.keys(categories)) {
    await click("Results");
    await click(category);
    const subcategories = Object.keys(categories[category]);
    if (!subcategories.some(link)) { await look(); continue; }  // one subcategory: no menu
    for (const subcategory of subcategories) {
      await click(subcategory);
      await look();
      await click(category);
    }
  }
  const out = document.createElement("pre");
  out.id = "e2h-check";
  out.textContent = JSON.stringify({shown: [...shown], images: images});
  document.body.appendChild(out);
});
</script>"""


def test_the_html_report_opens_in_a_browser_with_every_id(finished_run, chromium, tmp_path):
    """The report as a person sees it: headless Chromium renders it (a screenshot), every
    id of the run appears when its category is opened, every figure is a PNG the browser
    decodes, and the provenance page is there."""
    import html as html_lib

    from PIL import Image

    from tests.browser import headless

    repo, work, cfg = finished_run
    report = built_report(finished_run)
    shot = tmp_path / "report.png"
    headless(chromium, "--window-size=1400,1800", "--virtual-time-budget=8000",
             f"--screenshot={shot}", report.as_uri())  # fmt: skip
    with Image.open(shot) as image:  # the page was drawn: not one flat colour
        assert image.size == (1400, 1800) and len(image.convert("L").getcolors(1 << 16)) > 20
    shutil.copy(shot, work / "report-screenshot.png")  # to look at
    checked = tmp_path / "checked.html"
    page, _, end = report.read_text().rpartition("</body>")  # the last: scripts contain it too
    checked.write_text(page + REPORT_CHECK + "</body>" + end)
    dom = headless(chromium, "--virtual-time-budget=30000", "--dump-dom", checked.as_uri()).stdout
    found = re.search(r'<pre id="e2h-check">(.*?)</pre>', dom, flags=re.S)
    assert found, dom[-2000:]
    check = json.loads(html_lib.unescape(found.group(1)))
    plan = _plan(cfg)
    assert set(check["shown"]) == set(plan.outputs), set(plan.outputs) ^ set(check["shown"])
    figures = {i for i, o in plan.outputs.items() if o.kind.kind == "figure"}
    assert set(check["images"]) == figures
    assert all(width > 100 for width in check["images"].values()), check["images"]
    assert "Provenance" in dom


def test_predictions_carry_every_cell_field_and_train_items_are_not_tested(finished_run):
    _, work, _ = finished_run
    for path in (work / "results/cells").rglob("predictions.parquet"):
        pred = pd.read_parquet(path)
        for col in [
            "id",
            "resample",
            "correct",
            "dataset",
            "model",
            "method",
            "prompt",
            "measure",
            "train",
            "n",
            "seed",
            "cot",
        ]:
            assert col in pred.columns, (path, col)
        assert not pred.duplicated(["id", "resample"]).any()


def test_rerun_cells_are_byte_identical(finished_run, tmp_path):
    """A forced rerun of an ICL, a probe, a LoRA-MC and a CoT cell writes the same bytes."""
    repo, work, cfg = finished_run
    cells = work / "results/cells"
    targets = [
        # ICL tests every level; probe and LoRA cells only hard (-test_hard, fig-sgr-by-method)
        next((cells / "arc/tiny").glob(f"{method}-*/human_grade/hard-n2*/*/predictions.parquet"))
        for method in ("icl", "probe", "lora_mc")
    ]
    targets.append(
        next((cells / "gsm8k/tiny").glob("icl_cot-*/num_steps/hard-n2/*/predictions.parquet"))
    )
    kept = {}
    for target in targets:
        for path in (target, target.with_name("cell.json")):
            kept[path] = tmp_path / str(len(kept))
            shutil.copy2(path, kept[path])
    before = {t: sha256_file(t) for t in targets}
    smk(
        work,
        "--cores",
        "2",
        "--force",
        *[str(t.relative_to(work)) for t in targets],
        configfile=cfg,
        snakefile=repo / "Snakefile",
    )
    after = {t: sha256_file(t) for t in targets}
    for src, dst in kept.items():  # leave the finished run as it was for the other tests
        shutil.copy2(dst, src)
    assert before == after


def _planned_rules(work: Path, repo: Path, cfg: Path) -> dict[str, int]:
    out = smk(work, "-n", "--quiet", "rules", configfile=cfg, snakefile=repo / "Snakefile")
    rules = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            rules[parts[0]] = int(parts[1])
    return rules


def _plan_after_edit(repo: Path, work: Path, cfg: Path, rel: str) -> dict[str, int]:
    """The rules a dry run plans after appending a comment to ``rel``; the file's content
    and time stamps are restored afterwards, so the next test sees the finished run."""
    module = repo / rel
    original, stat = module.read_text(), module.stat()
    module.write_text(original + "\n# an edit\n")
    try:
        return _planned_rules(work, repo, cfg)
    finally:
        module.write_text(original)
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))


#: Every id that computes a statistic (accuracy CI, SGR, bootstrap) from cell predictions.
STATISTICS_RULES = {
    "fig_e2h_main",
    "fig_e2h_all_test",
    "fig_acc_vs_test_hardness",
    "fig_acc_vs_test_hardness_extra",
    "fig_e2h_extra_measures",
    "fig_cost_curves_mmlu",
    "fig_third_grade_to_college",
    "fig_sgr_by_method",
    "fig_sgr_by_method_extra",
    "fig_third_grade_to_college_by_method",
    "fig_train_test_gap",
    "fig_cost_curves",
    "fig_noisy_labels",
    "fig_scaling",
    "fig_strategyqa_by_model",
    "fig_third_grade_to_college_by_model",
    "tab_model_ladder",
    "tab_sgr",
    "tab_sgr_pairwise",
    "tab_sgr_vs_paper",
    "tab_sgr_by_method",
    "tab_all_to_all",
    "tab_sgr_vs_pgr",
    "fig_sgr_vs_pgr",
}


def test_finished_run_is_up_to_date(finished_run):
    repo, work, cfg = finished_run
    assert _planned_rules(work, repo, cfg) == {}


def test_editing_a_plotting_function_reruns_only_that_figure(finished_run):
    repo, work, cfg = finished_run
    rules = _plan_after_edit(repo, work, cfg, "workflow/e2h/figures/fig_third_grade_to_college.py")
    assert set(rules) - {"all", "total"} == {"fig_third_grade_to_college"}, rules


def test_editing_the_statistics_reruns_every_statistic_and_no_cell(finished_run):
    repo, work, cfg = finished_run
    rules = _plan_after_edit(repo, work, cfg, "workflow/e2h/stats.py")
    assert set(rules) - {"all", "total"} == STATISTICS_RULES, rules


def test_editing_the_scorer_reruns_the_cells_that_score(finished_run):
    from e2h.config import validated
    from e2h.plan import Plan

    repo, work, cfg = finished_run
    rules = _plan_after_edit(repo, work, cfg, "workflow/e2h/scoring.py")
    plan = Plan(validated(yaml.safe_load(cfg.read_text())))
    # every cell job: prompting and LoRA cells score; probes read features the model scored
    assert {r for r in rules if r.startswith("cells_")} == {g.name for g in plan.groups.values()}
    assert all(rules[g.name] == 1 for g in plan.groups.values())
    # one zero-shot pass per (dataset, model, prompt) with a probe or zero-shot cell
    assert rules["extract_hidden_states"] == len(plan.representations) == 8
    assert not {"prepare_dataset", "annotate_human_hardness", "convert_model"} & set(rules)


def test_cells_run_in_one_job_per_dataset_model_and_kind(finished_run):
    """The default groups cells (libraries and model loaded once per job); each job's log
    and benchmark record every cell it ran."""
    _, work, _ = finished_run
    logs = sorted((work / "results/logs/cells").rglob("*.log"))
    assert {p.relative_to(work / "results/logs/cells").parent.as_posix() for p in logs} == {
        f"{d}/{m}" for d in ("arc", "mmlu", "strategyqa", "gsm8k") for m in ("tiny", "tiny2")
    }  # tiny2: the ladder's prompting cells
    icl = (work / "results/logs/cells/arc/tiny/prompting.log").read_text()
    assert icl.count("loading model tiny") == 1 and "cell 5/" in icl
    assert "job start-up:" in icl and "model tiny loaded in" in icl
    assert "peak memory so far" in icl
    assert (work / "results/benchmarks/cells/arc/tiny/lora.tsv").exists()
    assert not list((work / "results/checkpoints").rglob("*"))  # cleared after each job


def test_job_sizes_rerun_nothing_and_prediction_settings_rerun_their_cells(finished_run, tmp_path):
    repo, work, cfg = finished_run
    config = yaml.safe_load(cfg.read_text())
    sized = copy.deepcopy(config)
    sized["models"]["tiny"].update(gpus=0, mem_mb=123456, runtime=999, threads=2)
    (tmp_path / "sized.yaml").write_text(yaml.safe_dump(sized))
    assert _planned_rules(work, repo, tmp_path / "sized.yaml") == {}
    # a larger trained n reserves more items per level: the shared zero-shot cells' test
    # samples change, so they rerun although their folders do not
    reserve = copy.deepcopy(config)
    reserve["experiments"]["trained"]["n"] = 3
    (tmp_path / "reserve.yaml").write_text(yaml.safe_dump(reserve))
    out = smk(work, "-n", configfile=tmp_path / "reserve.yaml", snakefile=repo / "Snakefile")
    for dataset in ("arc", "mmlu", "strategyqa"):
        assert f"results/cells/{dataset}/tiny/zs-" in out.stdout, dataset


def test_changing_one_dataset_reruns_only_its_cells(finished_run):
    repo, work, cfg = finished_run
    snap = repo / "workflow/snapshot"
    path = snap / "strategyqa.jsonl.gz"
    original, manifest = path.read_bytes(), (snap / "MANIFEST.json").read_text()
    import gzip

    lines = gzip.decompress(original).decode().splitlines()
    rec = json.loads(lines[0])
    rec["question"] += " (edited)"
    lines[0] = json.dumps(rec)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    meta = json.loads(manifest)
    meta["files"]["strategyqa.jsonl.gz"]["sha256"] = sha256_file(path)
    (snap / "MANIFEST.json").write_text(json.dumps(meta))
    try:
        out = smk(work, "-n", configfile=cfg, snakefile=repo / "Snakefile").stdout
    finally:
        path.write_bytes(original)
        (snap / "MANIFEST.json").write_text(manifest)
    cell_jobs = [ln for ln in out.splitlines() if "output: results/cells/" in ln]
    assert cell_jobs and all("results/cells/strategyqa/" in ln for ln in cell_jobs), cell_jobs
    assert "dataset=arc" not in out and "measure=transfer" not in out
    assert "fig_e2h_main" in out and not re.search(r"fig_third_grade_to_college\s", out)


def test_hidden_states_are_cached_with_a_manifest(finished_run):
    from e2h.hidden_states import load_hidden_states

    _, work, _ = finished_run
    features, mask, manifest = load_hidden_states(work / Path(HIDDEN).parent, verify=True)
    # only the items the StrategyQA probe cells train or test on, not all 2290
    probe_cells = list((work / "results/cells/strategyqa/tiny").glob("probe-0306/*/*/*"))
    assert len(probe_cells) == 3  # easy, hard, all
    used = set()
    for cell in probe_cells:
        pred = pd.read_parquet(cell / "predictions.parquet")
        used |= set(pred["id"])
        record = json.loads((cell / "cell.json").read_text())
        assert record["representations"]["train"] == manifest["sha256"]
        assert record["cell"]["probe"]["epochs"] == 20  # hashed settings, not the training log
    assert used <= set(manifest["item_ids"]) and len(manifest["item_ids"]) < 2290
    assert features.shape[:2] == mask.shape == (len(manifest["item_ids"]), 2)
    assert manifest["prompt_id"] == "0306" and mask.all()


def _copy_without(work: Path, dest: Path, outputs: list[str]) -> Path:
    """A copy of the finished run (Snakemake's records included) without ``outputs``."""
    shutil.copytree(work, dest, symlinks=True)
    for path in outputs:
        (dest / path).unlink()
    return dest


def _predictions(work: Path, outputs: list[str]) -> dict[str, bytes]:
    return {p: (work / p).read_bytes() for p in outputs if p.endswith(".parquet")}


def _plan(cfg: Path):
    from e2h.config import validated
    from e2h.plan import Plan

    return Plan(validated(yaml.safe_load(cfg.read_text())))


def _group(cfg: Path, name: str):
    return next(g for g in _plan(cfg).groups.values() if g.name == name)


def test_sigkill_mid_job_then_rerun_gives_identical_outputs(finished_run, tmp_path):
    """A cell job killed with SIGKILL (no clean-up): after ``--unlock`` and
    ``--rerun-incomplete`` (README: after a crash) the outputs are byte-identical to the
    uninterrupted run's, and the cells it had finished are reused, not recomputed."""
    import signal
    import subprocess
    import time

    from tests.test_workflow import SNAKEMAKE

    repo, work, cfg = finished_run
    name = "cells_arc_tiny_prompting"
    outputs = _group(cfg, name).outputs()
    want = _predictions(work, outputs)
    assert len(want) >= 4
    killed = _copy_without(work, tmp_path / "killed", outputs)
    cmd = [*SNAKEMAKE, "--snakefile", str(repo / "Snakefile"), "--directory", str(killed),
           "--configfile", str(cfg), "--cores", "2", name]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    checkpoints = killed / "results/checkpoints/arc/tiny"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if len(list(checkpoints.rglob("finished/params.json"))) >= 2:
            break  # two cells of the job are finished, the others are not
        time.sleep(0.05)
    assert proc.poll() is None, "the job ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job, no clean-up
    proc.wait()
    assert sum((killed / p).exists() for p in want) < len(want)  # cut short

    smk(killed, "--unlock", configfile=cfg, snakefile=repo / "Snakefile")
    smk(killed, "--cores", "2", "--rerun-incomplete", name, configfile=cfg,
        snakefile=repo / "Snakefile")  # fmt: skip
    log = (killed / "results/logs/cells/arc/tiny/prompting.log").read_text()
    assert "finished before the job stopped, reused" in log  # not recomputed
    assert _predictions(killed, outputs) == want  # byte for byte


# The SLURM run: ARC's three kinds of cell job and every model job they depend on.
SLURM_GROUPS = ["cells_arc_tiny_prompting", "cells_arc_tiny_probe", "cells_arc_tiny_lora"]


def test_the_workflow_runs_through_slurm_with_the_local_runs_outputs(
    finished_run, slurm_cluster, tmp_path
):
    """The test-scale workflow through the shipped SLURM profile on a real one-node cluster
    (.ci/slurm-local): ARC's prompting, probe and LoRA cell jobs and every model job they
    need (hidden states, the MDL pass and curve) are SLURM jobs that completed, the data
    and hardness jobs run locally, and every prediction is byte-identical to the local
    run's. One dataset covers every kind of model job; the other datasets' jobs run the
    same rules (all of them through SLURM took 9 minutes of this suite on 2 cores)."""
    import subprocess

    repo, work, cfg = finished_run
    groups = [g for g in _plan(cfg).groups.values() if g.name in SLURM_GROUPS]
    assert len(groups) == len(SLURM_GROUPS)
    remote = tmp_path / "slurm"
    # the shipped profile, with the local cluster's partition, no account and squeue polling
    # (this cluster has no accounting database: sacct fails)
    out = smk(
        remote, "--profile", str(repo / "workflow/profiles/slurm"),
        "--default-resources", "slurm_partition=debug", "mem_mb=2000", "runtime=30",
        "--slurm-status-command", "squeue", "--latency-wait", "5",
        "--seconds-between-status-checks", "2", "--slurm-init-seconds-before-status-checks", "2",
        "--jobs", "2", "--max-threads", "2", *SLURM_GROUPS, configfile=cfg,
        snakefile=repo / "Snakefile",
    )  # fmt: skip
    log = out.stdout + out.stderr
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", log)
    remote_rules = re.findall(r"^rule (\w+):", log, flags=re.M)
    model_jobs = {*SLURM_GROUPS, "extract_hidden_states", "mdl_zero_shot_pass", "mdl_curve"}
    assert set(remote_rules) == model_jobs, set(remote_rules) ^ model_jobs
    assert len(submitted) == len(remote_rules)  # each one a SLURM job with its id
    local_rules = set(re.findall(r"^localrule (\w+):", log, flags=re.M))
    assert {"prepare_dataset", "annotate_human_hardness", "annotate_model_hardness"} <= local_rules
    assert not local_rules & model_jobs
    queue = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i %T"], capture_output=True, text=True
    ).stdout
    states = dict(line.split() for line in queue.splitlines())
    assert all(states.get(j) == "COMPLETED" for j in submitted), (submitted, states)

    outputs = [path for g in groups for path in g.outputs()]
    local = _predictions(work, outputs)
    assert len(local) == sum(len(g.cells) for g in groups) >= 10
    assert _predictions(remote, outputs) == local  # as on one machine
    hardness = "results/hardness/arc/hardness.parquet"  # from the SLURM run's MDL jobs
    assert (remote / hardness).read_bytes() == (work / hardness).read_bytes()


def test_zero_shot_cells_are_read_from_the_zero_shot_pass(finished_run):
    """Zero-shot predictions come from the (dataset, model, prompt) pass that also wrote the
    probe's hidden states, which copied the MDL stage's items instead of recomputing them."""
    _, work, _ = finished_run
    for cell in sorted((work / "results/cells").glob("*/*/zs-*/any/unsup-n0/*")):
        dataset, model, method = cell.relative_to(work / "results/cells").parts[:3]
        prompt = method.split("-", 1)[1]
        pass_dir = work / f"results/representations/{dataset}/{model}/p{prompt}"
        pred = pd.read_parquet(cell / "predictions.parquet")
        scored = pd.read_parquet(pass_dir / "zero_shot.parquet").set_index("id")
        assert set(pred["id"]) <= set(scored.index)
        for i, lp in zip(pred["id"], pred["logprobs"], strict=True):
            assert list(lp) == list(scored.loc[i, "logprobs"]), (cell, i)
    log = (work / "results/logs/extract_hidden_states/arc").rglob("*.log")
    assert any("items reused from results/mdl/arc/" in p.read_text() for p in log)
