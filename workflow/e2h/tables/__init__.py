"""One module per paper table, named after its id in docs/figures.md."""
