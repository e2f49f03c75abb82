"""One module per paper figure, named after its id in docs/figures.md."""
