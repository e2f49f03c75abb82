"""``tab-datasets``: dataset sizes and which hardness measures apply (docs/figures.md)."""

from __future__ import annotations

import pandas as pd

from e2h import registry

#: Rows of the paper's table, each with the measures (of our item tables) it stands for.
ROWS = [
    ("Grade Level", ["human_grade", "human_hardness"]),
    ("Difficulty Score", ["human_difficulty"]),
    ("Bloom Skill", ["human_bloom"]),
    ("Question Num. Words", ["question_num_words"]),
    ("Answer Num. Chars", ["answer_num_chars"]),
    ("Answer Num. Words", ["answer_num_words"]),
    ("Num. Reasoning Steps", ["num_steps"]),
    ("Reasoning Num. Words", ["reasoning_num_words"]),
    ("Depth of Knowledge", ["human_depth_of_knowledge"]),
    # any model-based measure (docs/hardness.md#mdl); GSM8k's gold-answer NLL is not the
    # paper's "MDL" and gets no check mark, as in the paper
    ("MDL", ["mdl_decoding", "mdl_learned", "mdl_finetuned"]),
]


def build(
    tables: dict[str, pd.DataFrame],
    measures: dict[str, list[str]],
    paper_n: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Rows: sizes then one row per measure with ✓ where configured for the dataset."""
    cols = {}
    for dataset, table in tables.items():
        col: dict[str, object] = {
            "Items (n)": len(table),
            "Probing set": int(table["probing"].sum()),
            "Hardness pool": int((~table["probing"]).sum()) or "–",
        }
        if "sampled" in table.columns:  # the MDL stage scored a sample of the probing set
            col["MDL-scored items"] = int(table["sampled"].sum())
        if paper_n is not None:
            col["Items in paper"] = paper_n.get(dataset, "–")
        for label, names in ROWS:
            col[label] = "✓" if any(m in measures[dataset] for m in names) else ""
        cols[registry.dataset(dataset).name] = col
    frame = pd.DataFrame(cols).fillna("–")  # e.g. MDL-scored items of a dataset without MDL
    frame.index.name = "Row"
    frame = frame.reset_index()
    return frame[[c for c in frame.columns]].astype(str)
