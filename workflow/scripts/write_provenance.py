"""Rule write_provenance: config, package versions, git commit, data and model hashes of a
run, as JSON and as the HTML report's provenance page."""

import json
from pathlib import Path

from e2h.logs import run_with_log
from e2h.models import model_provenance
from e2h.provenance import provenance_html, provenance_record, write_json


def main(smk) -> None:
    records = [json.load(open(p))["data"] for p in smk.input.data]
    data = {r["dataset"]: r for r in records}
    converted = {Path(p).name: p for p in smk.input.models}
    registry = dict(smk.params.models)
    models = {key: model_provenance(key, registry, converted.get(key)) for key in registry}
    record = provenance_record(
        smk.config, smk.params.workflow_dir, {"datasets": data, "models": models}
    )
    write_json(smk.output.json, record)
    Path(smk.output.html).write_text(provenance_html(record))


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
