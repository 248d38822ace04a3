"""ON - OFF receptive fields and the rezeptiv command line on hand-made snapshot folders."""
import numpy as np
import pytest

from analysis.receptive_fields import grid_shape, on_minus_off
from analysis.rezeptiv import main


def lgn_column(patch, row, col, off):
    """Column of pixel (row, col), ON (off=0) or OFF (off=1), in a (patch, patch, 2) C-order grid."""
    return (row * patch + col) * 2 + off


def test_on_minus_off_places_pixels():
    weights = np.zeros((1, 648))
    weights[0, 2 * 36 + 3 * 2 + 0] = 1.0      # ON of pixel (2, 3): column 78
    weights[0, 5 * 36 + 7 * 2 + 1] = 1.0      # OFF of pixel (5, 7): column 195
    field = on_minus_off(weights)
    assert field.shape == (1, 18, 18)
    assert field[0, 2, 3] == 1.0 and field[0, 5, 7] == -1.0
    assert np.count_nonzero(field) == 2


def test_on_minus_off_other_patch_size_and_bad_width():
    weights = np.zeros((3, 2 * 8 * 8))
    weights[2, lgn_column(8, 7, 1, 1)] = 0.5
    assert on_minus_off(weights)[2, 7, 1] == -0.5
    with pytest.raises(ValueError):
        on_minus_off(np.zeros((3, 100)))      # 100 = 2 * 50, 50 not a square


def test_grid_shape_is_near_square():
    assert grid_shape(324) == (18, 18)
    assert grid_shape(81) == (9, 9)
    assert grid_shape(10) == (4, 3)


def write_run(out_dir, steps, n_e=324, n_i=81, patch=18):
    rng = np.random.default_rng(0)
    for step in steps:
        for sub, stem, shape in (("excitatory", "V1weight", (n_e, 2 * patch * patch)),
                                 ("excitatory", "InhibW", (n_i, 2 * patch * patch)),
                                 ("V1toIN", "V1toIN", (n_i, n_e))):
            (out_dir / sub).mkdir(parents=True, exist_ok=True)
            np.savetxt(out_dir / sub / f"{stem}_{step}.txt", rng.uniform(0, 1, shape), fmt="%.5g")


def pngs(out_dir):
    return sorted(p.name for p in (out_dir / "ONOFF").glob("*")) if (out_dir / "ONOFF").exists() else []


def test_rezeptiv_latest_and_all(tmp_path, capsys):
    write_run(tmp_path, [0, 1600])
    assert main([str(tmp_path)]) == 0
    latest = ["InhibW_1600_ONOFF.png", "V1weight_1600_ONOFF.png", "weights_hist_1600.png"]
    assert pngs(tmp_path) == latest
    assert "V1weight_1600_ONOFF.png" in capsys.readouterr().out
    assert main([str(tmp_path), "--all"]) == 0
    assert pngs(tmp_path) == sorted(latest + ["InhibW_0_ONOFF.png", "V1weight_0_ONOFF.png",
                                              "weights_hist_0.png"])
    assert (tmp_path / "ONOFF" / "V1weight_0_ONOFF.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rezeptiv_step_and_non_default_size(tmp_path):
    write_run(tmp_path, [0, 500], n_e=10, n_i=3, patch=8)
    assert main([str(tmp_path), "--step", "0"]) == 0
    assert pngs(tmp_path) == ["InhibW_0_ONOFF.png", "V1weight_0_ONOFF.png", "weights_hist_0.png"]


def test_rezeptiv_skips_missing_histogram_matrix(tmp_path):
    write_run(tmp_path, [200])
    (tmp_path / "V1toIN" / "V1toIN_200.txt").unlink()
    (tmp_path / "excitatory" / "V1weight_200.txt").unlink()
    assert main([str(tmp_path)]) == 0
    assert pngs(tmp_path) == ["InhibW_200_ONOFF.png"]


@pytest.mark.parametrize("content, problem", [
    ("0.1 0.2 0.3\n0.4 0.5 0.6\n", "2*p*p"),
    ("nan " * 648 + "\n", "NaN"),
    ("0.1 abc\n", "parse"),
    ("", "parse"),
])
def test_rezeptiv_malformed_file_writes_nothing(tmp_path, capsys, content, problem):
    write_run(tmp_path, [0, 1600], n_e=4, n_i=2, patch=4)
    bad = tmp_path / "excitatory" / "V1weight_1600.txt"
    bad.write_text(content)
    assert main([str(tmp_path), "--all"]) == 2
    error = capsys.readouterr().err
    assert str(bad) in error and problem in error and error.count("\n") == 1
    assert pngs(tmp_path) == []


@pytest.mark.parametrize("arguments", [["missing"], ["empty"], ["run", "--step", "7"]])
def test_rezeptiv_missing_input(tmp_path, capsys, arguments):
    (tmp_path / "empty" / "excitatory").mkdir(parents=True)
    write_run(tmp_path / "run", [0])
    arguments = [str(tmp_path / arguments[0])] + arguments[1:]
    assert main(arguments) == 2
    assert arguments[0] in capsys.readouterr().err
    assert pngs(tmp_path / "run") == []


def test_rezeptiv_e_to_i_must_match_excitatory_cells(tmp_path, capsys):
    write_run(tmp_path, [0], n_e=4, n_i=2, patch=4)
    bad = tmp_path / "V1toIN" / "V1toIN_0.txt"
    np.savetxt(bad, np.ones((2, 5)))          # 5 columns, but LGN->E has 4 cells
    assert main([str(tmp_path)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert pngs(tmp_path) == []


def test_rezeptiv_marks_a_stand_in_run(tmp_path, monkeypatch):
    import json
    from analysis import rezeptiv
    titles = []
    monkeypatch.setattr(rezeptiv, "plot_rf_grid", lambda fields, path, title: titles.append(title))
    monkeypatch.setattr(rezeptiv, "plot_weight_histograms", lambda hists, path, title: titles.append(title))
    write_run(tmp_path, [0], n_e=4, n_i=2, patch=3)
    assert main([str(tmp_path)]) == 0 and not any("stand-in" in t for t in titles)
    (tmp_path / "run.json").write_text(json.dumps({"images": {"origin": "stand-in", "path": None}}))
    titles.clear()
    assert main([str(tmp_path)]) == 0
    assert titles and all(t.endswith("[stand-in images]") for t in titles)
