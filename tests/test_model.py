"""The model as a value (models/parameters.py): PUBLISHED pinned to docs/model.md, validation,
overrides (--set, --params), named variants, the record in run.json and the hash."""
import re
from pathlib import Path

import pytest

from models.parameters import PUBLISHED, Model, ModelError, parse_set, read_params
from models.variants import VARIANTS, variant

REPO_ROOT = Path(__file__).resolve().parent.parent
DOC = (REPO_ROOT / "docs" / "model.md").read_text()


def _doc_table_value(name):
    """The value of parameter *name* in docs/model.md's AdEx parameter table."""
    m = re.search(rf"^\| {re.escape(name)} \| (−?[\d.]+) ", DOC, re.M)
    assert m, name
    return float(m.group(1).replace("−", "-"))


# --- PUBLISHED is the specification ---------------------------------------------------------------

def test_published_adex_parameters_are_the_documented_ones():
    for name in PUBLISHED.adex.PARAMETERS:
        assert getattr(PUBLISHED.adex, name) == _doc_table_value(name), name


def test_published_numbers_are_the_documented_ones():
    """Every other number of PUBLISHED, written out here from docs/model.md."""
    m = PUBLISHED
    assert m.dt == 1.0
    assert (m.input.patch_size, m.input.max_rate, m.input.presentation_ms, m.input.flip_probability) == \
        (18, 100.0, 125.0, 0.5)
    assert (m.input.whitening_f0, m.input.whitening_variance) == (0.4, 0.1)
    assert (m.lgn.EL, m.lgn.VTrest, m.lgn.taux, m.lgn.drift_ms, m.lgn.g_init, m.lgn.input_weight) == \
        (-70.4, -50.4, 15.0, 1000.0, -70.6, 30.0)
    a = m.adex
    assert (a.spike_peak, a.spike_upstroke, a.spike_downstroke_to, a.z_jump_offset, a.vt_jump_offset) == \
        (29.0, 3.462, -51.75, 10.0, 0.4)
    assert (a.upstroke_ms, a.downstroke_ms, a.u_mean_init, m.lgn.spike_ms) == (1.0, 1.0, -70.0, 1.0)
    assert (m.rules.theta_ltd, m.rules.theta_ltp, m.rules.clopath_w_min) == (-70.6, -45.3, 0.0)
    assert (m.rules.vogels_tau, m.rules.vogels_w_min, m.rules.vogels_w_max) == (10.0, 0.0, 0.5)
    assert (m.sizes.n_exc, m.sizes.n_inh, m.sizes.n_exc2, m.sizes.n_inh2) == (324, 81, 324, 81)
    l4 = m.l4
    assert (l4.LGN_E.urefsquare, l4.LGN_E.aLTD, l4.LGN_E.aLTP, l4.LGN_E.wMax, l4.LGN_E.w_init) == \
        (60.0, 0.00014 * 0.6, 0.00018 * 0.6, 5.0, (0.025, 1.0))
    assert (l4.LGN_I.urefsquare, l4.LGN_I.aLTD, l4.LGN_I.aLTP, l4.LGN_I.wMax, l4.LGN_I.w_init) == \
        (55.0, 0.00014 * 0.3, 0.00018 * 0.3, 3.0, (0.0, 0.1))
    assert (l4.E_I.urefsquare, l4.E_I.aLTD, l4.E_I.aLTP, l4.E_I.wMax, l4.E_I.w_init) == \
        (55.0, 0.000012 * 0.03, 0.000015 * 0.03, 0.7, (0.0, 0.1))
    assert (l4.I_E.aPlus, l4.I_E.Offset, l4.I_E.w_init) == (4e-6, 0.35, (0.0, 0.0))
    assert (l4.I_I.aPlus, l4.I_I.Offset, l4.I_I.w_init) == (4e-6, 0.45, (0.0, 0.0))
    l23 = m.l23
    assert (l23.E_E2.urefsquare, l23.E_E2.aLTD, l23.E_E2.aLTP, l23.E_E2.wMax, l23.E_E2.w_init, l23.E_E2.delay) == \
        (50.0, 0.00012 * 0.625, 0.00014 * 0.625, 3.25, (0.20, 1.25), (1.0, 3.0))
    assert (l23.E2_I2.urefsquare, l23.E2_I2.aLTD, l23.E2_I2.aLTP, l23.E2_I2.wMax, l23.E2_I2.w_init,
            l23.E2_I2.delay) == (50.0, 0.000014 * 0.4, 0.000018 * 0.4, 1.0, (0.01, 0.5), (1.0, 3.0))
    assert (l23.E_I2.urefsquare, l23.E_I2.aLTD, l23.E_I2.aLTP, l23.E_I2.wMax, l23.E_I2.w_init, l23.E_I2.delay) == \
        (45.0, 0.00012 * 0.4, 0.00015 * 0.4, 1.0, (0.01, 0.1), None)
    assert (l23.I2_E2.aPlus, l23.I2_E2.Offset, l23.I2_E2.w_init) == (8e-6, 0.50, (0.1, 0.3))
    assert (l23.I2_I2.aPlus, l23.I2_I2.Offset, l23.I2_I2.w_init) == (4e-6, 0.60, (0.05, 0.13))
    assert (m.training.n_patches, m.training.normalize_ms, m.training.n_snapshots, m.training.rate_window) == \
        (400_000, 20_000.0, 20, 100)
    assert m.normalize_every == 160 and m.steps_per_patch == 125 and m.n_lgn == 648
    h = m.health
    assert (h.field_fraction, h.check_patch, h.fail_fraction, h.partial_fraction) == (0.5, 2000, 0.15, 0.05)
    assert m.analysis.responsive_hz == 16.0


