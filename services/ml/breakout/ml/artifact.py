"""Writing a versioned model artifact: `<out>/<name>/<version>/model.joblib` + `manifest.json`.

The manifest (`breakout.signals.mlmodel.Manifest`) records the feature names in column order,
the training data's hash, the library versions, the walk-forward metrics and importances, the
creation time (from the clock given, not read here) and, per feature, the training
distribution as deciles (`reference_bins`) for the drift check. An existing version is never
overwritten: a new model is a new version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib
import msgspec
import numpy as np

from breakout.ml.dataset import Sample, data_hash, ordered
from breakout.ml.labels import DEFAULT_HORIZON_MS
from breakout.ml.models import MODEL_NAMES, matrix
from breakout.signals.mlfeatures import FEATURE_NAMES
from breakout.signals.mlmodel import (
    MANIFEST_FILE,
    MODEL_FILE,
    Bins,
    Manifest,
    file_sha256,
    library_versions,
)

REFERENCE_BINS = 10
LABEL = "1 if a print reached entry ± 1 R (R = |entry - stop|) before the stop, within 1 h"


def bin_index(edges: Sequence[float], values: np.ndarray) -> np.ndarray:
    """The bin of each value: 0 below the first edge ... len(edges) at or above the last."""
    return np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")


def reference_bins(column: np.ndarray, bins: int = REFERENCE_BINS) -> Bins:
    """A feature's training distribution: inner decile edges (distinct) and each bin's share."""
    quantiles = np.quantile(column, np.linspace(0, 1, bins + 1)[1:-1]) if len(column) else []
    edges = sorted({float(q) for q in quantiles})
    counts = np.bincount(bin_index(edges, column), minlength=len(edges) + 1)
    fractions = (counts / max(1, len(column))).tolist()
    return Bins(edges=edges, fractions=[float(f) for f in fractions])


def save_artifact(
    model: Any,
    samples: Sequence[Sample],
    *,
    out: Path,
    name: str,
    version: int,
    created_at: datetime,
    evaluation: dict[str, Any],
    training: dict[str, Any],
) -> Path:
    """Write the fitted ensemble and its manifest; return the artifact folder."""
    folder = out / name / str(version)
    if folder.exists():
        raise FileExistsError(f"{folder} exists: a new model is a new version")
    folder.mkdir(parents=True)
    joblib.dump(model, folder / MODEL_FILE)
    x, y = matrix(ordered(samples))
    manifest = Manifest(
        name=name,
        version=version,
        created_at=created_at.isoformat(),
        features=list(FEATURE_NAMES),
        label=LABEL,
        data_hash=data_hash(samples),
        samples=len(y),
        positives=int(y.sum()),
        model_sha256=file_sha256(folder / MODEL_FILE),
        libraries=library_versions(),
        models=list(MODEL_NAMES),
        metrics={"folds": evaluation.get("folds", []), "mean": evaluation.get("mean", {})},
        importance=evaluation.get("importance", {}),
        reference={n: reference_bins(x[:, i]) for i, n in enumerate(FEATURE_NAMES)},
        training=training | {"horizon_ms": DEFAULT_HORIZON_MS},
    )
    (folder / MANIFEST_FILE).write_bytes(
        msgspec.json.format(msgspec.json.encode(manifest), indent=2)
    )
    return folder
