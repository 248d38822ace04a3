"""Figures of a training run, written while it trains: firing rates and weight statistics.

* ``<plots>/rates.png``: four E cells' rates and the population means per rate window
  (``frExc.npy``, ``frInh.npy``);
* ``<plots>/weights.png``: per plastic projection, the mean and standard deviation of its
  weights and the fractions at 0, within 5 % of the upper bound and at or above it, at every
  snapshot (``weight_stats.json``), and the weights near the bound at the last snapshot.

``<plots>`` is ``V1Layer/`` for layer 4 and ``V2Layer/`` for layer 2/3. Both are redrawn at
every snapshot, so a user can watch a run without TensorBoard.
``python -m training.plots RUN`` redraws them for a finished (or an older) run, computing
the weight statistics from the snapshot files where ``weight_stats.json`` is missing.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from runs.files import atomic_write, save_json

STATS_FILE = "weight_stats.json"
FONT = 11


def plot_folder(out_dir, layer) -> Path:
    return Path(out_dir) / ("V1Layer" if layer.frozen_from is None else "V2Layer")


def upper_bound(spec) -> float:
    """wMax of a Clopath projection, hMax of a Vogels one."""
    return getattr(spec.rule, "wMax", None) or spec.rule.hMax


# Histogram of the weights near the bound, in fractions of it: 0.80-1.05 in steps of 0.01, then beyond.
NEAR_EDGES = np.round(np.arange(0.80, 1.0501, 0.01), 2)
NEAR = 0.95                  # "near the bound": within 5 % of it


def weight_statistics(weights: np.ndarray, w_max: float) -> dict:
    """mean, std, the fractions of weights at 0, at or above the bound, within 5 % of it and
    above it, the largest weight, and a histogram near the bound (``NEAR_EDGES`` × w_max and
    everything beyond the last edge).

    The bound of a Clopath projection stops LTP; it does not clip (rules.clopath). A weight
    just below wMax can take one more step of LTP and end slightly above it, where only LTD
    acts on it; the ON/OFF balance of the LGN weights (models.schedule) also rescales ON
    weights without clipping. So a few weights sit slightly above wMax (layer 4, seed 2, at
    400,000 patches: 1.65 % of LGN→E, ON and OFF alike, the largest 5.058 against 5).
    Vogels weights are clipped at hMax.
    """
    w = np.asarray(weights, dtype=np.float64)
    counts, _ = np.histogram(w / w_max, bins=np.r_[NEAR_EDGES, np.inf])
    return {"mean": float(w.mean()), "std": float(w.std()), "fraction_zero": float(np.mean(w <= 0.0)),
            "fraction_max": float(np.mean(w >= w_max)), "fraction_near_max": float(np.mean(w >= NEAR * w_max)),
            "fraction_above_max": float(np.mean(w > w_max)), "max": float(w.max()), "w_max": float(w_max),
            "near_max_counts": counts.tolist(), "n": int(w.size)}


def stand_in_note(out_dir) -> str:
    """" [stand-in images]" for a run trained on the stand-in images (run.json), else ""."""
    try:
        origin = json.loads((Path(out_dir) / "run.json").read_text())["images"]["origin"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return " [stand-in images]" if origin == "stand-in" else ""


def grid_shape(n: int) -> tuple[int, int]:
    """Near-square grid for n panels: rows = ceil(sqrt(n)), cols = ceil(n / rows)."""
    rows = max(1, math.ceil(math.sqrt(n)))
    return rows, max(1, math.ceil(n / rows))


def mosaic(fields: np.ndarray, rows: int, cols: int, gap=np.nan) -> np.ndarray:
    """Tile (n, h, w) fields into one image with one-pixel gaps (value *gap*)."""
    n, h, w = fields.shape
    image = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), gap)
    for i in range(n):
        r, c = divmod(i, cols)
        image[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = fields[i]
    return image


def field_image(lgn_weights: np.ndarray) -> np.ndarray:
    """ON - OFF fields of LGN weights as one grey mosaic in [0, 1] (0.5 = zero; gaps 0.5)."""
    n, n_lgn = lgn_weights.shape
    side = math.isqrt(n_lgn // 2)
    fields = lgn_weights.reshape(n, side, side, 2) @ np.array([1.0, -1.0])
    m = float(np.max(np.abs(fields))) or 1.0
    return mosaic(0.5 + 0.5 * fields / m, *grid_shape(n), gap=0.5)


def _figure(rows, cols, size):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": FONT, "axes.spines.top": False, "axes.spines.right": False})
    return plt, plt.subplots(rows, cols, figsize=size, layout="constrained", squeeze=False)


def _save(plt, fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)
    return path


def plot_rates(out_dir, layer, cells=(0, 1, 2, 3), folder=None) -> Path:
    """Rates of four E cells and the population means over training -> <plots>/rates.png (or *folder*)."""
    out_dir = Path(out_dir)
    exc, inh = np.load(out_dir / "frExc.npy"), np.load(out_dir / "frInh.npy")
    e_name, i_name = layer.rate_populations
    patches = (np.arange(len(exc)) + 1) * layer.model.training.rate_window
    plt, (fig, axes) = _figure(2, 1, (8, 6))
    ax_cells, ax_mean = axes[0, 0], axes[1, 0]
    for c in cells:
        if c < exc.shape[1]:
            ax_cells.plot(patches, exc[:, c], lw=1, label=f"{e_name} cell {c}")
    ax_cells.set_ylabel("rate (Hz)")
    ax_cells.set_title(f"Firing rates over training (windows of {layer.model.training.rate_window} patches)"
                       f"{stand_in_note(out_dir)}")
    ax_cells.legend(frameon=False, ncols=4, fontsize=9)
    ax_mean.plot(patches, exc.mean(axis=1), color="tab:red", label=f"{e_name} mean")
    ax_mean.plot(patches, inh.mean(axis=1), color="tab:blue", label=f"{i_name} mean")
    ax_mean.set_xlabel("patches presented")
    ax_mean.set_ylabel("rate (Hz)")
    ax_mean.legend(frameon=False)
    return _save(plt, fig, Path(folder or plot_folder(out_dir, layer)) / "rates.png")


def load_statistics(out_dir) -> dict:
    """step -> projection -> statistics, from ``weight_stats.json`` (empty if absent)."""
    path = Path(out_dir) / STATS_FILE
    if not path.is_file():
        return {}
    return {int(step): stats for step, stats in json.loads(path.read_text())["snapshots"].items()}


def save_statistics(out_dir, stats: dict) -> None:
    save_json(Path(out_dir) / STATS_FILE, {"snapshots": {str(k): stats[k] for k in sorted(stats)}})


def plot_weights(out_dir, layer, stats: dict, folder=None) -> Path:
    """Weight statistics of every plastic projection over training and, for the last
    snapshot, the weights near the bound -> <plots>/weights.png (or *folder*)."""
    steps = sorted(stats)
    names = [s.name for s in layer.plastic]
    plt, (fig, axes) = _figure(3, len(names), (3.3 * len(names), 9.0))
    x = np.array(steps, dtype=float)
    unit, scale = ("thousands of patches", 1e-3) if x.max(initial=0) >= 10_000 else ("patches", 1.0)
    for k, name in enumerate(names):
        mean = np.array([stats[s][name]["mean"] for s in steps])
        std = np.array([stats[s][name]["std"] for s in steps])
        w_max = stats[steps[0]][name]["w_max"]
        top, middle, bottom = axes[0, k], axes[1, k], axes[2, k]
        top.plot(x * scale, mean, "o-", ms=3, color="tab:purple")
        top.fill_between(x * scale, mean - std, mean + std, color="tab:purple", alpha=0.2, lw=0)
        top.set_title(name.replace("_", "→"))
        top.set_ylim(bottom=0)
        middle.plot(x * scale, [stats[s][name]["fraction_zero"] for s in steps], "o-", ms=3, color="0.3",
                    label="at 0")
        if "fraction_near_max" in stats[steps[-1]][name]:
            middle.plot(x * scale, [stats[s][name].get("fraction_near_max", np.nan) for s in steps], "o-", ms=3,
                        color="tab:olive", label=f"within 5 % of the bound (≥ {NEAR * w_max:g})")
        middle.plot(x * scale, [stats[s][name]["fraction_max"] for s in steps], "o-", ms=3, color="tab:orange",
                    label=f"at or above the bound ({w_max:g})")
        middle.set_ylim(-0.02, 1.02)
        middle.set_xlabel(unit)
        middle.legend(frameon=False, fontsize=8)
        _near_bound(bottom, stats[steps[-1]][name], steps[-1])
    axes[0, 0].set_ylabel("weight: mean ± std")
    axes[1, 0].set_ylabel("fraction of synapses")
    axes[2, 0].set_ylabel("fraction of synapses")
    fig.suptitle(f"{layer.name}: weights over training ({len(steps)} snapshots){stand_in_note(out_dir)}")
    fig.get_layout_engine().set(rect=(0, 0.035, 1, 0.965))          # room for the note below
    fig.text(0.5, 0.005, "Bottom row: the weights near the bound at the last snapshot (red: beyond 1.05 × the "
                         "bound). A Clopath bound (wMax) stops LTP but does not clip: the step of LTP that crosses it (and, "
                         "for the LGN weights, the ON/OFF rescaling) leaves a few weights slightly above it, where only "
                         "LTD acts. Vogels weights are clipped at their bound.", ha="center", va="bottom", fontsize=9, wrap=True)
    return _save(plt, fig, Path(folder or plot_folder(out_dir, layer)) / "weights.png")


def _near_bound(ax, stats: dict, step: int) -> None:
    """Histogram of the weights of one snapshot near the bound, the bound marked."""
    if "near_max_counts" not in stats:
        ax.set_axis_off()
        return
    w_max, counts = stats["w_max"], np.asarray(stats["near_max_counts"], dtype=float) / stats["n"]
    edges = NEAR_EDGES * w_max
    ax.bar(edges[:-1], counts[:-1], width=np.diff(edges), align="edge", color="tab:olive")
    beyond = edges[-1] + np.diff(edges)[-1]
    ax.bar(beyond, counts[-1], width=np.diff(edges)[-1], align="edge", color="tab:red")
    ax.axvline(w_max, color="k", lw=1, ls="--")
    ax.set_xlabel(f"weight (bound {w_max:g} dashed)")
    ax.set_title(f"patch {step:,}: {100 * stats['fraction_above_max']:.2f} % above the bound,\n"
                 f"{100 * stats['fraction_near_max']:.1f} % within 5 %, max {stats['max']:.3f}", fontsize=9)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.plots",
                                     description="Redraw rates.png and weights.png of a training run.")
    parser.add_argument("run", help="output folder of a layer-4 or layer-2/3 run")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="write the figures into DIR and nothing into the run (default: the run's "
                             "V1Layer/ or V2Layer/, and weight_stats.json completed there)")
    args = parser.parse_args(argv)
    from runs.snapshots import SnapshotError, layer_of, load_snapshot, complete_steps
    out = Path(args.run)
    try:
        layer = layer_of(out)
        stats = load_statistics(out)
        for step in complete_steps(out, layer):
            if step not in stats or any("near_max_counts" not in v for v in stats[step].values()):
                weights = load_snapshot(layer, out, step).weights
                stats[step] = {s.name: weight_statistics(weights[s.name], upper_bound(s)) for s in layer.plastic}
    except SnapshotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out is None:
        save_statistics(out, stats)
    print(plot_weights(out, layer, stats, args.out))
    if (out / "frExc.npy").is_file():
        print(plot_rates(out, layer, folder=args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