def test_documented_projection_numbers_appear_in_the_specification():
    """The projection tables of docs/model.md hold the numbers pinned above."""
    for row in ("| LGN → E | Exc | STDP | U(0.025, 1.0) | 60 | 0.00014 · 0.6 | 0.00018 · 0.6 | 5 |",
                "| I → I | Inh | iSTDP | 0 | 4e-6 | 0.45 |",
                "| E → E2 | Exc | STDP | U(0.20, 1.25) | U(1, 3) ms | 50 | 0.00012 · 0.625 | 0.00014 · 0.625 | 3.25 |",
                "| I2 → I2 | Inh | iSTDP | U(0.05, 0.13) | 4e-6 | 0.60 |"):
        assert row in DOC, row


def test_no_file_points_outside_the_repository():
    """The specification is docs/model.md; nothing cites the file a clone does not have."""
    import subprocess
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    outside = ("MODEL_" + "SPEC", "shared/" + "docs")          # spelled apart: this file is scanned too
    offenders = [name for name in tracked if Path(name).suffix in (".py", ".md", ".hpp", ".sh", ".toml", ".txt", "")
                 and (REPO_ROOT / name).is_file()
                 and any(word in (REPO_ROOT / name).read_text(errors="replace") for word in outside)]
    assert offenders == []


