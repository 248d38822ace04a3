"""The one loader of weight snapshots and delays (runs/snapshots.py), and the one-line
errors of the analysis on bad runs, on files the tests write (no simulation)."""
import json

import numpy as np
import pytest

from analysis.analyze import main as analyze_main
from models.layers import layer4, layer23

LAYER4, LAYER23 = layer4(), layer23()           # the published model's layers
from runs.snapshots import SnapshotError, load_delays, load_snapshot, load_trained, read_matrix


def write_layer(folder, layer, step, corrupt=None):
    """Every snapshot file of *layer* at *step* with the model's shapes; corrupt = (rel, text)."""
    rng = np.random.default_rng(step)
    for rel, shape in layer.snapshot_shapes().items():
        path = folder / f"{rel}_{step}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        if corrupt and corrupt[0] == rel:
            path.write_text(corrupt[1])
        else:
            np.savetxt(path, rng.uniform(0, 0.1, shape))
    return folder


def write_delays(folder, values=None):
    for name, (sub, filename) in LAYER23.delay_files.items():
        shape = (81, 324) if name == "E2_I2" else (324, 324)
        matrix = np.random.default_rng(0).integers(1, 4, shape).astype(float) if values is None else \
            np.full(shape, values)
        np.savetxt(folder / sub / filename, matrix)


@pytest.mark.parametrize("text,problem", [
    ("0.1 0.2\n0.3 0.4\n", "shape (2, 2), the model expects (324, 648)"),
    ("0.1 abc\n", "cannot parse as a numeric matrix"),
    ("", "cannot parse as a numeric matrix"),
    ("\n".join(" ".join(["nan"] * 648) for _ in range(324)), "NaN or infinite"),
    ("\n".join(" ".join(["-0.5"] * 648) for _ in range(324)), "negative weights"),
])
def test_snapshot_file_problems(tmp_path, text, problem):
    write_layer(tmp_path, LAYER4, 100, corrupt=("excitatory/V1weight", text))
    with pytest.raises(SnapshotError) as err:
        load_snapshot(LAYER4, tmp_path)
    message = str(err.value)
    assert message.startswith(str(tmp_path / "excitatory" / "V1weight_100.txt")) and problem in message
    assert "\n" not in message


def test_snapshot_steps_and_folders(tmp_path):
    with pytest.raises(SnapshotError, match="output folder not found"):
        load_snapshot(LAYER4, tmp_path / "nothing")
    write_layer(tmp_path, LAYER4, 0)
    write_layer(tmp_path, LAYER4, 200)
    (tmp_path / "inhibitory" / "INLat_200.txt").unlink()           # step 200 incomplete
    assert load_snapshot(LAYER4, tmp_path).step == 0
    with pytest.raises(SnapshotError, match=r"no complete snapshot at step 200 \(complete: \[0\]\)"):
        load_snapshot(LAYER4, tmp_path, 200)
    w = load_snapshot(LAYER4, tmp_path, 0).weights["LGN_E"]
    np.testing.assert_array_equal(w, read_matrix(tmp_path / "excitatory" / "V1weight_0.txt"))


@pytest.mark.parametrize("value,problem", [(0.0, "at least one step"), (1.5, "whole multiples")])
def test_delay_file_problems(tmp_path, value, problem):
    write_layer(tmp_path, LAYER23, 16)
    write_delays(tmp_path, value)
    with pytest.raises(SnapshotError, match=problem):
        load_delays(LAYER23, tmp_path)


def test_trained_layer23_needs_its_layer4(tmp_path):
    run = write_layer(tmp_path / "l23", LAYER23, 16)
    write_delays(run)
    with pytest.raises(SnapshotError, match="without a 'layer4' entry"):
        load_trained(run)
    l4 = write_layer(tmp_path / "l4", LAYER4, 40)
    (run / "run.json").write_text(json.dumps({"layer4": {"folder": str(l4), "step": 40}}))
    trained = load_trained(run)
    assert trained.layer == LAYER23 and trained.l4.step == 40
    assert set(trained.weights) == {s.name for s in LAYER23.projections}
    assert set(trained.delays) == {"E_E2", "E2_I2"}
    (run / "excitatory" / "V1toV2_Delay.txt").unlink()
    with pytest.raises(SnapshotError, match="V1toV2_Delay.txt: delay file missing"):
        load_trained(run)


@pytest.mark.parametrize("case", ["missing folder", "no snapshot", "bad delays"])
def test_analyze_refuses_bad_runs_in_one_line(tmp_path, capsys, case):
    run = tmp_path / "run"
    if case == "no snapshot":
        (run / "excitatory").mkdir(parents=True)
    if case == "bad delays":
        write_layer(run, LAYER23, 16)
        write_delays(run, 0.0)
        l4 = write_layer(tmp_path / "l4", LAYER4, 40)
        (run / "run.json").write_text(json.dumps({"layer4": {"folder": str(l4), "step": 40}}))
    assert analyze_main([str(run), "--quick", "--build-dir", str(tmp_path / "build")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(run) in err[0]
    assert not (tmp_path / "build").exists() and not (run / "analysis").exists()
