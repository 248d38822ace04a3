#!/usr/bin/env python3
"""Object recognition with the trained V1 model: a linear classifier on its responses.

    python evaluate.py                                   # digits, layer 4 in output_L4
    python evaluate.py --dataset mnist --data ~/mnist --l23 output_L2_3
    python evaluate.py --help
"""
import sys

from evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())
