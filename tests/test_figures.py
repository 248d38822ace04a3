"""Figures that show their numbers: titles inside the figure, no empty panel, bars with values."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from analysis import figures  # noqa: E402


@pytest.fixture
def drawn(monkeypatch):
    """The figures drawn by analysis.figures, kept open instead of saved."""
    kept = []
    monkeypatch.setattr(figures, "_save", lambda fig, path, dpi=110: kept.append(fig) or path)
    yield kept
    for fig in kept:
        plt.close(fig)


def _inside(fig, artist):
    fig.canvas.draw()
    box = artist.get_window_extent(fig.canvas.get_renderer())
    return box.x0 >= 0 and box.x1 <= fig.bbox.x1 and box.y1 <= fig.bbox.y1


def test_bandwidth_title_with_its_median_fits_the_figure(drawn, tmp_path):
    bandwidth = np.r_[np.linspace(20, 60, 300), [np.nan] * 24]
    figures.bandwidth_histogram(bandwidth, tmp_path / "b.png",
                                "layer 2/3 E2 [stand-in images]: orientation bandwidth (full width at half height)")
    ax = drawn[0].axes[0]
    assert "median 40°" in ax.get_title() and _inside(drawn[0], ax.title)


def test_tuning_summary_has_a_gabor_panel_only_with_gabor_fits(drawn, tmp_path):
    n = 50
    rng = np.random.default_rng(0)
    preferred, osi, half = rng.uniform(0, 180, n), rng.uniform(0, 1, n), rng.uniform(5, 40, n)
    responsive = np.ones(n, bool)
    figures.tuning_summary(preferred, osi, half, responsive, None, None, tmp_path / "e2.png", "E2", 5.0)
    figures.tuning_summary(preferred, osi, half, responsive, preferred + 1, np.ones(n, bool), tmp_path / "e.png",
                           "E", 5.0)
    without, with_fits = drawn
    assert len(without.axes) == 3 and all(ax.has_data() for ax in without.axes)
    assert len(with_fits.axes) == 4 and with_fits.axes[3].get_title() == "grating vs Gabor: median |Δ| 1.0° (n = 50)"


def test_accuracy_bars_carry_their_values(monkeypatch, tmp_path):
    from evaluation import report
    close, closed = plt.close, []
    monkeypatch.setattr(plt, "close", closed.append)
    accuracy = {"trained E": 0.983, "trained I": 0.971, "trained E+I": 0.9811, "untrained E": 0.9544,
                "untrained I": 0.7475, "untrained E+I": 0.9533, "pixels (whitened ON/OFF crops)": 0.9711}
    results = {k: {"accuracy": v, "confusion": np.eye(10, dtype=int).tolist(), "labels": list(range(10))}
               for k, v in accuracy.items()}
    metrics = {"accuracy": accuracy, "results": results,
               "dataset": {"name": "digits", "classes": [str(i) for i in range(10)]}}
    report._figures(tmp_path, metrics, None)
    labels = [text.get_text() for text in closed[0].axes[0].texts]
    for fig in closed:
        close(fig)
    assert labels == ["98.3", "97.1", "98.1", "95.4", "74.8", "95.3"]


def test_weight_statistics_near_and_above_the_bound():
    from training.plots import NEAR_EDGES, weight_statistics
    w = np.array([0.0, 0.0, 1.0, 2.0, 4.8, 4.9, 5.0, 5.05])
    stats = weight_statistics(w, 5.0)
    assert stats["fraction_zero"] == 2 / 8 and stats["fraction_max"] == 2 / 8
    assert stats["fraction_near_max"] == 4 / 8 and stats["fraction_above_max"] == 1 / 8 and stats["max"] == 5.05
    counts = dict(zip(NEAR_EDGES[:-1].tolist(), stats["near_max_counts"]))      # bins by fraction of the bound
    assert counts[0.96] == 1 and counts[0.98] == 1 and counts[1.0] == 1 and counts[1.01] == 1
    assert sum(stats["near_max_counts"]) == 4


def test_weights_figure_of_a_stand_in_run_says_so(monkeypatch, tmp_path):
    import json
    from models.layers import layer4
    from training import plots
    LAYER4 = layer4()
    kept = []
    monkeypatch.setattr(plots, "_save", lambda plt_, fig, path: kept.append(fig) or path)
    (tmp_path / "run.json").write_text(json.dumps({"images": {"origin": "stand-in", "path": None}}))
    rng = np.random.default_rng(0)
    stats = {step: {s.name: plots.weight_statistics(rng.uniform(0, plots.upper_bound(s), 100), plots.upper_bound(s))
                    for s in LAYER4.plastic} for step in (0, 100)}
    plots.plot_weights(tmp_path, LAYER4, stats)
    fig = kept[0]
    assert fig._suptitle.get_text().endswith("[stand-in images]")
    assert len(fig.axes) == 3 * len(LAYER4.plastic)                  # the row near the bound included
    plt.close(fig)
