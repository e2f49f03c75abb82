"""Rule convert_model: turn a bundled GGUF model into a plain transformers folder, once."""

from e2h.jobs import set_threads
from e2h.logs import run_with_log
from e2h.models import convert_gguf


def main(smk) -> None:
    set_threads(smk.threads)
    gguf = smk.params.gguf
    convert_gguf(gguf["package"], gguf["file"], smk.output[0], sha256=gguf.get("sha256"))


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
