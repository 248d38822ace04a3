"""What did the trained network learn? One command, one report (docs/model.md §6 and §7).

``python analyze.py OUT_DIR`` reads a weight snapshot of a layer-4 (or layer-2/3)
training run, rebuilds the network with every synapse static (no learning
during analysis), shows it gratings, natural patches and noise, and writes
figures, ``metrics.json``, ``cells.npz`` and ``report.md`` into the report folder.

Methods
-------
(a) Receptive fields: ON − OFF of the LGN→E and LGN→I weights of each cell
    (docs/model.md §6), each fitted with a 2-D Gabor (Jones & Palmer 1987,
    ``analysis.gabor``); a field counts as Gabor-like at R² ≥ 0.7.
(b) Orientation tuning with sinusoidal gratings (``analysis.tuning``), every
    orientation × spatial frequency × phase × contrast shown for 125 ms in
    shuffled order. Per cell, at full contrast: best frequency = argmax over
    frequencies of the largest response; tuning curve = max over phase at that
    frequency; preferred orientation, half-width at 1/√2 of the peak and
    OSI = 1 − circular variance (Ringach et al. 2002). The same frequency is
    used at every contrast to test contrast invariance of the tuning width
    (Sclar & Freeman 1982; Larisch et al. 2021). A cell is *responsive* when
    its peak rate is at least RESPONSIVE_HZ (16 Hz, ``models.criteria.responsive``).
(c) Population and lifetime sparseness (Vinje & Gallant 2000) of spike counts
    to natural patches drawn as in training (``input.PatchSampler``), and the
    mean rates.
(d) Spike-triggered averages from Gaussian white noise (Chichilnisky 2001),
    with the RMS contrast of the natural patches (noise σ = standard deviation
    of their ON − OFF rates). The STA of the ON and OFF input channels is taken separately and
    shown as ON − OFF, correlated per cell with the weight-based ON − OFF field.
(e) Layer 2/3 runs (detected by their snapshot files): the network is layer 4
    and layer 2/3, all frozen; tuning, sparseness and STA are reported for E2
    and I2 as well, and the E2 STA is compared with the cell's *effective*
    feed-forward field (E→E2 weights × layer-4 ON − OFF fields).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from pathlib import Path

import numpy as np

from models import criteria
from runs.options import (OneLineErrorParser, non_negative_float, non_negative_int, positive_int,
                              seed_int)

REPO_ROOT = Path(__file__).resolve().parent.parent
R2_THRESHOLD = 0.7
N_SAMPLE_CELLS = 24          # cells shown in field / fit / STA figures
N_SAMPLE_CURVES = 12         # cells shown in the tuning-curve figure

# Stimulus sets: the full run follows the published protocol (docs/model.md §7) with 36 orientations
# over 180 deg (a static grating at theta + 180 is the same stimulus as at theta).
FULL = dict(orientations=36, frequencies=(0.05, 0.1, 0.15, 0.2), phases=8,
            contrasts=(0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0), natural=10_000, noise=10_000)
QUICK = dict(orientations=12, frequencies=(0.05, 0.1, 0.15, 0.2), phases=4,
             contrasts=(0.5, 1.0), natural=400, noise=1_000)

METRICS_DOC = """\
metrics.json keys:
  layer, out_dir, step, l4_dir, l4_step, quick, seed, created, runtime_s {stage: seconds}
  protocol: duration_ms, blank_ms, orientations_deg, frequencies_cpp, phases_rad, contrasts,
            n_gratings, n_natural, n_noise, noise_sigma_hz, images, responsive_hz
  populations.<P> for P in E, I (and E2, I2 for layer 2/3):
    n_cells
    every section: subsets {summary: {cells, n, of}}, the cells each summary covers
    gabor (E, I only): r2_median, fraction_r2_ge_0.7, orientation_deg_median_abs_error_vs_grating,
                       frequency_median_cpp, sigma_x_median_px, sigma_y_median_px (R² >= 0.7),
                       frequency_median_cpp_with_field, n_below_one_cycle_with_field,
                       n_below_one_cycle_r2_ge_0_7 (frequency x field side < 1: not a Gabor)
    tuning: n_responsive, fraction_responsive, osi_median, osi_mean, half_width_median_deg,
            preferred_orientation_hist {bin_edges_deg, counts}, osi_hist {bin_edges, counts},
            best_frequency_counts {freq: cells}, peak_rate_median_hz,
            half_width_median_deg_by_contrast {contrast: deg}, n_responsive_by_contrast,
            half_width_step_deg, fraction_below_step_by_contrast,
            half_width_median_deg_resolved_by_contrast (cells below the step: von Mises fit)
    sparseness: population_mean, population_median, lifetime_median, mean_rate_hz,
                fraction_silent_cells
    sta: n_cells_with_spikes, correlation_median, correlation_mean, reference
