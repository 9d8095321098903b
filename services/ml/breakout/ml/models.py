"""The ensemble and its walk-forward evaluation.

Four models, each with a fixed `random_state` and one thread (same data, same model):

- `rf`: random forest (scikit-learn), shallow trees, balanced leaves;
- `gb`: gradient boosting (scikit-learn `GradientBoostingClassifier`);
- `xgb`: XGBoost (`XGBClassifier`, `hist` trees, subsampled rows and columns);
- `mlp`: a small neural net (standardised inputs, two hidden layers, `MLPClassifier`);
- `ensemble`: the soft vote of the four (`VotingClassifier(voting="soft")`: the mean of their
  probabilities).

Walk-forward cross-validation (`walk_forward`): the samples in time order are cut into
`folds + 1` contiguous blocks; fold i trains on blocks 0..i (an expanding window) and tests on
block i + 1, so a model is never scored on signals older than the ones it learned from. Per
fold and model: ROC AUC, precision at 0.5, Brier score, the test base rate and the sizes. A
fold whose training part holds one class only is skipped (nothing to learn), AUC is None when
the test part holds one class.

Feature importance: permutation importance of the ensemble (mean drop in ROC AUC over
`repeats` shuffles of each column) on the last fold's test block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier, VotingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import brier_score_loss, precision_score, roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from breakout.ml.dataset import Sample, ordered
from breakout.signals.mlfeatures import FEATURE_NAMES, signal_features

MODEL_NAMES = ("rf", "gb", "xgb", "mlp", "ensemble")


class ModelSize(msgspec.Struct, frozen=True, kw_only=True):
    """How big the models are (tests train tiny ones)."""

    trees: int = 200
    boosting_rounds: int = 150
    hidden: tuple[int, ...] = (32, 16)
    mlp_iterations: int = 600


def matrix(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray]:
    """Features (float64, `FEATURE_NAMES` columns) and labels of samples, in the given order."""
    x = np.asarray([signal_features(s.signal) for s in samples], dtype=np.float64)
    y = np.asarray([s.label for s in samples], dtype=np.int64)
    return x.reshape(len(samples), len(FEATURE_NAMES)), y


def build(seed: int = 7, size: ModelSize | None = None) -> dict[str, Any]:
    """Unfitted models by name (the four and their soft vote)."""
    size = size or ModelSize()
    members: list[tuple[str, Any]] = [
        (
            "rf",
            RandomForestClassifier(
                n_estimators=size.trees,
                max_depth=6,
                min_samples_leaf=3,
                class_weight="balanced",
                random_state=seed,
                n_jobs=1,
            ),
        ),
        (
            "gb",
            GradientBoostingClassifier(
                n_estimators=size.boosting_rounds,
                max_depth=3,
                learning_rate=0.05,
                subsample=0.8,
                random_state=seed,
            ),
        ),
        (
            "xgb",
            XGBClassifier(
                n_estimators=size.boosting_rounds,
                max_depth=3,
                learning_rate=0.05,
                subsample=0.8,
                colsample_bytree=0.8,
                tree_method="hist",
                eval_metric="logloss",
                random_state=seed,
                n_jobs=1,
            ),
        ),
        (
            "mlp",
            make_pipeline(
                StandardScaler(),
                MLPClassifier(
                    hidden_layer_sizes=size.hidden,
                    alpha=1e-3,
                    max_iter=size.mlp_iterations,
                    random_state=seed,
                ),
            ),
        ),
    ]
    models = dict(members)
    models["ensemble"] = VotingClassifier(estimators=members, voting="soft")
    return models


def fit_ensemble(samples: Sequence[Sample], seed: int = 7, size: ModelSize | None = None) -> Any:
    """The soft-voting ensemble fitted on all samples (time order)."""
    x, y = matrix(ordered(samples))
    if len(set(y.tolist())) < 2:
        raise ValueError(f"{len(y)} samples of one class only: nothing to learn")
    model = build(seed, size)["ensemble"]
    model.fit(x, y)
    return model


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    """AUC (None for one class), precision at 0.5, Brier score and base rate."""
    auc = float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else None
    predicted = (p >= 0.5).astype(np.int64)
    precision = float(precision_score(y, predicted, zero_division=0.0))
    return {
        "auc": auc,
        "precision": precision,
        "brier": float(brier_score_loss(y, p)),
        "base_rate": float(y.mean()),
        "predicted_positive": float(predicted.mean()),
    }


def walk_forward(
    samples: Sequence[Sample],
    folds: int = 4,
    seed: int = 7,
    size: ModelSize | None = None,
    repeats: int = 5,
) -> dict[str, Any]:
    """Per-fold metrics of every model, their means, and the ensemble's permutation importance."""
    if folds < 1:
        raise ValueError("folds must be at least 1")
    x, y = matrix(ordered(samples))
    if len(y) < 2 * (folds + 1):
        raise ValueError(f"{len(y)} samples are too few for {folds} walk-forward folds")
    bounds = np.linspace(0, len(y), folds + 2).astype(int)
    results: list[dict[str, Any]] = []
    last: tuple[Any, np.ndarray, np.ndarray] | None = None
    for fold in range(folds):
        train_end, test_end = bounds[fold + 1], bounds[fold + 2]
        x_train, y_train = x[:train_end], y[:train_end]
        x_test, y_test = x[train_end:test_end], y[train_end:test_end]
        row: dict[str, Any] = {"fold": fold, "train": int(train_end), "test": len(y_test)}
        if len(set(y_train.tolist())) < 2:
            row["skipped"] = "training part has one class"
            results.append(row)
            continue
        for name, model in build(seed, size).items():
            model.fit(x_train, y_train)
            row[name] = scores(y_test, model.predict_proba(x_test)[:, 1])
            if name == "ensemble":
                last = (model, x_test, y_test)
        results.append(row)
    importance: dict[str, float] = {}
    if last is not None and len(set(last[2].tolist())) == 2:
        model, x_test, y_test = last
        found = permutation_importance(
            model, x_test, y_test, scoring="roc_auc", n_repeats=repeats, random_state=seed
        )
        ranked = sorted(
            zip(FEATURE_NAMES, found.importances_mean, strict=True), key=lambda kv: -kv[1]
        )
        importance = {name: round(float(value), 6) for name, value in ranked}
    return {"folds": results, "mean": _means(results), "importance": importance}


def _means(results: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    means: dict[str, dict[str, float | None]] = {}
    for name in MODEL_NAMES:
        rows = [r[name] for r in results if name in r]
        means[name] = {}
        for metric in ("auc", "precision", "brier"):
            values = [v[metric] for v in rows if v[metric] is not None]
            means[name][metric] = float(np.mean(values)) if values else None
    return means
