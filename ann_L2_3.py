#!/usr/bin/env python3
"""Train layer 2/3 of the spiking V1 model on the frozen layer 4 (docs/model.md §5).

    python ann_L2_3.py -j4               # loads the latest complete snapshot of output_L4/
    python ann_L2_3.py --l4 output_L4 --l4-step 400000 --out output_L2_3
    python ann_L2_3.py --help
"""
import sys

from training.cli import main

if __name__ == "__main__":
    sys.exit(main("L2_3"))
