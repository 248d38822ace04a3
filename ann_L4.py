#!/usr/bin/env python3
"""Train layer 4 of the spiking V1 model (docs/model.md §4).

    python ann_L4.py -j4                 # 400,000 patches into output_L4/
    python ann_L4.py --patches 2000 --seed 1 --out output_L4_test
    python ann_L4.py --help
"""
import sys

from training.cli import main
from models.layers import LAYER4

if __name__ == "__main__":
    sys.exit(main(LAYER4))
