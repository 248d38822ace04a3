"""metrics.json, report.md and the figures of an evaluation (``evaluate.py``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluation.compare import PIXELS, accuracy_text
from runs.files import atomic_write, save_json


def class_names(metrics: dict, labels) -> list[str]:
    """Names of the class labels of a result (the data set's class names where it has them)."""
    classes = metrics["dataset"]["classes"]
    return [classes[label] if 0 <= label < len(classes) else str(label) for label in labels]


def best_trained(metrics: dict) -> str:
    """The trained population (group) with the highest test accuracy."""
    trained = {k: v for k, v in metrics["accuracy"].items() if k.startswith("trained ")}
    return max(trained, key=trained.get)


def _figures(out: Path, metrics: dict, dataset) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acc = metrics["accuracy"]
    groups = [k.split(" ", 1)[1] for k in acc if k.startswith("trained ")]
    fig, ax = plt.subplots(figsize=(1.3 * len(groups) + 5.5, 4.2), layout="constrained")
    x = np.arange(len(groups))
    bars_of = [("trained", "tab:purple", "white", "trained network"),
               ("untrained", "0.7", "black", "untrained (snapshot 0)")]
    bars_of = [b for b in bars_of if f"{b[0]} {groups[0]}" in acc]        # untrained: left out on request
    for k, (model, colour, text, label) in enumerate(bars_of):
        offset = 0.4 * k - 0.2 * (len(bars_of) - 1)
        bars = ax.bar(x + offset, [100 * acc[f"{model} {g}"] for g in groups], 0.4, color=colour, label=label)
        # the values, inside the top of each bar: on a 0-100 axis, 98.3 % and 97.1 % look the same
        ax.bar_label(bars, fmt="%.1f", fontsize=8, padding=-11, color=text)
    pixels = 100 * acc["pixels (whitened ON/OFF crops)"]
    ax.axhline(pixels, color="tab:green", ls="--", lw=1.5, label=f"whitened pixels ({pixels:.1f} %)")
    ax.axhline(100 / len(metrics["dataset"]["classes"]), color="k", ls=":", lw=1, label="chance")
    ax.set_xticks(x, groups)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"{metrics['dataset']['name']}: linear SVM on the network's rates")
    ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))   # beside the bars
    atomic_write(out / "accuracy.png", lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)

    best = best_trained(metrics)
    result = metrics["results"][best]
    cm = np.array(result["confusion"], dtype=float)
    cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    n = len(cm)
    fig, ax = plt.subplots(figsize=(max(4.5, 0.35 * n + 2), max(4, 0.35 * n + 1.5)), layout="constrained")
    image = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
    labels = class_names(metrics, result["labels"])
    if n <= 20:
        ax.set_xticks(range(n), labels)
        ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"{best}: {100 * result['accuracy']:.1f} % (rows: fraction of each true class)")
    fig.colorbar(image, ax=ax, shrink=0.8)
    atomic_write(out / "confusion.png", lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)
    return ["accuracy.png", "confusion.png"]


def _crops_text(metrics: dict) -> str:
    c, p = metrics["crops"], metrics["protocol"]
    if c.get("stride") is None:
        return f"four corner crops of {p['crop']} x {p['crop']} (offsets {c['offsets']})"
    side = int(round(len(c["offsets"]) ** 0.5))
    return f"a {side} x {side} grid of {len(c['offsets'])} crops of {p['crop']} x {p['crop']}, stride {c['stride']}"


def write_report(out: Path, metrics: dict, dataset, more_figures=()) -> None:
    save_json(out / "metrics.json", metrics)
    figures = _figures(out, metrics, dataset) + list(more_figures)
    d, p, t = metrics["dataset"], metrics["protocol"], metrics["timing"]
    best = best_trained(metrics)
    splits = d.get("n_splits")
    repeated = f" in each of {splits} random splits (seed {d.get('split_seed')})" if splits else ""
    resized = f", resized to {d['resized_to']} x {d['resized_to']}" if d.get("resized_to") else ""
    scaled = ("each object's views scaled together" if d["name"] == "eth80" else
              "all images scaled together" if splits else "each split scaled")
    lines = [f"# Linear read-out of the V1 model: {d['name']}", "",
             f"Command: `{' '.join(metrics['command'])}` ({metrics['created']}).", "",
             f"Data: {d['source']}; {d['n_train']} training and {d['n_test']} test images"
             f"{repeated}, "
             f"{len(d['classes'])} classes{resized}; split: {d['split']}.", "",
             f"Protocol: grey, /255, whitened (f0 = {p['f0_fraction']} x size), {scaled} to variance "
             f"{p['variance']}; {_crops_text(metrics)}, "
             f"ON/OFF, rates up to {p['max_rate_hz']:g} Hz; every crop shown {p['repeats']} times for "
             f"{p['presentation_ms']:g} ms, {'from the initial state each time' if p['reset'] else 'back to back'}"
             f"{'' if p['delays'] else ', layer 2/3 without delays'}; Poisson seed {metrics['seed']}. Features: mean "
             f"rates, all cells x all crops, divided by the matrix maximum{', minus its global mean' if p.get('centre') else ''}"
             f"; LinearSVC, C = {p['C']:g} ({metrics.get('C_from', '--C')}), one-vs-rest"
             f"{' (primal solver)' if 'dual=False' in p.get('solver', '') else ''}.", "",
             "| features | trained network | untrained (snapshot 0) |", "|---|---|---|"]
    for key in metrics["accuracy"]:
        if key.startswith("trained "):
            group = key.split(" ", 1)[1]
            lines.append(f"| {group} | {accuracy_text(metrics, key)} | {accuracy_text(metrics, f'untrained {group}')} |")
    lines += [f"| whitened ON/OFF pixels of the same crops | {accuracy_text(metrics, PIXELS)} | |", "",
              ("Accuracies: mean ± standard deviation over the random splits." if splits else
               "Accuracies ± binomial standard error sqrt(p(1-p)/n_test)."),
              "", f"Chance: {100 / len(d['classes']):.1f} %. Best trained population: {best}; per-class F1: "
              + ", ".join(f"{c}: {f:.2f}" for c, f in zip(class_names(metrics, metrics["results"][best]["labels"]),
                                                          metrics["results"][best]["f1_per_class"])) + ".",
              ""]
    if t["simulation_wall_time_s"]:
        lines += [f"Simulation: {t['presentations_simulated']:,} presentations, {t['model_time_s']:,.0f} s of model "
                  f"time in {t['simulation_wall_time_s']:,.1f} s of wall time (model/wall "
                  f"{t['model_per_wall']:.1f}), {t['workers'] or t['scheduler']} workers.", ""]
    elif t.get("features_simulated"):
        c = t["features_simulated"]
        lines += [f"Features from the cache, simulated {c['date']}: {c['presentations']:,} presentations, "
                  f"{c['model_time_s']:,.0f} s of model time in {c['simulation_wall_time_s']:,.1f} s of wall time "
                  f"(model/wall {c['model_per_wall']:.1f}), {c['workers'] or c['scheduler']} workers.", ""]
    lines += [f"![{name}]({name})" for name in figures] + [""]
    text = "\n".join(lines)
    atomic_write(out / "report.md", lambda f: f.write(text.encode()))
