"""Figures of the analysis report (``analysis.analyze``): one function per PNG.

Every function takes plain arrays, draws one figure with labelled axes and
units, and writes it atomically (``runs.files.atomic_write``). Orientation is
the wave-vector direction of ``analysis.tuning`` / ``analysis.gabor`` in
degrees, [0, 180).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend first)
import numpy as np  # noqa: E402

from analysis.gabor import gabor  # noqa: E402
from analysis.gabor import PARAM_NAMES  # noqa: E402
from runs.files import atomic_write  # noqa: E402

FONT = 11
plt.rcParams.update({"font.size": FONT, "axes.titlesize": FONT + 1, "axes.labelsize": FONT,
                     "axes.spines.top": False, "axes.spines.right": False})
COLOURS = {"E": "tab:red", "I": "tab:blue", "E2": "tab:orange", "I2": "tab:cyan"}


def _save(fig, path, dpi=110):
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi))
    finally:
        plt.close(fig)
    return path


def _wrapped(title: str, width: int) -> str:
    """*title* broken into lines of at most *width* characters (titles are not wrapped by matplotlib)."""
    import textwrap
    return "\n".join(textwrap.wrap(title, width))


def _symmetric_limit(*arrays):
    m = max(float(np.nanmax(np.abs(a))) if np.size(a) and np.any(np.isfinite(a)) else 0.0
            for a in arrays)
    return m if m > 0 else 1.0


def fields_beside(left, right, cells, path, title, left_label, right_label, notes=None,
                  columns=6):
    """Pairs of grey images (left[c] | right[c]) for the cells in *cells*, one row of
    *columns* pairs after the other; each image has its own symmetric colour scale,
    so that the shapes (not the amplitudes) are compared. *notes*[i]: text under pair i."""
    cells = list(cells)
    rows = max(1, int(np.ceil(len(cells) / columns)))
    fig, axes = plt.subplots(rows, 2 * columns, figsize=(1.45 * 2 * columns, 1.75 * rows + 0.9),
                             squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.set_axis_off()
    for i, cell in enumerate(cells):
        r, c = divmod(i, columns)
        for j, (image, label) in enumerate(((left[cell], left_label), (right[cell], right_label))):
            ax = axes[r, 2 * c + j]
            m = _symmetric_limit(image)     # its own scale: an STA is orders of magnitude below the weights
            ax.imshow(image, cmap="gray", vmin=-m, vmax=m, interpolation="nearest")
            ax.set_title(f"#{cell} {label}" if j == 0 else label, fontsize=FONT - 3, pad=2)
        if notes is not None:
            axes[r, 2 * c].text(1.05, -0.12, notes[i], transform=axes[r, 2 * c].transAxes,
                                ha="center", va="top", fontsize=FONT - 3)
    fig.suptitle(title, fontsize=FONT + 2)
    return _save(fig, path)


def gabor_images(fits, shape):
    """Model images of fitted Gabors (a list of ``fit_gabor`` results)."""
    return np.stack([gabor(shape, *[fit["params"][k] for k in PARAM_NAMES]) for fit in fits])


def gabor_summary(r2, orientation, frequency, sigma_x, sigma_y, path, title, threshold=0.7):
    """Histograms: R^2, fitted orientation, frequency and envelope widths (cells with R^2 >= threshold)."""
    good = np.isfinite(r2) & (r2 >= threshold)
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), layout="constrained")
    axes[0].hist(np.clip(r2[np.isfinite(r2)], -0.05, 1), bins=np.linspace(-0.05, 1, 43),
                 color="grey")
    axes[0].axvline(threshold, color="k", ls="--", lw=1)
    axes[0].set(xlabel="Gabor fit R²", ylabel="cells",
                title=f"{100 * good.mean():.0f}% with R² ≥ {threshold}")
    axes[1].hist(orientation[good], bins=np.arange(0, 181, 15), color="tab:green")
    axes[1].set(xlabel="fitted orientation (deg)", ylabel="cells", xticks=range(0, 181, 45),
                title="orientation (R² ≥ %.1f)" % threshold)
    axes[2].hist(frequency[good], bins=np.linspace(0, 0.5, 26), color="tab:purple")
    axes[2].set(xlabel="spatial frequency (cycles/pixel)", ylabel="cells", title="frequency")
    axes[3].scatter(sigma_x[good], sigma_y[good], s=10, alpha=0.6, color="tab:brown")
    axes[3].set(xlabel="σ across bars (pixels)", ylabel="σ along bars (pixels)",
                title="envelope widths")
    fig.suptitle(title, fontsize=FONT + 2)
    return _save(fig, path)


def tuning_summary(preferred, osi, half_width, responsive, gabor_orientation, gabor_good, path,
                   title, step_deg):
    """Preferred orientation, OSI and half-width histograms (responsive cells at full
    contrast) and, for a population with Gabor fits (*gabor_orientation* not None),
    preferred vs Gabor-fitted orientation in a fourth panel."""
    has_fits = gabor_orientation is not None
    fig, axes = plt.subplots(1, 4 if has_fits else 3, figsize=(17 if has_fits else 13, 3.9), layout="constrained")
    bins = np.arange(-step_deg / 2, 180 + step_deg / 2 + 1e-9, step_deg) if step_deg else 12
    axes[0].hist(preferred[responsive], bins=bins, color="tab:green")
    axes[0].set(xlabel="preferred orientation (deg)", ylabel="cells", xticks=range(0, 181, 45),
                title=f"preferred orientation (n = {int(responsive.sum())})")
    axes[1].hist(osi[responsive & np.isfinite(osi)], bins=np.linspace(0, 1, 21), color="tab:olive")
    axes[1].set(xlabel="OSI (1 − circular variance)", ylabel="cells",
                title=f"selectivity, median {np.nanmedian(osi[responsive]) if responsive.any() else np.nan:.2f}")
    hw = half_width[responsive & np.isfinite(half_width)]
    axes[2].hist(hw, bins=np.linspace(0, 90, 19), color="tab:cyan")
    axes[2].set(xlabel="half-width at 1/√2 (deg)", ylabel="cells",
                title=f"tuning width, median {np.median(hw) if hw.size else np.nan:.1f}°")
    if has_fits:
        _gabor_panel(axes[3], preferred, responsive, gabor_orientation, gabor_good)
    fig.suptitle(title, fontsize=FONT + 2)
    return _save(fig, path)


def _gabor_panel(ax, preferred, responsive, gabor_orientation, gabor_good):
    """Preferred grating orientation against the Gabor fit's, for the cells with a good fit."""
    both = responsive & gabor_good & np.isfinite(gabor_orientation)
    if both.any():
        ax.scatter(gabor_orientation[both], preferred[both], s=12, alpha=0.6, color="k")
        ax.plot([0, 180], [0, 180], color="tab:red", lw=1)
        diff = np.abs((preferred[both] - gabor_orientation[both] + 90) % 180 - 90)
        ax.set_title(f"grating vs Gabor: median |Δ| {np.median(diff):.1f}° (n = {int(both.sum())})")
    else:
        ax.set_title("grating vs Gabor: no fitted field")
    ax.set(xlabel="Gabor-fit orientation (deg)", ylabel="preferred grating orientation (deg)",
           xlim=(0, 180), ylim=(0, 180), xticks=range(0, 181, 45), yticks=range(0, 181, 45))