cells.npz: per-cell arrays named <P>_<quantity> (gabor_r2, gabor_orientation_deg, gabor_frequency,
  gabor_sigma_x, gabor_sigma_y, gabor_phase, gabor_below_one_cycle, preferred_deg, osi,
  half_width_deg and half_width_resolved_deg (contrasts x cells),
  best_frequency, best_phase, tuning_counts (contrasts x orientations x cells), responsive,
  natural_rate_hz, lifetime_sparseness, sta_onoff (cells x 18 x 18), sta_correlation),
  and population_sparseness_<P> (patches)."""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="analyze.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Measure what a trained V1 model learned and write a one-page report.\n\n"
                    + __doc__.split("Methods\n-------\n", 1)[1],
        epilog="Outputs (in the report folder): report.md, metrics.json, cells.npz and PNG "
               "figures (fields beside Gabor fits, Gabor parameters, tuning summary, tuning curves, "
               "contrast invariance, sparseness, STA).\n\n" + METRICS_DOC)
    parser.add_argument("out_dir", metavar="OUT_DIR",
                        help="output folder of a training run (layer 4, e.g. output_L4, or layer 2/3)")
    parser.add_argument("--step", type=non_negative_int, default=None, metavar="N",
                        help="snapshot to analyse, in patches presented (default: the latest complete one)")
    parser.add_argument("--quick", action="store_true",
                        help=f"small stimulus set for tests and a first look: {QUICK['orientations']} "
                             f"orientations, {QUICK['phases']} phases, contrasts {QUICK['contrasts']}, "
                             f"{QUICK['natural']} natural and {QUICK['noise']} noise patches "
                             f"(full: {FULL['orientations']} orientations, {FULL['phases']} phases, "
                             f"{len(FULL['contrasts'])} contrasts, {FULL['natural']} natural and "
                             f"{FULL['noise']} noise patches)")
    parser.add_argument("--seed", type=seed_int, default=0, metavar="S",
                        help="seed of the stimulus order, patches, noise and the simulation (default: 0)")
    parser.add_argument("-j", "--num-threads", type=positive_int, default=1, metavar="N",
                        help="OpenMP threads of the simulation, and processes for the Gabor fits (default: 1)")
    parser.add_argument("--report-dir", default=None, metavar="DIR",
                        help="where the report goes (default: OUT_DIR/analysis)")
    parser.add_argument("--images", default=None, metavar="PATH",
                        help="natural images for the sparseness test (default: as training: "
                             "input/IMAGES.mat, else the shared copy, else the bundled stand-in; "
                             "never downloads)")
    parser.add_argument("--natural", type=positive_int, default=None, metavar="K",
                        help="number of natural patches (default: 10000, --quick: %d)" % QUICK["natural"])
    parser.add_argument("--noise", type=positive_int, default=None, metavar="K",
                        help="number of noise patches for the STA (default: 10000, --quick: %d)" % QUICK["noise"])
    parser.add_argument("--blank", type=non_negative_float, default=0.0, metavar="MS",
                        help="ms of zero input before each stimulus (default 0: back to back, as in training)")
    parser.add_argument("--build-dir", default=None, metavar="DIR",
                        help="ANNarchy compile folder (default: build/analysis-<layer>-j<threads>)")
    parser.add_argument("--l4", default=None, metavar="DIR",
                        help="layer 2/3 only: layer-4 folder (default: from the run's run.json)")
    parser.add_argument("--l4-step", type=non_negative_int, default=None, metavar="N",
                        help="layer 2/3 only: layer-4 snapshot (default: from run.json)")
    return parser


def _log(msg):
    print(f"[analyze {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- (a) receptive fields and Gabor fits ------------------------------------------------
def _fit_fields(fields, jobs):
    from analysis.gabor import fit_all, fit_gabor
    if jobs <= 1 or len(fields) < 8:
        return fit_all(fields)
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fit_gabor, list(fields), chunksize=8))


def gabor_analysis(name, fields, report, jobs, rng, label, has_field):
    from analysis import figures
    from analysis.gabor import ringach_n
    fits = _fit_fields(fields, jobs)
    arrays = {k: np.array([f[k] for f in fits]) for k in
              ("r2", "orientation_deg", "frequency", "sigma_x", "sigma_y", "phase")}
    arrays["nx"], arrays["ny"] = np.array([ringach_n(f) for f in fits]).T
    good = np.isfinite(arrays["r2"]) & (arrays["r2"] >= R2_THRESHOLD)
    sample = np.sort(rng.choice(len(fields), size=min(N_SAMPLE_CELLS, len(fields)), replace=False))
    models = figures.gabor_images([fits[c] for c in sample], fields.shape[1:])
    model_full = np.zeros_like(fields)
    model_full[sample] = models
    notes = [f"R² {arrays['r2'][c]:.2f}, {arrays['orientation_deg'][c]:.0f}°" for c in sample]
    figures.fields_beside(fields, model_full, sample, report / f"gabor_fits_{name}.png",
                          f"{label}: ON − OFF weight fields beside their Gabor fits", "field", "fit",
                          notes)
    figures.gabor_summary(arrays["r2"], arrays["orientation_deg"], arrays["frequency"],
                          arrays["sigma_x"], arrays["sigma_y"], report / f"gabor_summary_{name}.png",
                          f"{label}: Gabor fits of {len(fields)} cells", R2_THRESHOLD)
    figures.ringach_plot(arrays["nx"], arrays["ny"], arrays["r2"], has_field, report / f"ringach_{name}.png",
                         f"{label}: Gabor envelope in carrier cycles (Ringach 2002)")
    with_field = has_field & np.isfinite(arrays["r2"])
    # fewer than one carrier cycle across the field: a blob or an edge, not a Gabor
    arrays["below_one_cycle"] = arrays["frequency"] * fields.shape[1] < 1
    below = arrays["below_one_cycle"]
    n = len(fields)
    metrics = dict(r2_median=float(np.nanmedian(arrays["r2"])),
                   **{"fraction_r2_ge_0.7": float(good.mean())},
                   fraction_with_field=float(has_field.mean()),
                   r2_median_with_field=_median(arrays["r2"][with_field]),
                   nx_median=_median(arrays["nx"][with_field]), ny_median=_median(arrays["ny"][with_field]),
                   fraction_ny_gt_nx=float(np.mean(arrays["ny"][with_field] > arrays["nx"][with_field]))
                   if with_field.any() else None,
                   frequency_median_cpp=float(np.median(arrays["frequency"][good])) if good.any() else None,
                   sigma_x_median_px=float(np.median(arrays["sigma_x"][good])) if good.any() else None,
                   sigma_y_median_px=float(np.median(arrays["sigma_y"][good])) if good.any() else None,
                   frequency_median_cpp_with_field=_median(arrays["frequency"][with_field]),
                   n_below_one_cycle_r2_ge_0_7=int((below & good).sum()),
                   n_below_one_cycle_with_field=int((below & with_field).sum()))
    everyone, fielded, fitted = _subset("all cells", n, n), _subset("cells with a field", with_field.sum(), n), \
        _subset(f"cells with Gabor R² ≥ {R2_THRESHOLD}", good.sum(), n)
    metrics["subsets"] = {
        "r2_median": everyone, "fraction_r2_ge_0.7": everyone, "fraction_with_field": everyone,
        "r2_median_with_field": fielded, "nx_median": fielded, "ny_median": fielded, "fraction_ny_gt_nx": fielded,
        "frequency_median_cpp": fitted, "sigma_x_median_px": fitted, "sigma_y_median_px": fitted,
        "n_below_one_cycle_r2_ge_0_7": fitted, "frequency_median_cpp_with_field": fielded,
        "n_below_one_cycle_with_field": fielded,
        "below_one_cycle": f"Gabor frequency × field side ({fields.shape[1]} px) < 1: fewer than one carrier "
                           "cycle across the field (a blob or an edge, not a Gabor)"}
    return metrics, {**{f"gabor_{k}": v for k, v in arrays.items()}, "has_field": has_field}


# -- (b) orientation tuning -----------------------------------------------------------------
def tuning_analysis(model, counts, grid, orientations, frequencies, phases, contrasts, duration_s):
    """counts (k, n) in *duration_s* for the grating set *grid* (k, 4 indices) -> per-cell tuning arrays.

    Returns dict with ``table`` (n_o, n_f, n_p, n_c, n) counts, best_frequency (index),
    best_phase (index), curves (n_c, n_o, n), preferred_deg, osi, half_width_deg (n_c, n),
    responsive (n_c, n) bool.
    """
    from analysis.tuning import tuning_metrics, von_mises_half_width
    n_o, n_f, n_p, n_c = len(orientations), len(frequencies), len(phases), len(contrasts)
    table = np.zeros((n_o, n_f, n_p, n_c, counts.shape[1]))
    table[grid[:, 0], grid[:, 1], grid[:, 2], grid[:, 3]] = counts
    full = int(np.argmax(contrasts))
    at_full = table[:, :, :, full]                                # (o, f, p, n)
    best_f = np.argmax(at_full.max(axis=(0, 2)), axis=0)          # frequency of the largest response
    cells = np.arange(counts.shape[1])
    curves = table.max(axis=2)[:, best_f, :, cells]               # (n, o, c): max over phase
    curves = np.transpose(curves, (2, 1, 0))                      # (c, o, n)
    o_pref = np.argmax(curves[full], axis=0)
    best_p = np.argmax(at_full[o_pref, best_f, :, cells], axis=1)
    responsive = criteria.responsive(model, curves.max(axis=1) / duration_s)   # (c, n)
    metrics = [[tuning_metrics(orientations, curves[c, :, n]) for n in cells] for c in range(n_c)]
    half = np.array([[m["half_width_deg"] for m in row] for row in metrics])
    half[~responsive] = np.nan
    bandwidth = np.array([[m["bandwidth_deg"] for m in row] for row in metrics])
    bandwidth[~responsive] = np.nan
    pref = np.array([m["preferred_deg"] for m in metrics[full]])
    osi = np.array([m["osi"] for m in metrics[full]])
    # below the orientation step the interpolated half-width is not a measurement: a von Mises fit instead
    step = 180.0 / n_o
    resolved = half.copy()
    for c, n in zip(*np.nonzero(half < step)):
        resolved[c, n] = von_mises_half_width(orientations, curves[c, :, n])
    return dict(table=table, best_frequency=best_f, best_phase=best_p, curves=curves,
                preferred_deg=pref, osi=osi, half_width_deg=half, half_width_resolved_deg=resolved,
                bandwidth_deg=bandwidth, responsive=responsive, full=full, step_deg=step)


def aligned_curves(curves, preferred_index, responsive):
    """Mean tuning curve of responsive cells, each rolled so its preferred orientation is at
    the centre: (n_c, n_o, n) -> (n_c, n_o)."""
    n_c, n_o, _ = curves.shape
    centre = n_o // 2
    cells = np.flatnonzero(responsive)
    if cells.size == 0:
        return np.full((n_c, n_o), np.nan)
    rolled = np.stack([np.roll(curves[:, :, n], centre - preferred_index[n], axis=1) for n in cells])
    return rolled.mean(axis=0)


def _hist(values, bins):
    counts, edges = np.histogram(values[np.isfinite(values)], bins=bins)
    return dict(bin_edges=edges.tolist(), counts=counts.tolist())


def _fraction(flags, among):
    """Fraction of the cells *among* (bool) for which *flags* holds; None without any."""
    among = np.asarray(among, bool)
    return float(np.mean(np.asarray(flags)[among])) if among.any() else None


def _subset(cells: str, n, of: int) -> dict:
    """Which cells a summary covers, and how many: beside every summary in metrics.json."""
    return {"cells": cells, "n": int(n), "of": int(of)}


def _median(values):
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def stand_in_note(trained, source) -> str | None:
    """What in this analysis rests on the stand-in images (not IMAGES.mat), or None."""
    import json
    uses = []
    for folder in [trained.snapshot.folder] + ([trained.l4.folder] if trained.l4 else []):
        try:
            origin = json.loads((Path(folder) / "run.json").read_text())["images"]["origin"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if origin == "stand-in":
            uses.append(f"the run {folder} was trained on stand-in images")
    if source.origin == "stand-in":
        uses.append("the natural patches of this analysis are stand-in images")
    return "; ".join(uses) or None


# -- main -------------------------------------------------------------------------------------
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    settings = dict(QUICK if args.quick else FULL)
    if args.natural is not None:
        settings["natural"] = args.natural
    if args.noise is not None:
        settings["noise"] = args.noise
    try:
        return _run(args, settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args, settings) -> int:
    from analysis import figures
    from analysis import responses as R
    from analysis.receptive_fields import on_minus_off
    from analysis.sparseness import lifetime_sparseness, population_sparseness
    from analysis.sta import field_correlation, spike_triggered_average
    from input.images import InputDataError, resolve_images
    from input.patches import PatchSampler
    from runs import files
    from runs.snapshots import load_trained

    t_start = time.perf_counter()
    runtime = {}

    def stage(name, since):
        runtime[name] = round(time.perf_counter() - since, 2)
        _log(f"{name}: {runtime[name]:.1f} s")
        return time.perf_counter()

    out_dir = Path(args.out_dir)
    trained = load_trained(out_dir, args.step, l4_dir=args.l4, l4_step=args.l4_step)   # every file checked
    layer, step = trained.layer, trained.snapshot.step
    model = layer.model                        # the run's own model (its run.json)
    report = Path(args.report_dir) if args.report_dir else out_dir / "analysis"
    try:
        files.ensure_writable(report)
    except OSError as exc:
        raise ValueError(f"{report}: cannot write the report there ({exc.strerror or exc}); "
                         "choose another folder with --report-dir DIR")
    rng = np.random.default_rng([args.seed, 7])
    duration_s = model.input.presentation_ms / 1000.0
    try:
        source = resolve_images(args.images, patch_size=model.input.patch_size, whitening=model.input.whitening,
                                download=False, log=_log)
    except InputDataError as exc:
        raise ValueError(str(exc))

    # network first: its weights (l4 included) are what the fields are made of
    t = time.perf_counter()
    build_dir = Path(args.build_dir) if args.build_dir else \
        REPO_ROOT / "build" / f"analysis-{layer.name}-j{args.num_threads}-{model.hash()}"
    _log(f"{layer.name} snapshot {step} of {out_dir}; compiling the frozen network in {build_dir}")
    network = R.frozen_network(trained, build_dir, seed=args.seed, num_threads=args.num_threads)
    t = stage("compile", t)
    weights = trained.weights
    pops = ("E", "I", "E2", "I2") if layer.frozen_from is not None else ("E", "I")
    labels = {"E": "layer 4 E", "I": "layer 4 I", "E2": "layer 2/3 E2", "I2": "layer 2/3 I2"}
    stand_in = stand_in_note(trained, source)
    if stand_in:                                # every figure title says so
        labels = {p: f"{label} [stand-in images]" for p, label in labels.items()}
        _log(f"WARNING: {stand_in}")

    cells_npz = {}
    pop_metrics = {p: dict(n_cells=network.pops[p].size) for p in pops}

    # (a) receptive fields and Gabor fits
    fields = {"E": on_minus_off(weights["LGN_E"]), "I": on_minus_off(weights["LGN_I"])}
    layer4 = layer.frozen_from or layer
    for p, proj in (("E", "LGN_E"), ("I", "LGN_I")):
        has_field = criteria.has_field(model, weights[proj], layer4.spec(proj).rule.wMax)
        metrics, arrays = gabor_analysis(p, fields[p], report, args.num_threads, rng, labels[p], has_field)
        pop_metrics[p]["gabor"] = metrics
        cells_npz.update({f"{p}_{k}": v for k, v in arrays.items()})
    if layer.frozen_from is not None:
        # E2 has no LGN weights; its effective field is the weighted sum of its inputs' fields
        fields["E2"] = np.tensordot(weights["E_E2"], fields["E"], axes=1)
    t = stage("gabor_fits", t)

    # stimuli
    orientations = np.arange(settings["orientations"]) * 180.0 / settings["orientations"]
    frequencies = np.array(settings["frequencies"])
    phases = np.arange(settings["phases"]) * 2 * np.pi / settings["phases"]
    contrasts = np.array(settings["contrasts"])
    size, max_rate = model.input.patch_size, model.input.max_rate
    grating_rates, grid = R.grating_set(orientations, frequencies, phases, contrasts, size, max_rate)
    sampler = PatchSampler(source.images, patch_size=size, max_rate=max_rate,
                           flip_probability=model.input.flip_probability, rng=np.random.default_rng([args.seed, 3]))
    natural = sampler.sample_many(settings["natural"])
    # noise with the RMS contrast of the natural patches: the std of their ON − OFF rates
    noise_sigma = float(np.std(natural[..., 0] - natural[..., 1])) if natural.size else 10.0
    _, noise = R.noise_rates(settings["noise"], noise_sigma, np.random.default_rng([args.seed, 4]), size, max_rate)

    recorder = R.Recorder(network, pops)
    order = rng.permutation(len(grating_rates))     # shuffled: no condition always follows another
    _log(f"{len(order)} gratings, {len(natural)} natural patches, {len(noise)} noise patches "
         f"({(len(order) + len(natural) + len(noise)) * duration_s:.0f} s of model time)")
    shuffled = R.responses(network, grating_rates[order], blank=args.blank, populations=pops,
                           recorder=recorder)
    grating_counts = {}
    for p, c in zip(pops, shuffled):
        grating_counts[p] = np.empty_like(c)
        grating_counts[p][order] = c
    t = stage("simulate_gratings", t)
    natural_counts = dict(zip(pops, R.responses(network, natural, blank=args.blank, populations=pops,
                                                recorder=recorder)))
    t = stage("simulate_natural", t)
    noise_counts = dict(zip(pops, R.responses(network, noise, blank=args.blank, populations=pops,
                                              recorder=recorder)))
    t = stage("simulate_noise", t)

    # (b) tuning, (c) sparseness, (d) STA per population
    sparse_fig = {}
    step_deg = 180.0 / settings["orientations"]
    for p in pops:
        tun = tuning_analysis(model, grating_counts[p], grid, orientations, frequencies, phases, contrasts, duration_s)
        full = tun["full"]
        resp = tun["responsive"][full]
        cells_npz.update({f"{p}_preferred_deg": tun["preferred_deg"], f"{p}_osi": tun["osi"],
                          f"{p}_half_width_deg": tun["half_width_deg"], f"{p}_bandwidth_deg": tun["bandwidth_deg"],
                          f"{p}_half_width_resolved_deg": tun["half_width_resolved_deg"],
                          f"{p}_best_frequency": frequencies[tun["best_frequency"]],
                          f"{p}_best_phase": phases[tun["best_phase"]],
                          f"{p}_tuning_counts": tun["curves"], f"{p}_responsive": resp})
        gabor_or = cells_npz.get(f"{p}_gabor_orientation_deg")
        gabor_good = cells_npz[f"{p}_gabor_r2"] >= R2_THRESHOLD if gabor_or is not None else None
        peak = tun["curves"][full].max(axis=0) / duration_s
        m = dict(n_responsive=int(resp.sum()), fraction_responsive=float(resp.mean()),
                 osi_median=_median(tun["osi"][resp]), osi_mean=float(np.nanmean(tun["osi"][resp]))
                 if resp.any() else None,
                 half_width_median_deg=_median(tun["half_width_deg"][full]),
                 # De Valois et al. 1982: full width at half height; NaN (non-oriented) counted apart
                 bandwidth_median_deg=_median(tun["bandwidth_deg"][full][resp]),
                 fraction_non_oriented=float(np.mean(~np.isfinite(tun["bandwidth_deg"][full][resp])))
                 if resp.any() else None,
                 bandwidth_hist=_hist(tun["bandwidth_deg"][full][resp], np.arange(0, 181, 15)),
                 preferred_orientation_hist=_hist(tun["preferred_deg"][resp],
                                                  np.arange(-step_deg / 2, 180, step_deg * 2)),
                 osi_hist=_hist(tun["osi"][resp], np.linspace(0, 1, 11)),
                 best_frequency_counts={f"{f:g}": int(np.sum(frequencies[tun["best_frequency"]][resp] == f))
                                        for f in frequencies},
                 peak_rate_median_hz=_median(peak),
                 half_width_median_deg_by_contrast={f"{c:g}": _median(tun["half_width_deg"][k])
                                                    for k, c in enumerate(contrasts)},
                 n_responsive_by_contrast={f"{c:g}": int(tun["responsive"][k].sum())
                                           for k, c in enumerate(contrasts)},
                 # the interpolated half-width is not resolved below the orientation step: cells below it
                 # take the half-width of a von Mises fit (analysis.tuning.von_mises_half_width)
                 half_width_step_deg=tun["step_deg"],
                 fraction_below_step_by_contrast={f"{c:g}": _fraction(tun["half_width_deg"][k] < tun["step_deg"],
                                                                      tun["responsive"][k])
                                                  for k, c in enumerate(contrasts)},
                 half_width_median_deg_resolved_by_contrast={f"{c:g}": _median(tun["half_width_resolved_deg"][k])
                                                             for k, c in enumerate(contrasts)})
        responsive_at = {f"{c:g}": _subset(f"cells responsive at contrast {c:g}", tun["responsive"][k].sum(),
                                           len(resp)) for k, c in enumerate(contrasts)}
        m["subsets"] = {
            "osi_median": responsive_at[f"{contrasts[full]:g}"], "osi_mean": responsive_at[f"{contrasts[full]:g}"],
            "half_width_median_deg": responsive_at[f"{contrasts[full]:g}"],
            "bandwidth_median_deg": _subset("responsive cells with a finite bandwidth (oriented)",
                                            np.isfinite(tun["bandwidth_deg"][full][resp]).sum(), len(resp)),
            "peak_rate_median_hz": _subset("all cells", len(resp), len(resp)),
            "half_width_median_deg_by_contrast": responsive_at,
            "half_width_median_deg_resolved_by_contrast": responsive_at}
        if gabor_or is not None:
            both = resp & gabor_good
            diff = np.abs((tun["preferred_deg"] - gabor_or + 90) % 180 - 90)[both]
            pop_metrics[p]["gabor"]["orientation_deg_median_abs_error_vs_grating"] = \
                float(np.median(diff)) if diff.size else None
            pop_metrics[p]["gabor"]["subsets"]["orientation_deg_median_abs_error_vs_grating"] = _subset(
                f"responsive cells with Gabor R² ≥ {R2_THRESHOLD}", diff.size, len(resp))
        pop_metrics[p]["tuning"] = m
        figures.bandwidth_histogram(tun["bandwidth_deg"][full][resp], report / f"bandwidth_{p}.png",
                                    f"{labels[p]}: orientation bandwidth (full width at half height)")
        figures.tuning_summary(tun["preferred_deg"], tun["osi"], tun["half_width_deg"][full], resp,
                               gabor_or, gabor_good,
                               report / f"tuning_summary_{p}.png",
                               f"{labels[p]}: orientation tuning (contrast {contrasts[full]:g}, "
                               f"{int(resp.sum())}/{len(resp)} responsive cells)", step_deg)
        by_peak = np.argsort(-peak)
        sample = np.sort(by_peak[:N_SAMPLE_CURVES]) if resp.any() else np.arange(min(N_SAMPLE_CURVES, len(resp)))
        figures.tuning_curves(orientations, tun["curves"], contrasts, sample,
                              report / f"tuning_curves_{p}.png",
                              f"{labels[p]}: tuning curves (max over phase, best frequency) of the "
                              f"{len(sample)} most responsive cells", duration_s)
        aligned = aligned_curves(tun["curves"], np.argmax(tun["curves"][full], axis=0), resp)
        offsets = (np.arange(len(orientations)) - len(orientations) // 2) * step_deg
        figures.contrast_invariance(contrasts, tun["half_width_deg"], aligned, offsets,
                                    report / f"contrast_invariance_{p}.png",
                                    f"{labels[p]}: contrast invariance of orientation tuning",
                                    duration_s)

        counts = natural_counts[p]
        ps = population_sparseness(counts) if counts.shape[0] and counts.shape[1] > 1 else np.array([])
        ls = lifetime_sparseness(counts) if counts.shape[0] > 1 else np.full(counts.shape[1], np.nan)
        rates = counts.mean(axis=0) / duration_s
        pop_metrics[p]["sparseness"] = dict(
            population_mean=float(np.nanmean(ps)) if np.any(np.isfinite(ps)) else None,
            population_median=_median(ps), lifetime_median=_median(ls),
            mean_rate_hz=float(rates.mean()), fraction_silent_cells=float(np.mean(rates == 0)),
            subsets={"population_mean": _subset("natural patches (every patch a sample)",
                                                np.isfinite(ps).sum(), len(ps)),
                     "population_median": _subset("natural patches", np.isfinite(ps).sum(), len(ps)),
                     "lifetime_median": _subset("cells that fired", np.isfinite(ls).sum(), len(ls)),
                     "mean_rate_hz": _subset("all cells", len(rates), len(rates))})
        sparse_fig[p] = dict(population=ps, lifetime=ls, rates=rates)
        cells_npz.update({f"{p}_natural_rate_hz": rates, f"{p}_lifetime_sparseness": ls,
                          f"population_sparseness_{p}": ps})

        sta = spike_triggered_average(noise.reshape(len(noise), -1), noise_counts[p])
        sta_onoff = on_minus_off(np.nan_to_num(sta)) if len(sta) else np.zeros((0, 18, 18))
        spiked = noise_counts[p].sum(axis=0) > 0
        sta_onoff[~spiked] = np.nan
        m = dict(n_cells_with_spikes=int(spiked.sum()), reference=None,
                 correlation_median=None, correlation_mean=None)
        if p in fields:
            corr = field_correlation(sta_onoff, fields[p])
            m.update(reference="LGN weights ON − OFF" if p in ("E", "I") else
                     "effective field: E→E2 weights × layer-4 ON − OFF fields",
                     correlation_median=_median(corr),
                     correlation_mean=float(np.nanmean(corr)) if np.any(np.isfinite(corr)) else None,
                     subsets={"correlation_median": _subset("cells that spiked to the noise",
                                                            np.isfinite(corr).sum(), len(corr))})
            cells_npz[f"{p}_sta_correlation"] = corr
            sample = np.sort(rng.choice(len(corr), size=min(N_SAMPLE_CELLS, len(corr)), replace=False))
            notes = [f"r = {corr[c]:.2f}" for c in sample]
            ref = "weights" if p in ("E", "I") else "effective"
            figures.fields_beside(fields[p], np.nan_to_num(sta_onoff), sample, report / f"sta_{p}.png",
                                  f"{labels[p]}: weight-based field beside the spike-triggered average "
                                  f"({len(noise)} noise patches, ON − OFF)", ref, "STA", notes)
            figures.correlation_histogram(corr, report / f"sta_correlation_{p}.png",
                                          f"{labels[p]}: STA vs {ref} field",
                                          "correlation of STA and field (Pearson r)")
        cells_npz[f"{p}_sta_onoff"] = sta_onoff
        pop_metrics[p]["sta"] = m
    figures.sparseness_figure(sparse_fig, report / "sparseness.png",
                              f"Responses to {len(natural)} natural patches (125 ms each)")
    stage("analysis_and_figures", t)
    runtime["total"] = round(time.perf_counter() - t_start, 2)

    metrics = dict(
        layer=layer.name, out_dir=str(out_dir), step=step,
        l4_dir=str(trained.l4.folder) if trained.l4 else None, l4_step=trained.l4.step if trained.l4 else None, quick=bool(args.quick), seed=args.seed,
        created=_dt.datetime.now().astimezone().isoformat(timespec="seconds"), runtime_s=runtime,
        protocol=dict(duration_ms=model.input.presentation_ms, blank_ms=args.blank,
                      orientations_deg=orientations.tolist(), frequencies_cpp=frequencies.tolist(),
                      phases_rad=phases.tolist(), contrasts=contrasts.tolist(),
                      n_gratings=len(grating_rates), n_natural=len(natural), n_noise=len(noise),
                      noise_sigma_hz=noise_sigma, images=source.path and str(source.path),
                      images_origin=source.origin, responsive_hz=model.analysis.responsive_hz),
        populations=pop_metrics)
    files.save_json(report / "metrics.json", metrics)
    files.atomic_write(report / "cells.npz", lambda f: np.savez_compressed(f, **cells_npz))
    files.atomic_write(report / "report.md", lambda f: f.write(render_report(metrics, pops, labels, report).encode()))
    _log(f"report: {report / 'report.md'} (total {runtime['total']:.0f} s)")
    print("\n".join(headline(metrics, pops, labels)))
    if stand_in:
        print(f"WARNING: {stand_in}: these numbers do not describe the published model", file=sys.stderr)
    print(f"report: {report / 'report.md'}")
    return 0


def _fmt(value, spec=".2f", unit=""):
    return "–" if value is None else f"{value:{spec}}{unit}"


def _width(tuning, contrast=None) -> str:
    """A median half-width as a measurement can state it: below the orientation step the
    interpolation does not resolve it, so "< step" with the von Mises estimate."""
    if contrast is None:
        median, step = tuning["half_width_median_deg"], tuning.get("half_width_step_deg")
        contrast = max(tuning["half_width_median_deg_by_contrast"], key=float)
    else:
        median, step = tuning["half_width_median_deg_by_contrast"][contrast], tuning.get("half_width_step_deg")
    if median is None or step is None or median >= step:
        return _fmt(median, ".1f", "°")
    fitted = tuning.get("half_width_median_deg_resolved_by_contrast", {}).get(contrast)
    return f"< {step:g}° interpolated, {_fmt(fitted, '.1f', '°')} with von Mises fits below the step"


def _cells(section, key) -> str:
    subset = section.get("subsets", {}).get(key)
    return "" if not isinstance(subset, dict) else f" ({subset['n']} of {subset['of']})"


def headline(metrics, pops, labels) -> list[str]:
    """The report's headline numbers, one line per population, for the terminal."""
    lines = []
    for p in pops:
        m = metrics["populations"][p]
        parts = []
        if "gabor" in m:
            parts.append(f"field {_fmt(100 * m['gabor']['fraction_with_field'], '.0f', ' %')}")
        parts += [f"responsive {_fmt(100 * m['tuning']['fraction_responsive'], '.0f', ' %')}",
                  f"OSI {_fmt(m['tuning']['osi_median'])}",
                  f"half-width {_width(m['tuning'])}",
                  f"sparseness {_fmt(m['sparseness']['population_mean'])}",
                  f"STA r {_fmt(m['sta']['correlation_median'])}"]
        lines.append(f"{labels[p]} ({m['n_cells']} cells): " + ", ".join(parts))
    return lines


