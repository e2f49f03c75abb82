"""Rule mdl_curve: a hardness model's learning curve on the hardness pool (docs/hardness.md#mdl):
``learned`` fits the linear probe on the zero-shot pass's hidden states, ``finetuned`` trains
LoRA-MC adapters; both give per-item scores of the probing items and the online code."""

import json
import logging
import shutil
from pathlib import Path

import pandas as pd

from e2h import model_hardness as mh
from e2h.io import read_lines, write_csv, write_parquet
from e2h.jobs import load_registered_model, registry_of_job, set_threads
from e2h.logs import run_with_log


def main(smk) -> None:
    set_threads(smk.threads)
    key, dataset, variant = smk.wildcards.model, smk.wildcards.dataset, smk.wildcards.variant
    p = smk.params.mdl
    curve_cfg = p["curves"][variant]
    table = pd.read_parquet(smk.input.table)
    probing = mh.probing_subset(read_lines(smk.input.probing), p["probing_cap"], dataset, p["seed"])
    draws = mh.curve_draws(
        dataset, probing, read_lines(smk.input.pool), curve_cfg["sizes"], curve_cfg["resamples"],
        p["dev"], p["seed"],
    )  # fmt: skip
    seed_key = (dataset, key, p["prompt"])
    n_choices = table.set_index("id")["choices"].map(len)
    if variant == "learned":
        from e2h.trained import Representations

        reps = Representations(Path(smk.input.manifest).parent, table)
        curve = mh.learned_curve(
            reps.features, reps.mask, reps.labels, reps.row, draws, dict(smk.params.method),
            seed_key, p["seed"],
        )  # fmt: skip
    else:
        from e2h.lora import LoraSettings

        settings = dict(smk.params.method)
        root = Path(smk.params.checkpoints)
        stamp = root / "params.json"
        wanted = json.dumps({"mdl": p, "method": settings}, sort_keys=True, default=str)
        if stamp.exists() and stamp.read_text() != wanted:  # other settings: start over
            logging.info("%s holds another configuration's curve points; removing it", root)
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)
        stamp.write_text(wanted)
        registry = registry_of_job(smk)
        model, tokenizer = load_registered_model(key, registry, smk.input.model)
        entry = registry[key]
        curve = mh.finetuned_curve(
            model, tokenizer, table, draws, p["prompt"],
            LoraSettings.from_config({**settings["lora"], "checkpoint_every": 1}),
            list(settings["targets"]), entry["batch_size"], entry["max_length"], root,
            seed_key, p["seed"],
        )  # fmt: skip
    write_parquet(curve.long_frame(), smk.output.curve)
    scores = mh.curve_scores(curve, n_choices, variant)
    write_parquet(scores, smk.output.scores)
    online = mh.online_codes(curve, n_choices).assign(dataset=dataset, model=key, method=variant)
    write_csv(online, smk.output.online)
    mean_gold = curve.probing.mean(axis=(0, 2))
    mh.write_record(
        smk.output.record,
        smk,
        {"n_probing": len(probing), "mean_gold_probability_by_size":
         dict(zip(map(str, draws.sizes), map(float, mean_gold), strict=True)),
         "compression": online["compression"].tolist()},
    )  # fmt: skip
    logging.info("scores:\n%s\nonline code:\n%s", scores.describe().to_string(), online.to_string())
    if variant == "finetuned":
        shutil.rmtree(smk.params.checkpoints, ignore_errors=True)  # outputs written: done


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
