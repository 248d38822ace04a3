#!/usr/bin/env python
"""Analyse a trained V1 model run: ``python analyze.py OUT_DIR [--quick] ...`` (see --help).

Thin wrapper around ``analysis.analyze.main``: receptive fields and Gabor fits,
orientation tuning with gratings, sparseness over natural patches and
spike-triggered averages, written as figures, metrics.json and report.md.
"""
import sys

from analysis.analyze import main

if __name__ == "__main__":
    sys.exit(main())
