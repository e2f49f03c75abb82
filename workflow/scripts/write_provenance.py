"""Rule write_provenance: config, package versions, git commit and data hashes of a run."""

import json

from e2h.logs import run_with_log
from e2h.provenance import provenance_record, write_json


def main(smk) -> None:
    records = [json.load(open(p))["data"] for p in smk.input.data]
    data = {r["dataset"]: r for r in records}
    write_json(
        smk.output[0], provenance_record(smk.config, smk.params.workflow_dir, {"datasets": data})
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
