"""Loading a versioned ML filter artifact and scoring signals with it (deterministic).

An artifact is a folder `<models dir>/<name>/<version>/` holding `model.joblib` (the fitted
ensemble) and `manifest.json` (`Manifest`: feature names in column order, the training data's
hash, library versions, metrics, creation time, the reference feature distribution for drift,
and the SHA-256 of `model.joblib`). A preset names one as `ml_model: "<name>@<version>"`,
resolved under `BREAKOUT_MODELS_DIR` (default `./models`); a path to the folder also works.

Loading refuses, with the reason: a missing folder or file, a manifest that does not decode, a
feature list that differs from this code's `FEATURE_NAMES` (the model would read the wrong
columns), a model file whose hash is not the manifest's, and scikit-learn / xgboost versions
other than the ones it was trained with (a pickled model is only guaranteed to predict the same
under the same versions). `model.joblib` is a pickle: load only artifacts you trust.

Inference is one row through `predict_proba` in float64: the same artifact gives the same
probability, bit for bit, on every load, so a replay or a backtest reproduces the recorded
`ml_probability`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path
from typing import Any

import msgspec

from breakout.common.events.sig import SignalGenerated
from breakout.common.presets import Preset, PresetError
from breakout.signals.mlfeatures import FEATURE_NAMES, signal_features

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
PINNED_LIBRARIES = ("scikit-learn", "xgboost")


class MlModelError(ValueError):
    """An artifact that cannot be used, and why."""


class Bins(msgspec.Struct, frozen=True, kw_only=True):
    """One feature's reference distribution: bin edges (inner) and the share in each bin."""

    edges: list[float]
    fractions: list[float]


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """What an artifact is: see the module docstring."""

    name: str
    version: int
    created_at: str
    features: list[str]
    label: str
    data_hash: str
    samples: int
    positives: int
    model_sha256: str
    libraries: dict[str, str]
    models: list[str]
    metrics: dict[str, Any] = msgspec.field(default_factory=dict)
    importance: dict[str, float] = msgspec.field(default_factory=dict)
    reference: dict[str, Bins] = msgspec.field(default_factory=dict)
    training: dict[str, Any] = msgspec.field(default_factory=dict)


def models_dir() -> Path:
    """`BREAKOUT_MODELS_DIR`, else `./models`."""
    return Path(os.environ.get("BREAKOUT_MODELS_DIR", "").strip() or "models")


def resolve(ref: str, directory: Path | None = None) -> Path:
    """The folder of `name@version` under the models dir (an existing folder path as is)."""
    candidate = Path(ref)
    if "@" not in ref and candidate.is_dir():
        return candidate
    name, sep, version = ref.partition("@")
    if not sep or not name or not version.isdigit():
        raise MlModelError(f"{ref!r} is not `<name>@<version>` (e.g. breakout_ml@1) nor a folder")
    return (directory or models_dir()) / name / version


def library_versions() -> dict[str, str]:
    """The installed versions of the libraries a model depends on."""
    return {name: importlib.metadata.version(name) for name in PINNED_LIBRARIES}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(folder: Path) -> Manifest:
    """The manifest of an artifact folder (refused if missing or malformed)."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise MlModelError(f"{folder}: no {MANIFEST_FILE} (not a model artifact)")
    try:
        return msgspec.json.decode(path.read_bytes(), type=Manifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MlModelError(f"{path}: bad manifest: {exc}") from None


def check_manifest(manifest: Manifest, folder: Path) -> None:
    """Refuse an artifact this code cannot use as trained (module docstring)."""
    if tuple(manifest.features) != FEATURE_NAMES:
        ours, theirs = set(FEATURE_NAMES), set(manifest.features)
        detail = (
            f"missing in the code: {sorted(theirs - ours)}; "
            f"new in the code: {sorted(ours - theirs)}"
            if ours != theirs
            else "same names in another order"
        )
        raise MlModelError(
            f"{folder}: the model's features do not match this code's ({detail}); retrain it"
        )
    installed = library_versions()
    for name, version in manifest.libraries.items():
        if name in installed and installed[name] != version:
            raise MlModelError(
                f"{folder}: trained with {name} {version}, {installed[name]} is installed"
            )
    model = folder / MODEL_FILE
    if not model.is_file():
        raise MlModelError(f"{folder}: no {MODEL_FILE}")
    if file_sha256(model) != manifest.model_sha256:
        raise MlModelError(f"{model}: its SHA-256 is not the manifest's (modified or replaced)")


class MlModel:
    """A loaded artifact: `probability(signal)` is P(+1 R before the stop)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest = read_manifest(folder)
        check_manifest(self.manifest, folder)
        import joblib  # noqa: PLC0415 - heavy; only when a preset names a model

        self.estimator = joblib.load(folder / MODEL_FILE)
        self.ref = f"{self.manifest.name}@{self.manifest.version}"

    def probabilities(self, rows: list[list[float]]) -> list[float]:
        """P(label 1) for feature rows (in `FEATURE_NAMES` order)."""
        import numpy as np  # noqa: PLC0415

        matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))
        return [float(p) for p in self.estimator.predict_proba(matrix)[:, 1]]

    def probability(self, signal: SignalGenerated) -> float:
        """P(+1 R before the stop) for one signal."""
        return self.probabilities([signal_features(signal)])[0]


def load_model(ref: str, directory: Path | None = None) -> MlModel:
    """The artifact `ref` names (`name@version` or a folder), checked (module docstring)."""
    folder = resolve(ref, directory)
    if not folder.is_dir():
        raise MlModelError(f"{folder}: no such model folder")
    return MlModel(folder)


def preset_model(preset: Preset, directory: Path | None = None) -> MlModel | None:
    """The model the preset names (None if it names none); a bad one is a `PresetError` on
    the `ml_model` field, so the service refuses to start and says which field is at fault."""
    if preset.ml_model is None:
        return None
    try:
        return load_model(preset.ml_model, directory)
    except MlModelError as exc:
        raise PresetError(f"preset {preset.name}", "ml_model", str(exc)) from None
