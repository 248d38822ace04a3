"""Command-line conventions shared by the package's scripts: every problem with an option or
an input is one line, ``error: ...``, and exit code 2."""
from __future__ import annotations

import argparse
import math

# Seeds must suit every generator a run seeds: ANNarchy's take a C ``long``, numpy's any
# non-negative integer.
SEED_LIMIT = 2**63


class UsageError(Exception):
    """A problem with the command line or an input file: one line, exit code 2."""


def _number(text, kind, name):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {name}") from None


def positive_int(text):
    value = _number(text, int, "an integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def non_negative_int(text):
    value = _number(text, int, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def seed_int(text):
    value = _number(text, int, "an integer")
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2^63 - 1 (what every random generator of the "
                                         f"model accepts), got {value}")
    return value


def positive_float(text):
    value = _number(text, float, "a number")
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {value}")
    return value


def non_negative_float(text):
    value = _number(text, float, "a number")
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {value}")
    return value


class OneLineErrorParser(argparse.ArgumentParser):
    """Option errors as one line (``error: argument --patches: ...``), exit code 2, like input errors."""

    def error(self, message):
        self.exit(2, f"error: {message} (see --help)\n")
