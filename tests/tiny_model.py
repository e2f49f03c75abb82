"""A tiny deterministic random Llama + byte-level BPE tokenizer for tests
(docs/models.md#tiny-test-model).

Import the fixtures from this module in test files (``from tiny_model import ...``); it
needs only torch, tokenizers and transformers, and builds in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

SPECIALS = ["<unk>", "<s>", "</s>", "<pad>"]

WORDS = (
    "the a of to and in is what which how many why does plant animal water energy heat light "
    "sun moon earth rock soil cell body blood heart lung leaf root seed flower tree fish bird "
    "temperature pressure force mass speed motion magnet electric current circuit battery "
    "yes no answer question so think step by because therefore equal more less most least "
    "one two three four five six seven eight nine ten hundred thousand dollars apples each "
    "student teacher school class test result experiment observe measure record data graph"
).split()


def corpus(n: int = 400) -> list[str]:
    """Deterministic training text for the tokenizer, in the shape of the prompts."""
    texts = []
    for i in range(n):
        w = [WORDS[(i * 7 + j * 13) % len(WORDS)] for j in range(8 + i % 5)]
        texts.append(
            f"Question: {' '.join(w)}?\nA) {w[0]}\nB) {w[1]}\nC) {w[2]}\nD) {w[3]}\n"
            f"Answer: {w[i % 4]}\n\nQ: {' '.join(w[:5])} {i}?\nA: {w[5]} {i * 3}. "
            f"So the answer is {'yes' if i % 2 else 'no'}"
        )
    return texts


def build_tiny(
    out_dir: str | Path,
    vocab_size: int = 300,
    seed: int = 0,
    padding_side: str = "left",
    with_pad: bool = True,
    layers: int = 2,
) -> Path:
    """Train the BPE tokenizer and save a seeded random 2-layer Llama into ``out_dir``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus(), trainer)
    kwargs = {"pad_token": "<pad>"} if with_pad else {}
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        padding_side=padding_side,
        model_max_length=2048,
        **kwargs,
    )
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    gen = torch.Generator().manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():  # seeded without touching torch's global RNG
        for p in model.parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def toy_items(n: int = 12, offset: int = 0) -> pd.DataFrame:
    """MC items in the workflow's item schema with 3, 4 and 5 choices, short and long."""
    rows = []
    for i in range(offset, offset + n):
        n_choices = 3 + i % 3
        choices = []
        for j in range(n_choices):
            length = 1 + (i * 3 + j * 5) % 9  # 1..9 words
            choices.append(
                " ".join(WORDS[(i + j * 11 + t * 3) % len(WORDS)] for t in range(length))
            )
        if i % 4 == 0:
            choices[0] = WORDS[i % len(WORDS)]  # one-word choice
        q_len = 6 + (i * 5) % 20
        question = " ".join(WORDS[(i * 2 + t * 7) % len(WORDS)] for t in range(q_len)) + "?"
        label = (i * 7) % n_choices
        rows.append(
            {
                "id": f"toy-{i}",
                "question": question,
                "choices": choices,
                "label_idx": label,
                "answer_text": choices[label],
                "reasoning": " ".join(WORDS[(i + t) % len(WORDS)] for t in range(10)) + ".",
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with the tiny model and tokenizer (left padding, explicit pad token)."""
    return build_tiny(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_registry(tiny_model_dir: Path) -> dict:
    """A model registry with the tiny model as a ``local_path`` entry."""
    return {
        "tiny": {
            "hub_id": "e2h-test/tiny-llama",
            "local_path": str(tiny_model_dir),
            "precision": "fp32",
            "padding_side": "left",
            "batch_size": 8,
            "max_length": 2048,
            "lora_targets": ["q_proj", "v_proj"],
        }
    }


@pytest.fixture(scope="session")
def tiny(tiny_model_dir: Path):
    """(model, tokenizer) of the tiny model, fp32 on CPU, eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    return model, tok


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models are overhead-bound: one torch thread is faster and avoids oversubscription."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
