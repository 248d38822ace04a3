#!/usr/bin/env python3
"""Train layer 4 of the spiking V1 model (docs/model.md §4).

    python ann_L4.py -j4                 # 400,000 patches into output_L4/
    python ann_L4.py --patches 2000 --seed 1 --out output_L4_test
    python ann_L4.py --set adex.gL=35 --set sizes.n_exc=400 --out output_L4_variant
    python ann_L4.py --model large         # a named variant (models/variants.py)
    python ann_L4.py --help

From Python: ``training.cli.train(model, "L4", out, seed, patches)``, the function this
script runs.
"""
import sys

from training.cli import main

if __name__ == "__main__":
    sys.exit(main("L4"))
