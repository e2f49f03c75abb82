"""``tab-mdl-online``: the dataset-level online (prequential) code length of each hardness
model's learning curve on the hardness pool (Voita & Titov 2020; docs/hardness.md#mdl-prequential).

Beyond the paper, whose "MDL" is a probability area and not a code length. One row per
(dataset, hardness model, method): the bits the online code sends for the pool's training
stream (first block with the uniform code, each later block with the model trained on the
items before it), the uniform code's bits, and the compression ratio uniform / online (above
1: the method learned something transferable from the stream), mean and standard deviation
over the curve's resamples.
"""

from __future__ import annotations

import pandas as pd

from e2h import registry

#: The paper's "QLoRA" is LoRA on a quantised model (int8 Llama-2); on a CPU the adapter trains
#: on the fp32 model, so the label names what every run has in common (docs/methods.md#lora-mc).
METHOD_LABELS = {"learned": "Linear Probe", "finetuned": "LoRA"}


def build(online: pd.DataFrame) -> pd.DataFrame:
    """``online``: rows of ``e2h.model_hardness.online_codes`` with dataset, model, method."""
    rows = []
    for (dataset, model, method), d in online.groupby(["dataset", "model", "method"], sort=False):
        rows.append(
            {
                "Dataset": registry.dataset(dataset).name,
                "Hardness model": model,
                "Method": METHOD_LABELS.get(method, method),
                "Stream items": int(d["stream_items"].iloc[0]),
                "Blocks": int(d["blocks"].iloc[0]),
                "Resamples": len(d),
                "Online bits": d["online_bits"].mean(),
                "Online bits sd": d["online_bits"].std(ddof=1) if len(d) > 1 else float("nan"),
                "Uniform bits": d["uniform_bits"].mean(),
                "Compression": d["compression"].mean(),
                "Compression sd": d["compression"].std(ddof=1) if len(d) > 1 else float("nan"),
                "dataset_id": dataset,
                "method_id": method,
            }
        )
    return pd.DataFrame(rows)