def tuning_curves(orientations, curves, contrasts, cells, path, title, duration_s):
    """Tuning curves (rate vs orientation, one line per contrast) of the sample *cells*.
    curves: (n_contrasts, n_orientations, n_cells) spike counts."""
    cells = list(cells)
    cols = min(6, max(1, len(cells)))
    rows = max(1, int(np.ceil(len(cells) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(2.7 * cols, 2.3 * rows + 0.8), squeeze=False,
                             layout="constrained", sharex=True)
    colours = plt.get_cmap("viridis")(np.linspace(0.15, 0.95, len(contrasts)))
    for ax in axes.ravel():
        ax.set_visible(False)
    for i, cell in enumerate(cells):
        ax = axes.ravel()[i]
        ax.set_visible(True)
        for k, contrast in enumerate(contrasts):
            ax.plot(orientations, curves[k, :, cell] / duration_s, color=colours[k], lw=1.4,
                    marker=".", ms=3, label=f"c = {contrast:g}")
        ax.set_title(f"cell {cell}", fontsize=FONT - 1)
        ax.set_xticks(range(0, 181, 90))
        if i % cols == 0:
            ax.set_ylabel("rate (Hz)")
        if i // cols == rows - 1:
            ax.set_xlabel("orientation (deg)")
    axes.ravel()[0].legend(fontsize=FONT - 4, frameon=False, loc="upper right")
    fig.suptitle(title, fontsize=FONT + 2)
    return _save(fig, path)


def contrast_invariance(contrasts, half_widths, aligned, offsets, path, title, duration_s):
    """Left: median (IQR) half-width per contrast. Right: mean tuning curve aligned at each
    cell's preferred orientation (full contrast), one line per contrast.
    half_widths: (n_contrasts, n_cells) with NaN for unresponsive cells;
    aligned: (n_contrasts, n_offsets) mean counts."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    med = np.array([np.nanmedian(h) if np.any(np.isfinite(h)) else np.nan for h in half_widths])
    q1 = np.array([np.nanpercentile(h, 25) if np.any(np.isfinite(h)) else np.nan for h in half_widths])
    q3 = np.array([np.nanpercentile(h, 75) if np.any(np.isfinite(h)) else np.nan for h in half_widths])
    left.fill_between(contrasts, q1, q3, color="tab:blue", alpha=0.2, label="interquartile range")
    left.plot(contrasts, med, "o-", color="tab:blue", label="median")
    left.set(xlabel="grating contrast", ylabel="half-width at 1/√2 (deg)", ylim=(0, 90),
             title="tuning width vs contrast")
    left.legend(frameon=False)
    colours = plt.get_cmap("viridis")(np.linspace(0.15, 0.95, len(contrasts)))
    for k, contrast in enumerate(contrasts):
        right.plot(offsets, aligned[k] / duration_s, color=colours[k], marker=".",
                   label=f"c = {contrast:g}")
    right.set(xlabel="orientation − preferred (deg)", ylabel="mean rate (Hz)",
              title="population tuning curve by contrast")
    right.legend(frameon=False, fontsize=FONT - 2)
    fig.suptitle(title, fontsize=FONT + 2)
    return _save(fig, path)


def sparseness_figure(per_pop, path, title):
    """per_pop: name -> dict(population (n_stimuli,), rates (n_cells,) Hz mean rate per cell,
    lifetime (n_cells,)). Three panels: population sparseness, lifetime sparseness, rates."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.9), layout="constrained")
    for name, d in per_pop.items():
        colour = COLOURS.get(name)
        ps = d["population"][np.isfinite(d["population"])]
        axes[0].hist(ps, bins=np.linspace(0, 1, 41), alpha=0.6, color=colour,
                     label=f"{name}: mean {np.mean(ps) if ps.size else np.nan:.2f}")
        ls = d["lifetime"][np.isfinite(d["lifetime"])]
        axes[1].hist(ls, bins=np.linspace(0, 1, 41), alpha=0.6, color=colour,
                     label=f"{name}: median {np.median(ls) if ls.size else np.nan:.2f}")
        axes[2].hist(d["rates"], bins=30, alpha=0.6, color=colour,
                     label=f"{name}: mean {np.mean(d['rates']):.2f} Hz")
    axes[0].set(xlabel="population sparseness (Vinje & Gallant)", ylabel="natural patches",
                title="population sparseness per patch")
    axes[1].set(xlabel="lifetime sparseness", ylabel="cells", title="lifetime sparseness per cell")
    axes[2].set(xlabel="mean rate over natural patches (Hz)", ylabel="cells", title="firing rates")
    for ax in axes:
        ax.legend(frameon=False, fontsize=FONT - 2)
    fig.suptitle(title, fontsize=FONT + 2)
    return _save(fig, path)


def correlation_histogram(correlations, path, title, xlabel):
    """Histogram of per-cell correlations in [-1, 1] with the median marked."""
    c = np.asarray(correlations)[np.isfinite(correlations)]
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    ax.hist(c, bins=np.linspace(-1, 1, 41), color="tab:gray")
    if c.size:
        ax.axvline(np.median(c), color="tab:red", lw=1.5, label=f"median {np.median(c):.2f}")
        ax.legend(frameon=False)
    ax.set(xlabel=xlabel, ylabel="cells", title=title)
    return _save(fig, path)


def ringach_plot(nx, ny, r2, has_field, path, title):
    """ny against nx of the Gabor fits (Ringach 2002): cells with a field, coloured by R²."""
    ok = has_field & np.isfinite(nx) & np.isfinite(ny)
    fig, ax = plt.subplots(figsize=(5.2, 4.6), layout="constrained")
    points = ax.scatter(nx[ok], ny[ok], c=np.clip(r2[ok], 0, 1), cmap="viridis", vmin=0, vmax=1, s=14)
    top = max(1.5, float(np.nanpercentile(np.r_[nx[ok], ny[ok]], 98)) if ok.any() else 1.5)
    ax.plot([0, top], [0, top], color="k", lw=0.8, ls=":")
    ax.set(xlim=(0, top), ylim=(0, top), xlabel="nx = σx · f (across the bars)", ylabel="ny = σy · f (along the bars)",
           title=f"{title}\n{int(ok.sum())} cells with a field")
    fig.colorbar(points, ax=ax, shrink=0.8, label="Gabor fit R²")
    return _save(fig, path)


def bandwidth_histogram(bandwidth, path, title):
    """Full widths at half height (De Valois et al. 1982), non-oriented cells in their own bar."""
    finite = bandwidth[np.isfinite(bandwidth)]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    edges = np.arange(0, 181, 15)
    counts, _ = np.histogram(finite, bins=edges)
    ax.bar(edges[:-1] + 7.5, counts, width=14, color="tab:cyan", label="oriented")
    ax.bar(195, len(bandwidth) - len(finite), width=14, color="0.6", label="non-oriented")
    ax.set_xticks(list(range(0, 181, 30)) + [195], [str(x) for x in range(0, 181, 30)] + ["n.o."])
    median = f"median {np.median(finite):.0f}° ({finite.size} oriented cells)" if finite.size else "no oriented cell"
    ax.set(xlabel="orientation bandwidth, full width at half height (deg)", ylabel="cells")
    ax.set_title(_wrapped(title, 62) + "\n" + median)      # on lines that fit the figure
    ax.legend(frameon=False)
    return _save(fig, path)
