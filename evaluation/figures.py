"""How the classes lie in the best population's responses, beside the pixels': a
representational dissimilarity matrix (RDM) and a 2-D t-SNE map of the test images.

Both are drawn from the features an evaluation already has (simulated or cached), never by
simulating again:

* ``rdm.png``: 1 - Pearson correlation (Kriegeskorte et al. 2008) between the mean response
  vectors of every pair of classes; with fewer than ``MIN_CLASSES_FOR_MEANS`` classes (Caltech
  faces/motorbikes: a 2 x 2 matrix would say little), between single test images sorted by
  class, at most ``RDM_IMAGES_PER_CLASS`` of each.
* ``tsne.png``: scikit-learn's ``TSNE`` (2 components, PCA initialisation) of the test images'
  responses, coloured by class; the responses are first reduced to their first
  ``TSNE_PCA`` principal components, and test sets larger than ``TSNE_MAX_IMAGES`` are
  subsampled at random (the figure says so).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from runs.files import atomic_write

MIN_CLASSES_FOR_MEANS = 5
RDM_IMAGES_PER_CLASS = 50
TSNE_MAX_IMAGES = 2000
TSNE_PCA = 50


def dissimilarity(vectors: np.ndarray) -> np.ndarray:
    """1 - Pearson correlation between every pair of rows (NaN where a row is constant)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - np.corrcoef(vectors)


def class_means(x: np.ndarray, labels: np.ndarray, classes) -> np.ndarray:
    """The mean row of every class in *classes*, in that order."""
    return np.stack([x[labels == c].mean(axis=0) for c in classes])


def rdm_rows(x: np.ndarray, labels: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray, str]:
    """(rows the RDM compares, their class labels, what a row is)."""
    classes = np.unique(labels)
    if len(classes) >= MIN_CLASSES_FOR_MEANS:
        return class_means(x, labels, classes), classes, "class means"
    picked = [np.sort(rng.permutation(np.flatnonzero(labels == c))[:RDM_IMAGES_PER_CLASS]) for c in classes]
    index = np.concatenate(picked)
    return x[index], labels[index], f"test images sorted by class, at most {RDM_IMAGES_PER_CLASS} per class"


def tsne_map(x: np.ndarray, seed: int) -> np.ndarray:
    """2-D t-SNE coordinates of the rows of *x* (after PCA to at most TSNE_PCA components)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    n_components = min(TSNE_PCA, x.shape[0] - 1, x.shape[1])
    reduced = PCA(n_components=n_components, random_state=seed).fit_transform(x) if x.shape[1] > n_components else x
    perplexity = min(30.0, (len(x) - 1) / 3.0)
    return TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(reduced)


def _class_colours(n: int):
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20" if n <= 20 else "nipy_spectral")
    return [cmap(i if n <= 20 else i / max(n - 1, 1)) for i in range(n)]


def representation_figures(out: Path, shown: dict, labels: np.ndarray, metrics: dict, centre: bool,
                           seed: int = 0) -> list[str]:
    """rdm.png and tsne.png of the feature sets in *shown* (name -> arrays (n, ...) of the test
    images, normalised like the read-out's matrices); returns the file names."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from evaluation.classify import feature_matrix
    from evaluation.report import class_names

    labels = np.asarray(labels)
    matrices = {name: feature_matrix(arrays, centre) for name, arrays in shown.items()}
    classes = np.unique(labels)
    names = class_names(metrics, classes.tolist())
    title = metrics["dataset"]["name"]
    which = "test images of the first random split" if metrics["dataset"].get("n_splits") else "test images"

    # representational dissimilarity
    rdms = {}
    for name, x in matrices.items():
        rows, row_labels, what = rdm_rows(x, labels, np.random.default_rng(seed))
        rdms[name] = dissimilarity(rows)
    top = max(float(np.nanmax(d)) if np.isfinite(d).any() else 0.0 for d in rdms.values()) or 1.0
    fig, axes = plt.subplots(1, len(matrices), figsize=(5.2 * len(matrices) + 1, 5), layout="constrained")
    for ax, (name, d) in zip(np.atleast_1d(axes), rdms.items()):
        image = ax.imshow(d, cmap="viridis", vmin=0.0, vmax=top, interpolation="nearest")
        if what == "class means" and len(classes) <= 20:
            ax.set_xticks(range(len(classes)), names, rotation=90)
            ax.set_yticks(range(len(classes)), names)
        elif what != "class means":
            edges = np.flatnonzero(np.diff(row_labels)) + 0.5
            for e in edges:
                ax.axhline(e, color="w", lw=0.8)
                ax.axvline(e, color="w", lw=0.8)
            centres = [np.mean(np.flatnonzero(row_labels == c)) for c in classes]
            ax.set_xticks(centres, names)
            ax.set_yticks(centres, names)
        ax.set_title(name)
    fig.colorbar(image, ax=axes, shrink=0.8, label="1 − correlation")
    fig.suptitle(f"{title}: representational dissimilarity of {what} ({len(labels)} {which})")
    atomic_write(out / "rdm.png", lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)

    # t-SNE
    rng = np.random.default_rng(seed)
    index = np.arange(len(labels)) if len(labels) <= TSNE_MAX_IMAGES else \
        np.sort(rng.choice(len(labels), TSNE_MAX_IMAGES, replace=False))
    colours = _class_colours(len(classes))
    fig, axes = plt.subplots(1, len(matrices), figsize=(5.2 * len(matrices) + 2, 5), layout="constrained")
    for ax, (name, x) in zip(np.atleast_1d(axes), matrices.items()):
        xy = tsne_map(x[index], seed)
        for c, colour, label in zip(classes, colours, names):
            here = labels[index] == c
            ax.scatter(xy[here, 0], xy[here, 1], s=9, color=colour, label=label, linewidths=0)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    if len(classes) <= 20:
        np.atleast_1d(axes)[-1].legend(frameon=False, fontsize=8, markerscale=2.5, loc="upper left",
                                       bbox_to_anchor=(1.01, 1.0))
    sample = (f"{len(index)} of {len(labels)} {which}, drawn at random" if len(index) < len(labels)
              else f"all {len(labels)} {which}")
    fig.suptitle(f"{title}: t-SNE of the responses ({sample}; PCA to {TSNE_PCA} components first)")
    atomic_write(out / "tsne.png", lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)
    return ["rdm.png", "tsne.png"]
