"""Print the oracle's figures for every shared data file: `python -m oracle`."""

import json

from .datasets import DATASETS, SHARED_DATA

for name, (relative, oracle) in DATASETS.items():
    for by in (None, "team"):
        print(f"== {name}, by {by}")
        print(json.dumps(oracle(SHARED_DATA / relative, by, None), indent=1))
