"""One module per paper figure, named after its id in figures.md."""
