"""e2h: the library behind the easy-to-hard reproduction workflow.

Rule files under ``rules/`` only wire paths to functions in this package, so every
piece of logic can be unit-tested without Snakemake.
"""

import os

__version__ = "0.1.0"

#: Bit-identical floats on CPU (docs/scoring.md#determinism): MKL's default code paths depend
#: on the memory alignment of their inputs (so on the allocator's state, which differs between
#: runs) and may change the thread count at run time. Strict conditional numerical
#: reproducibility and fixed thread counts make every GEMM deterministic. Set before torch
#: loads MKL; Snakemake jobs also inherit it from the Snakefile.
REPRODUCIBLE_ENV = {"MKL_CBWR": "AUTO,STRICT", "MKL_DYNAMIC": "FALSE", "OMP_DYNAMIC": "FALSE"}
for _key, _value in REPRODUCIBLE_ENV.items():
    os.environ.setdefault(_key, _value)
