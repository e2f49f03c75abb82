"""Rule mdl_zero_shot_pass: one zero-shot pass of a hardness model over a dataset's MDL items
(docs/hardness.md#mdl): the decoding scores of the probing items and the hidden states of
every item (probing items and the hardness pool's training streams) from the same forwards."""

import logging
from pathlib import Path

import pandas as pd

from e2h import model_hardness as mh
from e2h.hidden_states import zero_shot_pass
from e2h.io import read_lines, write_parquet
from e2h.jobs import load_registered_model, registry_of_job, set_threads
from e2h.logs import run_with_log
from e2h.models import model_provenance


def main(smk) -> None:
    set_threads(smk.threads)
    key, dataset = smk.wildcards.model, smk.wildcards.dataset
    p = smk.params.mdl
    table = pd.read_parquet(smk.input.table)
    probing = mh.probing_subset(read_lines(smk.input.probing), p["probing_cap"], dataset, p["seed"])
    ids = set(probing)
    for curve in p["curves"].values():
        draws = mh.curve_draws(
            dataset, probing, read_lines(smk.input.pool), curve["sizes"], curve["resamples"],
            p["dev"], p["seed"],
        )  # fmt: skip
        ids |= set(draws.all_ids())
    items = table.set_index("id", drop=False).loc[sorted(ids)].reset_index(drop=True)
    if p["nll"]:  # one continuation, the gold answer: its summed log-prob is the score
        items = items.assign(choices=[[str(a)] for a in items["answer_text"]], label_idx=0)
    logging.info("%d probing items, %d items in all", len(probing), len(items))
    registry = registry_of_job(smk)
    model, tokenizer = load_registered_model(key, registry, smk.input.model)
    entry = registry[key]
    info = model_provenance(key, registry, smk.input.model[0] if smk.input.model else None)
    pred, _ = zero_shot_pass(
        model, tokenizer, items, p["prompt"], Path(smk.output.manifest).parent,
        batch_size=entry["batch_size"], max_length=entry["max_length"], model_key=key,
        model_info=info,
    )  # fmt: skip
    # with every choice's log-prob: the grid's zero-shot pass reuses these items
    write_parquet(
        pred.assign(
            logprob_gold=[lp[g] for lp, g in zip(pred["logprobs"], pred["label_idx"], strict=True)]
        ),
        smk.output.predictions,
    )
    scores = mh.decoding_scores(pred, probing, nll=p["nll"])
    write_parquet(scores, smk.output.scores)
    mh.write_record(
        smk.output.record,
        smk,
        {"model": info, "n_probing": len(probing), "n_items": len(items),
         "zero_shot_accuracy": float(pred["correct"].mean())},
    )  # fmt: skip
    logging.info(
        "zero-shot accuracy %.3f on %d items; scores:\n%s",
        pred["correct"].mean(),
        len(pred),
        scores.describe().to_string(),
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
