"""experiments.sweep: a member is ann_L4.py itself, and the table counts what it should."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import experiments.sweep as sweep
from experiments.sweep import MEASURES, main, table
from conftest import training_images

REPO_ROOT = Path(__file__).resolve().parent.parent


def _weight_files(run: Path) -> dict:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*.txt"))}


def test_sweep_member_weights_equal_ann_L4(tmp_path):
    """A sweep on a local Dask cluster (one member, training only) writes byte for byte the
    weight files of ``ann_L4.py`` with the same seed and model."""
    images = str(training_images())
    build = tmp_path / "build"
    out = tmp_path / "sweep"
    rc = main(["--seeds", "5", "--variants", "leaky", "--patches", "40", "--out", str(out), "--steps", "train",
               "--workers", "1", "--images", images, "--build-root", str(build)])
    assert rc == 0
    direct = tmp_path / "direct"
    compiled = list(build.glob("*/L4"))                        # the worker's compile folder, reused
    assert len(compiled) == 1
    done = subprocess.run([sys.executable, "ann_L4.py", "--model", "leaky", "--seed", "5", "--patches", "40",
                           "--images", images, "--out", str(direct), "--build-dir", str(compiled[0]),
                           "--no-progress"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    member = out / "leaky" / "seed_5" / "L4"
    swept, expected = _weight_files(member), _weight_files(direct)
    assert len(expected) == 5 * 21 and swept == expected      # 5 projections x snapshots 0, 2, ..., 40
    record = json.loads((member / "run.json").read_text())
    assert record["model"]["value"]["adex"]["gL"] == 35.0 and record["model_options"]["model"] == "leaky"
    result = json.loads((out / "results.json").read_text())["members"][0]
    assert result["variant"] == "leaky" and result["seed"] == 5 and result["status"] == "complete"
    # run again: nothing to do, the same table
    table_before = (out / "table.md").read_text()
    assert main(["--seeds", "5", "--variants", "leaky", "--patches", "40", "--out", str(out), "--steps", "train",
                 "--workers", "1", "--images", images, "--build-root", str(build)]) == 0
    assert _weight_files(member) == swept
    assert (out / "table.md").read_text().splitlines()[2:] == table_before.splitlines()[2:]


def test_table_medians_ranges_and_failures():
    def member(v, seed, e_rate, health="healthy", failed=None):
        r = {"variant": v, "seed": seed, "health": health, "rates": {"E_hz": e_rate, "I_hz": 10.0},
             "fields": {"E": 1.0}}
        if failed:
            r["failed"] = failed
        return r
    results = [member("published", 1, 99.0, health="failing"), member("published", 2, 4.0),
               member("published", 3, 6.0), member("published", 4, 5.0),
               member("leaky", 2, 3.0), member("leaky", 3, 0.0, failed="ann_L4.py exited 2")]
    text, summary = table(results, ["published", "leaky"], [1, 2, 3, 4], 2000)
    row = next(line for line in text.splitlines() if line.startswith("| E rate"))
    assert row == "| E rate, last window (Hz) | 5.00 (4.00–6.00) | 3.00 |"      # seed 1 (failing) left out
    counts = text.splitlines()[-1]
    assert counts == "| members | 3 of 4 ok; failed early: seed 1 | 1 of 2 ok; errors: seed 3 |"
    assert summary["published"]["failures"] == {"health": [1], "errors": []}
    assert len([line for line in text.splitlines() if line.startswith("| ")]) == len(MEASURES) + 2
    assert np.isclose(np.median(summary["published"]["E rate, last window (Hz)"]), 5.0)


def test_a_member_that_fails_early_stops_at_the_check_and_counts_as_failed(tmp_path, monkeypatch):
    """The member's ann_L4.py gets --stop-on-failure; its exit code 3 (run.json 'failed early',
    health failing, as ann_L4.py writes them: tests/test_pipeline.py) is no error of the sweep:
    the member is neither analysed nor evaluated, not trained again when the sweep is rerun,
    and the table counts it as failed early."""
    commands = []

    def ann_L4_that_fails_early(cmd, log, accept=(0,)):
        commands.append([str(c) for c in cmd])
        assert cmd[1] == "ann_L4.py", "only the training may run"
        run_dir = Path(cmd[cmd.index("--out") + 1])
        run_dir.mkdir(parents=True)
        (run_dir / "run.json").write_text(json.dumps({"status": "failed early", "stopped_at_patch": 2000,
                                                      "health": {"status": "failing", "patch": 2000}}))
        assert 3 in accept, "exit code 3 of --stop-on-failure must not be an error"
        return 3

    monkeypatch.setattr(sweep, "run_command", ann_L4_that_fails_early)
    out = tmp_path / "sweep"
    result = sweep.run_member("published", 1, str(out), 4000)
    assert len(commands) == 1 and "--stop-on-failure" in commands[0]
    assert result["status"] == "failed early" and result["health"] == "failing" and "failed" not in result
    assert sweep.run_member("published", 1, str(out), 4000)["health"] == "failing"
    assert len(commands) == 1                                    # rerun: nothing trained again
    healthy = {"variant": "published", "seed": 2, "health": "healthy", "rates": {"E_hz": 5.0, "I_hz": 9.0}}
    text, summary = table([result, healthy], ["published"], [1, 2], 4000)
    assert text.splitlines()[-1] == "| members | 1 of 2 ok; failed early: seed 1 |"
    assert summary["published"]["failures"] == {"health": [1], "errors": []}
    assert summary["published"]["E rate, last window (Hz)"] == [5.0]
