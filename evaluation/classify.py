"""Linear read-out of the features (docs/model.md §8): scikit-learn's LinearSVC, one-vs-rest."""
from __future__ import annotations

import numpy as np


def feature_matrix(parts, centre: bool = False) -> np.ndarray:
    """Arrays (n, ...) of one split concatenated per image, divided by the global maximum of
    the matrix and, with *centre*, minus the matrix's global mean (the published normalisation:
    every matrix on its own, ``Protocol.centre`` says for which data sets)."""
    x = np.concatenate([np.asarray(p, dtype=np.float64).reshape(len(p), -1) for p in parts], axis=1)
    peak = x.max() if x.size else 0.0
    if peak > 0:
        x = x / peak
    return x - x.mean() if centre and x.size else x


def classify(train_x, train_y, test_x, test_y, C: float = 1.0, seed: int = 0) -> dict:
    """Fit LinearSVC on the training split, score on the test split.

    The published read-out is LinearSVC with C = 1 (squared hinge loss, L2 penalty,
    one-vs-rest). That optimisation problem is solved here in its primal form (liblinear's
    trust-region Newton method, ``dual=False``): the same objective as the dual coordinate
    descent, but it converges in about a second where the dual one ran 20,000 iterations
    for half a minute without converging on the untrained network's features (digits), and
    it scales with the number of images rather than their square (MNIST).
    """
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import confusion_matrix, f1_score
    from sklearn.svm import LinearSVC
    model = LinearSVC(C=C, dual=False, max_iter=1_000, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(train_x, train_y)
    predicted = model.predict(test_x)
    labels = np.unique(np.concatenate([train_y, test_y]))
    return {"accuracy": float(np.mean(predicted == test_y)),
            "train_accuracy": float(model.score(train_x, train_y)),
            "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
            "labels": labels.tolist(),
            "confusion": confusion_matrix(test_y, predicted, labels=labels).tolist(),
            "f1_per_class": f1_score(test_y, predicted, labels=labels, average=None, zero_division=0).tolist(),
            "n_features": int(train_x.shape[1])}


def read_out(parts: dict, labels: dict, splits, protocol, seed: int = 0) -> dict:
    """The classifier fitted and scored on every split of the images.

    parts: set name -> arrays (n, ...) of one feature set (populations, or the pixels);
    labels: set name -> (n,) labels; splits: ((set, index), (set, index)) of the training and
    test images (index None: the whole set). The feature matrices are normalised as
    ``protocol`` says: each matrix by itself, or (``max_over="all"``) every set once before it
    is split. One split: ``classify``'s result; several: the mean accuracy, its standard
    deviation across splits (``accuracy_sd``), every split's accuracy, the summed confusion.
    """
    whole = ({name: feature_matrix(arrays, protocol.centre) for name, arrays in parts.items()}
             if protocol.max_over == "all" else None)

    def matrix(name, index):
        if whole is not None:
            return whole[name] if index is None else whole[name][index]
        return feature_matrix(parts[name] if index is None else [a[index] for a in parts[name]], protocol.centre)

    def targets(name, index):
        return labels[name] if index is None else labels[name][index]

    results = [classify(matrix(*train), targets(*train), matrix(*test), targets(*test), C=protocol.C, seed=seed)
               for train, test in splits]
    if len(results) == 1:
        return results[0]
    accuracy = np.array([r["accuracy"] for r in results])
    return {"accuracy": float(accuracy.mean()), "accuracy_sd": float(accuracy.std(ddof=1)),
            "split_accuracies": accuracy.tolist(),
            "train_accuracy": float(np.mean([r["train_accuracy"] for r in results])),
            "converged": all(r["converged"] for r in results),
            "labels": results[0]["labels"],
            "confusion": np.sum([r["confusion"] for r in results], axis=0).tolist(),
            "f1_per_class": np.mean([r["f1_per_class"] for r in results], axis=0).tolist(),
            "n_features": results[0]["n_features"]}