# --- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"dt": 0.3}, "dt = 0.3 ms does not divide adex.upstroke_ms = 1 ms into whole steps"),
    ({"dt": 2.0}, "dt = 2 ms does not divide adex.upstroke_ms"),
    ({"input.presentation_ms": 130.0}, "training.normalize_ms = 20000 ms is not a whole number of 130-ms"),
    ({"adex.VTMax": -60.0}, "adex.VTMax = -60: must be above adex.VTrest"),
    ({"adex.C": -1}, "adex.C = -1.0: must be a positive number"),
    ({"l4.LGN_E.wMax": 0.5}, "l4.LGN_E.w_init = (0.025, 1.0): above wMax = 0.5"),
    ({"l4.LGN_E.w_init": "1.0,0.5"}, "l4.LGN_E.w_init = (1.0, 0.5): must be two finite numbers low <= high"),
    ({"l23.E_E2.delay": "0.5,3"}, "l23.E_E2.delay = (0.5, 3.0): low must be at least 1"),
    ({"sizes.n_exc": "400.5"}, "--set sizes.n_exc='400.5': expected a whole number"),
    ({"sizes.n_exc": 1}, "sizes.n_exc = 1: must be a whole number of at least 2 cells"),
    ({"adex.gl": 35}, "--set adex.gl: adex has no 'gl'"),
    ({"adex": 35}, "--set adex: a section, not a number"),
    ({"input.flip_probability": 1.5}, "input.flip_probability = 1.5: must be a probability"),
    ({"health.fail_fraction": 0.01}, "need 0 <= partial <= fail <= 1"),
])
def test_invalid_values_are_refused_in_one_line(overrides, message):
    with pytest.raises(ModelError) as err:
        PUBLISHED.with_overrides(overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_overrides_convert_and_keep_the_value_frozen():
    model = PUBLISHED.with_overrides(parse_set(["adex.gL=35", "sizes.n_exc=400", "l4.LGN_E.wMax=4.5"]))
    assert model.adex.gL == 35.0 and isinstance(model.adex.gL, float)
    assert model.sizes.n_exc == 400 and isinstance(model.sizes.n_exc, int)
    assert model.l4.LGN_E.wMax == 4.5 and model.projections("L4")[0].rule.wMax == 4.5
    assert PUBLISHED.adex.gL == 30.0                            # PUBLISHED is untouched
    with pytest.raises(Exception):
        model.adex.gL = 1.0                                     # frozen
    assert model.differences(PUBLISHED) == {"adex.gL": (35.0, 30.0), "l4.LGN_E.wMax": (4.5, 5.0),
                                            "sizes.n_exc": (400, 324)}
    with pytest.raises(ModelError, match="expected section.key=value"):
        parse_set(["adex.gL"])


def test_params_file(tmp_path):
    path = tmp_path / "variant.toml"
    path.write_text("dt = 0.5\n[adex]\ngL = 35\n[l4.LGN_E]\nwMax = 4.0\nw_init = [0.1, 0.9]\n")
    model = PUBLISHED.with_overrides(read_params(path), source=str(path))
    assert (model.dt, model.adex.gL, model.l4.LGN_E.wMax, model.l4.LGN_E.w_init) == (0.5, 35.0, 4.0, (0.1, 0.9))
    path.write_text("[adex\n")
    with pytest.raises(ModelError, match="variant.toml: not valid TOML"):
        read_params(path)
    with pytest.raises(ModelError, match="cannot read"):
        read_params(tmp_path / "missing.toml")


def test_record_round_trip_and_hash():
    model = variant("large")
    assert Model.from_record(model.record()) == model
    assert Model.from_record(PUBLISHED.record()) == PUBLISHED
    assert model.hash() != PUBLISHED.hash() and len(PUBLISHED.hash()) == 12
    assert Model().hash() == PUBLISHED.hash()


def test_named_variants_are_valid_and_differ():
    models = {name: variant(name) for name in VARIANTS}
    assert models["published"] == PUBLISHED
    assert len({m.hash() for m in models.values()}) == len(VARIANTS)
    assert models["slow_presentation"].normalize_every == 100          # still every 20 s
    assert models["fine_dt"].steps_per_patch == 250
    with pytest.raises(ModelError, match="unknown model variant 'nope'"):
        variant("nope")


# --- layout ---------------------------------------------------------------------------------------

def test_imports_run_one_way():
    """input/ and rules/ import nothing of the package; models/ only rules/ and input/;
    simulator/ and runs/ nothing above the model (training, analysis, evaluation, experiments)."""
    import ast
    allowed = {"input": set(), "rules": set(), "models": {"rules", "input"},
               "simulator": {"models", "rules", "input", "runs"}, "runs": {"models", "rules", "input"}}
    packages = {"input", "rules", "models", "simulator", "runs", "training", "analysis", "evaluation",
                "experiments", "benchmarks"}
    found = []
    for package, ok in allowed.items():
        for path in (REPO_ROOT / package).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
                for name in names:
                    top = name.split(".")[0]
                    if top in packages and top != package and top not in ok:
                        found.append(f"{path.relative_to(REPO_ROOT)} imports {name}")
    assert found == []
