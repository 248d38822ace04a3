#!/usr/bin/env python
"""Receptive-field view of a layer-4 run: ``python rezeptiv.py [OUT_DIR] [--all] [--step N] [--out DIR]``.

See ``python rezeptiv.py --help``; the logic is in analysis/rezeptiv.py.
"""
import sys

from analysis.rezeptiv import main

if __name__ == "__main__":
    sys.exit(main())