def render_report(metrics, pops, labels, report_dir=None) -> str:
    """report.md: headline table and every figure (those present in *report_dir*) on one page."""
    pr = metrics["protocol"]
    lines = [f"# What the network learned — {metrics['layer']} snapshot {metrics['step']}", "",
             f"Run `{metrics['out_dir']}`" + (f", layer 4 from `{metrics['l4_dir']}` step {metrics['l4_step']}"
                                             if metrics["l4_dir"] else "")
             + f"; analysed {metrics['created']} ({'quick' if metrics['quick'] else 'full'} protocol, "
               f"seed {metrics['seed']}, {metrics['runtime_s']['total']:.0f} s).", "",
             f"Stimuli, {pr['duration_ms']:g} ms each, blank {pr['blank_ms']:g} ms: "
             f"{pr['n_gratings']} gratings ({len(pr['orientations_deg'])} orientations × "
             f"{len(pr['frequencies_cpp'])} frequencies {pr['frequencies_cpp']} cycles/px × "
             f"{len(pr['phases_rad'])} phases × contrasts {pr['contrasts']}), {pr['n_natural']} natural "
             f"patches ({pr['images_origin']}), {pr['n_noise']} Gaussian white-noise patches (σ = "
             f"{pr['noise_sigma_hz']:.1f} Hz of ON − OFF rate, the RMS contrast of the natural patches).", "",
             "| | " + " | ".join(labels[p] for p in pops) + " |",
             "|---|" + "---|" * len(pops)]

    def row(title, get):
        values = []
        for p in pops:
            try:
                values.append(get(metrics["populations"][p]))
            except (KeyError, TypeError):
                values.append("–")
        lines.append(f"| {title} | " + " | ".join(values) + " |")

    row("cells", lambda m: str(m["n_cells"]))
    row("Gabor fit R² ≥ 0.7", lambda m: _fmt(100 * m["gabor"]["fraction_r2_ge_0.7"], ".0f", " %"))
    row("median Gabor R²", lambda m: _fmt(m["gabor"]["r2_median"]))
    row("responsive to gratings", lambda m: f"{m['tuning']['n_responsive']} "
                                           f"({100 * m['tuning']['fraction_responsive']:.0f} %)")
    row("median OSI", lambda m: _fmt(m["tuning"]["osi_median"]))
    row("median half-width (full contrast)", lambda m: _width(m["tuning"]))
    row("grating vs Gabor orientation, median abs. difference (responsive, R² ≥ 0.7)",
        lambda m: _fmt(m["gabor"]["orientation_deg_median_abs_error_vs_grating"], ".1f", "°")
        + _cells(m["gabor"], "orientation_deg_median_abs_error_vs_grating"))
    row("median Gabor frequency, cells with a field",
        lambda m: _fmt(m["gabor"]["frequency_median_cpp_with_field"], ".3f", " c/px")
        + _cells(m["gabor"], "frequency_median_cpp_with_field")
        + f"; {m['gabor']['n_below_one_cycle_with_field']} below one cycle per field")
    row("median Gabor frequency, R² ≥ 0.7",
        lambda m: _fmt(m["gabor"]["frequency_median_cpp"], ".3f", " c/px")
        + _cells(m["gabor"], "frequency_median_cpp")
        + f"; {m['gabor']['n_below_one_cycle_r2_ge_0_7']} below one cycle per field")
    row("population sparseness (mean)", lambda m: _fmt(m["sparseness"]["population_mean"]))
    row("lifetime sparseness (median)", lambda m: _fmt(m["sparseness"]["lifetime_median"]))
    row("mean rate, natural patches", lambda m: _fmt(m["sparseness"]["mean_rate_hz"], ".2f", " Hz"))
    row("STA–field correlation (median)", lambda m: _fmt(m["sta"]["correlation_median"]))
    lines += ["", "Tuning width (median half-width at 1/√2, degrees) by contrast:", "",
              "| contrast | " + " | ".join(labels[p] for p in pops) + " |",
              "|---|" + "---|" * len(pops)]
    for c in pr["contrasts"]:
        key = f"{c:g}"
        lines.append(f"| {key} | " + " | ".join(_width(metrics["populations"][p]["tuning"], key)
                                               for p in pops) + " |")
    step = 180.0 / len(pr["orientations_deg"])
    lines += ["", f"A median below the orientation step ({step:g}°) is not resolved by the interpolated "
                  "half-width: it is given as \"< step\" and the median where the cells below the step take "
                  "the half-width of a von Mises fit to their whole tuning curve (at low contrast a curve one or two "
                  "spikes high falls below 1/√2 of its peak within one step by quantisation alone). Gabor frequencies below one cycle "
                  "per field (frequency × field side < 1) describe blobs or edges, not Gabors.", ""]
    for p in pops:
        lines += [f"## {labels[p]}", ""]
        for name, caption in ((f"gabor_fits_{p}.png", "ON − OFF weight fields beside their Gabor fits"),
                              (f"gabor_summary_{p}.png", "Gabor parameters"),
                              (f"tuning_summary_{p}.png", "orientation tuning"),
                              (f"tuning_curves_{p}.png", "tuning curves"),
                              (f"contrast_invariance_{p}.png", "contrast invariance"),
                              (f"sta_{p}.png", "spike-triggered averages"),
                              (f"sta_correlation_{p}.png", "STA vs field")):
            if report_dir is None or (Path(report_dir) / name).exists():
                lines += [f"![{labels[p]}: {caption}]({name})", ""]
    lines += ["## Sparseness", "", "![sparseness](sparseness.png)", "",
              "Methods: see `python analyze.py --help`; numbers in `metrics.json`, per-cell values in "
              "`cells.npz`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
