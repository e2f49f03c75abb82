"""Build the bundled data snapshot from the public release files.

Developers run this once (``python workflow/tools/build_snapshot.py --source ../shared/data``);
the result under ``workflow/snapshot/`` is committed, so users never need the release
files or the hub. Each snapshot file holds the dataset's rows in the same record layout
the hub loader yields (plus ``config``/``split``/``row`` provenance fields), so both
sources go through the same normaliser. The manifest records each file's SHA-256, row
count, upstream origin, licence and the SHA-256 of every upstream file it came from.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
from pathlib import Path

MMLU_SUBJECTS = ["biology", "chemistry", "computer_science", "mathematics", "physics"]
ARC_SPLITS = {"Train": "train", "Dev": "validation", "Test": "test"}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_gz_jsonl(path: Path, rows: list[dict]) -> None:
    """Deterministic gzip (mtime 0) so the SHA-256 is reproducible."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode())
    path.write_bytes(buf.getvalue())


def write_gz_bytes(path: Path, data: bytes) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(data)
    path.write_bytes(buf.getvalue())


def build_arc(src: Path, out: Path) -> dict:
    ann_path = src / "arc" / "arc-challenge-easy-annotations.json"
    annotations = json.loads(ann_path.read_text())
    wanted = {key.split("_", 1)[1] for key in annotations}
    rows, upstream = [], {str(ann_path.relative_to(src)): sha256_file(ann_path)}
    for config in ["ARC-Easy", "ARC-Challenge"]:
        for fsplit, split in ARC_SPLITS.items():
            path = src / "arc" / config / f"{config}-{fsplit}.jsonl"
            upstream[str(path.relative_to(src))] = sha256_file(path)
            for line in path.read_text().splitlines():
                rec = json.loads(line)
                if rec["id"] not in wanted:
                    continue
                q = rec["question"]
                rows.append(
                    {
                        "id": rec["id"],
                        "question": q["stem"],
                        "choices": {
                            "text": [c["text"] for c in q["choices"]],
                            "label": [c["label"] for c in q["choices"]],
                        },
                        "answerKey": rec["answerKey"],
                        "config": config,
                        "split": split,
                    }
                )
    write_gz_jsonl(out / "arc.jsonl.gz", rows)
    write_gz_bytes(out / "arc_annotations.json.gz", ann_path.read_bytes())
    return {
        "arc.jsonl.gz": {
            "rows": len(rows),
            "content": "ARC-Easy + ARC-Challenge rows (all splits) whose id is annotated",
            "origin": "AI2 ARC-V1-Feb2018 release, verbatim copy in RazvanDu/TemporalRNNs "
            "@ 799e65e48c0cc2bdf2780a13bbb4830f46139581",
            "licence": "CC BY-SA 4.0 (AI2)",
            "upstream_sha256": {k: v for k, v in upstream.items() if "annotations" not in k},
        },
        "arc_annotations.json.gz": {
            "rows": len(annotations),
            "content": "Hase et al. ARC hardness annotations, byte-identical (gzip)",
            "origin": "allenai/easy-to-hard-generalization @ "
            "ad8358e42904da169e8a3e3f70b64290d739b37a, data/arc-challenge-easy-annotations.json",
            "licence": "Apache-2.0",
            "upstream_sha256": {
                str(ann_path.relative_to(src)): upstream[str(ann_path.relative_to(src))]
            },
        },
    }


def build_mmlu(src: Path, out: Path) -> dict:
    rows, upstream = [], {}
    for level in ["high_school", "college"]:
        for subject in MMLU_SUBJECTS:
            subset = f"{level}_{subject}"
            for fsplit, split in [("val", "validation"), ("test", "test")]:
                path = src / "mmlu" / fsplit / f"{subset}_{fsplit}.csv"
                upstream[str(path.relative_to(src))] = sha256_file(path)
                with path.open(newline="", encoding="utf-8") as fh:
                    for i, rec in enumerate(csv.reader(fh)):
                        rows.append(
                            {
                                "question": rec[0],
                                "choices": rec[1:5],
                                "answer": "ABCD".index(rec[5].strip()),
                                "subject": subset,
                                "split": split,
                                "row": i,
                            }
                        )
    write_gz_jsonl(out / "mmlu.jsonl.gz", rows)
    return {
        "mmlu.jsonl.gz": {
            "rows": len(rows),
            "content": "MMLU-STEM-5: high_school_/college_ x {biology, chemistry, "
            "computer_science, mathematics, physics}, validation + test",
            "origin": "hendrycks/test final data.tar release, verbatim copy in "
            "RazvanDu/TemporalRNNs @ 799e65e48c0cc2bdf2780a13bbb4830f46139581",
            "licence": "MIT (Dan Hendrycks)",
            "upstream_sha256": upstream,
        }
    }


def build_strategyqa(src: Path, out: Path) -> dict:
    rows, upstream = [], {}
    for name in ["train", "dev"]:
        path = src / "strategyqa" / f"{name}.json"
        upstream[str(path.relative_to(src))] = sha256_file(path)
        for rec in json.loads(path.read_text()):
            rows.append(
                {
                    "qid": rec["qid"],
                    "question": rec["question"],
                    "answer": rec["answer"],
                    "facts": rec["facts"],
                    "decomposition": rec["decomposition"],
                    "split": name,
                }
            )
    write_gz_jsonl(out / "strategyqa.jsonl.gz", rows)
    return {
        "strategyqa.jsonl.gz": {
            "rows": len(rows),
            "content": "StrategyQA official labelled training set (authors' train + dev split)",
            "origin": "eladsegal/strategyqa @ 1ba1e97452e189569357876f2854b01357ffbe37, "
            "data/strategyqa/{train,dev}.json",
            "licence": "MIT repository; dataset terms from AI2 (research use)",
            "upstream_sha256": upstream,
        }
    }


def build_gsm8k(src: Path, out: Path) -> dict:
    rows, upstream = [], {}
    for split in ["train", "test"]:
        path = src / "gsm8k" / f"{split}.jsonl"
        upstream[str(path.relative_to(src))] = sha256_file(path)
        for i, line in enumerate(path.read_text().splitlines()):
            rec = json.loads(line)
            rows.append(
                {"question": rec["question"], "answer": rec["answer"], "split": split, "row": i}
            )
    write_gz_jsonl(out / "gsm8k.jsonl.gz", rows)
    return {
        "gsm8k.jsonl.gz": {
            "rows": len(rows),
            "content": "GSM8k main, train + test",
            "origin": "openai/grade-school-math @ 3101c7d5072418e28b9008a6636bde82a006892c, "
            "grade_school_math/data/{train,test}.jsonl",
            "licence": "MIT (OpenAI)",
            "upstream_sha256": upstream,
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("workflow/snapshot"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    files: dict = {}
    for build in (build_arc, build_mmlu, build_strategyqa, build_gsm8k):
        files.update(build(args.source, args.out))
    for name, entry in files.items():
        entry["sha256"] = sha256_file(args.out / name)
        entry["bytes"] = (args.out / name).stat().st_size
    manifest = {
        "description": "Compact snapshot of exactly the rows and fields e2h uses; "
        "checked against these SHA-256 sums at load time.",
        "files": files,
    }
    (args.out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for name, entry in files.items():
        print(f"{name}: {entry['rows']} rows, {entry['bytes']} bytes")


if __name__ == "__main__":
    main()
