"""e2h: the library behind the easy-to-hard reproduction workflow.

Rule files under ``rules/`` only wire paths to functions in this package, so every
piece of logic can be unit-tested without Snakemake.
"""

__version__ = "0.1.0"
