"""Trained methods on the tiny model: LoRA losses, resumable training, probe cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from e2h.cells import CellSpec
from e2h.config import schema_defaults
from e2h.lora import (
    LoraSettings,
    adapter_fingerprint,
    attach_adapter,
    cot_loss,
    cot_sequences,
    mc_loss,
    schedule,
    train_adapter,
)
from e2h.prompts import build_prompts
from e2h.sampling import Split
from e2h.scoring import choice_logprobs_with_grad, max_abs_diff, sum_logprobs_naive
from e2h.trained import Representations, lora_predictions, probe_predictions
from tests.tiny_model import one_thread, tiny, tiny_model_dir, toy_items  # noqa: F401

FAST = LoraSettings.from_config(
    {"lr": 5e-3, "min_steps": 6, "cot_min_steps": 6, "epochs": 1, "items_per_step": 4}
)


def _state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_schedule_follows_the_paper():
    paper = LoraSettings.from_config({})  # the schema's defaults are the paper's values
    s = schedule(160, paper, "mc")
    assert (s.items_per_step, s.steps_per_epoch, s.epochs, s.total_steps) == (50, 4, 3, 12)
    assert schedule(160, paper, "cot").epochs == 38  # 150 minimum steps / 4 per epoch
    assert schedule(8, paper, "mc").total_steps == 10  # raised to the 10-step minimum
    with pytest.raises(ValueError):
        schedule(0, paper, "mc")


def test_differentiable_choice_scores_equal_the_reference(tiny):  # noqa: F811
    model, tok = tiny
    items = toy_items(6)
    prompts = build_prompts(items, None, "0040", tok)
    scores = choice_logprobs_with_grad(model, tok, prompts)
    ref = sum_logprobs_naive(model, tok, prompts)
    got = [[float(v) for v in row[: len(r)]] for row, r in zip(scores.detach(), ref, strict=True)]
    assert max_abs_diff(got, ref) <= 1e-4
    assert torch.isinf(scores[0, 3:]).all()  # item 0 has 3 choices: padded slots are -inf
    loss = mc_loss(model, tok, items, "0040", 2048)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    model.zero_grad(set_to_none=True)


def test_cot_loss_is_the_summed_target_nll(tiny):  # noqa: F811
    model, tok = tiny
    items = toy_items(3)
    seqs = cot_sequences(tok, items, "0305", 2048)
    assert all(ids[-1] == tok.eos_token_id for ids, _ in seqs)
    total = 0.0
    with torch.no_grad():
        for ids, bound in seqs:
            logits = model(input_ids=torch.tensor([ids])).logits[0].float()
            logp = torch.log_softmax(logits[bound - 1 : -1], dim=-1)
            total += float(logp.gather(1, torch.tensor(ids[bound:])[:, None]).sum())
        got = float(cot_loss(model, tok, items, "0305", 2048))
    assert got == pytest.approx(-total / len(seqs), rel=1e-5)


@pytest.mark.parametrize("objective,prompt", [("mc", "0040"), ("cot", "0305")])
def test_training_lowers_the_loss_and_unload_restores_the_base(tiny, objective, prompt):  # noqa: F811
    model, tok = tiny
    before = _state(model)
    items = toy_items(8)
    peft_model = attach_adapter(model, ["q_proj", "v_proj"], FAST, seed=1)
    log = train_adapter(peft_model, tok, items, objective, prompt, FAST, seed=1, progress=False)
    assert log.total_steps == 6 and len(log.losses) == 6
    loss_fn = mc_loss if objective == "mc" else cot_loss
    with torch.no_grad():
        trained = float(loss_fn(peft_model, tok, items, prompt, 2048))
    base = peft_model.unload()
    with torch.no_grad():
        untrained = float(loss_fn(base, tok, items, prompt, 2048))
    assert trained < untrained
    after = _state(base)
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)


def test_killed_training_resumes_to_the_same_adapter(tiny, tmp_path):  # noqa: F811
    model, tok = tiny
    items = toy_items(8)

    def run(ckpt, stop=None):
        peft_model = attach_adapter(model, ["q_proj", "v_proj"], FAST, seed=7)
        try:
            log = train_adapter(
                peft_model, tok, items, "mc", "0040", FAST, seed=7, checkpoint_dir=ckpt,
                progress=False, stop_after_step=stop,
            )  # fmt: skip
            return log, adapter_fingerprint(peft_model), _state(peft_model)
        finally:
            peft_model.unload()

    full_log, full_sha, full_state = run(tmp_path / "full")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "killed", stop=3)
    assert (tmp_path / "killed/checkpoint.pt").exists()
    resumed_log, resumed_sha, resumed_state = run(tmp_path / "killed")
    assert resumed_log.resumed_from_step == 3
    assert resumed_log.losses == pytest.approx(full_log.losses, abs=1e-7)
    assert resumed_sha == full_sha
    assert all(torch.equal(resumed_state[k], full_state[k]) for k in full_state)
    # another seed gives another adapter (the comparison above can fail)
    peft_model = attach_adapter(model, ["q_proj", "v_proj"], FAST, seed=8)
    train_adapter(peft_model, tok, items, "mc", "0040", FAST, seed=8, progress=False)
    assert adapter_fingerprint(peft_model) != full_sha
    peft_model.unload()


def test_checkpoint_of_other_settings_is_refused(tiny, tmp_path):  # noqa: F811
    model, tok = tiny
    items = toy_items(8)
    peft_model = attach_adapter(model, ["q_proj", "v_proj"], FAST, seed=7)
    with pytest.raises(KeyboardInterrupt):
        train_adapter(
            peft_model, tok, items, "mc", "0040", FAST, seed=7, checkpoint_dir=tmp_path,
            progress=False, stop_after_step=1,
        )  # fmt: skip
    peft_model.unload()
    peft_model = attach_adapter(model, ["q_proj", "v_proj"], FAST, seed=9)
    try:
        with pytest.raises(RuntimeError, match="other settings"):
            train_adapter(
                peft_model, tok, items, "mc", "0040", FAST, seed=9, checkpoint_dir=tmp_path,
                progress=False,
            )  # fmt: skip
    finally:
        peft_model.unload()


def _spec(method: str, prompt: str, dataset: str = "arc") -> CellSpec:
    return CellSpec(dataset, "tiny", method, prompt, "any", "all", 4, 2, None, 0)


def test_lora_cell_resamples_resume_and_fresh_adapters(tiny, tmp_path):  # noqa: F811
    model, tok = tiny
    table = toy_items(16)
    ids = list(table["id"])
    splits = [Split(ids[:4], ids[8:12]), Split(ids[4:8], ids[12:16])]
    spec = _spec("lora_mc", "0040")
    pred, logs = lora_predictions(
        model, tok, table, table, splits, spec, ["q_proj", "v_proj"], FAST, 8, 1024, tmp_path
    )
    assert len(pred) == 8 and set(pred["resample"]) == {0, 1}
    assert pred.groupby("resample")["adapter_sha"].nunique().tolist() == [1, 1]
    assert pred["adapter_sha"].nunique() == 2  # a fresh adapter per resample
    assert not hasattr(model, "peft_config")  # the base model carries no adapter afterwards
    assert (pred["method"] == "lora_mc").all() and not pred["cot"].any()
    # a rerun after a kill reuses finished resamples
    (tmp_path / "r1" / "predictions.parquet").unlink()
    again, _ = lora_predictions(
        model, tok, table, table, splits, spec, ["q_proj", "v_proj"], FAST, 8, 1024, tmp_path
    )
    pd.testing.assert_frame_equal(
        again.drop(columns=["scores"], errors="ignore").reset_index(drop=True),
        pred.drop(columns=["scores"], errors="ignore").reset_index(drop=True),
        check_exact=False,
        atol=1e-6,
    )


def test_probe_cell_on_cached_hidden_states(tiny, tmp_path):  # noqa: F811
    from e2h.hidden_states import extract_hidden_states

    model, tok = tiny
    table = toy_items(16)
    extract_hidden_states(model, tok, table, "0040", tmp_path, batch_size=8, progress=False)
    reps = Representations(tmp_path, table)
    ids = list(table["id"])
    splits = [Split(ids[:8], ids[8:]), Split(ids[8:], ids[:8])]
    settings = schema_defaults("experiments", "trained", "probe")
    pred, fits = probe_predictions(reps, reps, splits, _spec("probe", "0040"), settings)
    assert len(pred) == 16 and len(fits) == 2
    for probs, n in zip(pred["probs"], pred["n_choices"], strict=True):
        assert len(probs) == n and np.isclose(sum(probs), 1.0)
    assert (pred["correct"] == (pred["pred"] == pred["label_idx"])).all()
    again, _ = probe_predictions(reps, reps, splits, _spec("probe", "0040"), settings)
    assert np.allclose(np.vstack(again["label_conf"]), np.vstack(pred["label_conf"]))
    with pytest.raises(KeyError, match="rerun extract_hidden_states"):
        reps.rows(["not-an-item"])


def test_long_cot_training_sequences_are_shortened_from_the_question_start(tiny):  # noqa: F811
    _, tok = tiny
    items = toy_items(2)
    full = cot_sequences(tok, items, "0305", 2048)
    limit = len(full[0][0]) - 5
    short = cot_sequences(tok, items, "0305", limit)
    (ids, bound), (ref, ref_bound) = short[0], full[0]
    assert len(ids) == limit, (len(ids), limit)
    assert bound == ref_bound - 5, (bound, ref_bound)
    assert ids[bound:] == ref[ref_bound:]  # the whole target survives
    from e2h.scoring import Encoder

    lead = len(Encoder(tok).lead)  # leading special tokens (if the tokenizer adds any) kept
    assert ids[:lead] == ref[:lead] and ids[lead:bound] == ref[lead + 5 : ref_bound]
