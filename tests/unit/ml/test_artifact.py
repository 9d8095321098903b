"""The model artifact: round trip, determinism, refusals; scoring and the veto in decisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from breakout.common.events.sig import SignalGenerated, SignalRejected
from breakout.common.presets import PresetError
from breakout.ml.artifact import save_artifact
from breakout.ml.models import ModelSize, fit_ensemble, walk_forward
from breakout.signals.core import SignalsCore
from breakout.signals.decisions import decision_event
from breakout.signals.entries import Entry
from breakout.signals.mlfeatures import signal_features
from breakout.signals.mlmodel import MlModelError, load_model, preset_model, resolve
from breakout.signals.view import SymbolView
from tests.unit.ml.factories import samples, signal
from tests.unit.signals.factories import preset

TINY = ModelSize(trees=5, boosting_rounds=5, hidden=(4,), mlp_iterations=50)
WHEN = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = samples(80)
    evaluation = walk_forward(data, folds=2, size=TINY, repeats=1)
    model = fit_ensemble(data, size=TINY)
    out = tmp_path_factory.mktemp("models")
    save_artifact(
        model,
        data,
        out=out,
        name="tiny",
        version=1,
        created_at=WHEN,
        evaluation=evaluation,
        training={"data": "test"},
    )
    return out


def test_walk_forward_reports_every_model_per_fold() -> None:
    evaluation = walk_forward(samples(80), folds=2, size=TINY, repeats=1)
    assert [row["fold"] for row in evaluation["folds"]] == [0, 1]
    assert [row["train"] for row in evaluation["folds"]] == [26, 53]  # expanding window
    for name in ("rf", "gb", "xgb", "mlp", "ensemble"):
        fold = evaluation["folds"][1][name]
        assert 0.0 <= fold["brier"] <= 1.0 and fold["auc"] is not None
    # the label follows the confidence: the ensemble learns it
    assert evaluation["mean"]["ensemble"]["auc"] > 0.7
    assert set(evaluation["importance"]) >= {"confidence"}
    assert next(iter(evaluation["importance"])) == "confidence"


def test_the_artifact_round_trips_and_two_loads_predict_bitwise_equal(models: Path) -> None:
    first, second = load_model("tiny@1", models), load_model("tiny@1", models)
    manifest = first.manifest
    assert manifest.created_at == WHEN.isoformat() and manifest.samples == 80
    assert len(manifest.data_hash) == 64 and manifest.libraries["xgboost"]
    assert set(manifest.reference) == set(manifest.features)
    rows = [signal(confidence=c / 10) for c in range(10)]
    a = [first.probability(s) for s in rows]
    b = [second.probability(s) for s in rows]
    assert [x.hex() for x in a] == [y.hex() for y in b]
    assert a[9] > a[1]  # high confidence scores higher, as it was trained
    # Refitting on the same data gives the same model (fixed random_state).
    again = fit_ensemble(samples(80), size=TINY)
    refit = [float(p) for p in again.predict_proba([signal_features(s) for s in rows])[:, 1]]
    assert [x.hex() for x in refit] == [y.hex() for y in a]


def copy_artifact(models: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "tiny" / "1"
    folder.mkdir(parents=True)
    for item in (models / "tiny" / "1").iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    return folder


def test_a_manifest_with_other_features_is_refused(models: Path, tmp_path: Path) -> None:
    folder = copy_artifact(models, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["features"] = [*manifest["features"][:-1], "old_feature"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(MlModelError, match=r"features do not match.*old_feature"):
        load_model("tiny@1", tmp_path)
    manifest["features"] = list(
        reversed(json.loads((models / "tiny" / "1" / "manifest.json").read_text())["features"])
    )
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(MlModelError, match="another order"):
        load_model("tiny@1", tmp_path)


def test_a_modified_model_file_or_other_library_is_refused(models: Path, tmp_path: Path) -> None:
    folder = copy_artifact(models, tmp_path)
    (folder / "model.joblib").write_bytes((folder / "model.joblib").read_bytes() + b"\0")
    with pytest.raises(MlModelError, match="SHA-256"):
        load_model("tiny@1", tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["libraries"]["scikit-learn"] = "0.1.0"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(MlModelError, match=r"trained with scikit-learn 0\.1\.0"):
        load_model("tiny@1", tmp_path)


def test_bad_references_and_a_new_version_over_an_old_one(models: Path, tmp_path: Path) -> None:
    with pytest.raises(MlModelError, match="not `<name>@<version>`"):
        resolve("tiny")
    with pytest.raises(MlModelError, match="no such model folder"):
        load_model("tiny@2", models)
    (tmp_path / "x" / "1").mkdir(parents=True)
    with pytest.raises(MlModelError, match=r"no manifest\.json"):
        load_model("x@1", tmp_path)
    with pytest.raises(FileExistsError, match="new version"):
        save_artifact(
            None,
            samples(4),
            out=models,
            name="tiny",
            version=1,
            created_at=WHEN,
            evaluation={},
            training={},
        )


def test_a_preset_naming_a_missing_model_is_a_preset_error_on_ml_model(models: Path) -> None:
    with pytest.raises(PresetError) as caught:
        preset_model(preset(ml_model="nope@3"), models)
    assert caught.value.field == "ml_model" and "no such model folder" in str(caught.value)
    assert preset_model(preset(), models) is None
    with pytest.raises(PresetError, match="ml_veto_threshold"):
        preset(ml_veto_threshold=1.5)
    with pytest.raises(PresetError, match="needs ml_model"):
        preset(ml_veto_threshold=0.5)


def entry() -> Entry:
    s = signal()
    return Entry(
        strategy="momentum",
        side="long",
        checks=s.checks,
        level_price=s.level_price,
        entry_price=s.entry_price,
        entry_order="market",
        stop_price=s.stop_price,
        confidence=0.8,
        reason="test",
        inputs={**s.inputs, "atr": 1.0, "swing": 98.5},
    )


def test_the_probability_is_recorded_and_the_veto_rejects_below_it(models: Path) -> None:
    model = load_model("tiny@1", models)
    view = SymbolView(exchange="binance", symbol="ETHUSDT", ts_ms=1_767_247_200_000)
    recorded = preset(ml_model="tiny@1")
    event = decision_event(recorded, "r", view, "long", entry(), ml=model)
    assert isinstance(event, SignalGenerated) and event.ml_probability is not None
    p = event.ml_probability
    # The probability is the model's on the signal as recorded (features ignore it).
    assert model.probability(event) == p
    vetoing = preset(ml_model="tiny@1", ml_veto_threshold=min(1.0, p + 0.01))
    rejected = decision_event(vetoing, "r", view, "long", entry(), ml=model)
    assert isinstance(rejected, SignalRejected) and rejected.failed == ["ml_probability"]
    check = rejected.checks[-1]
    assert check.name == "ml_probability" and check.value == p and not check.passed
    assert check.margin == pytest.approx(p - min(1.0, p + 0.01))
    assert rejected.inputs["ml_probability"] == p and rejected.inputs["ml_model"] == "tiny@1"
    passing = preset(ml_model="tiny@1", ml_veto_threshold=max(0.0, p - 0.01))
    kept = decision_event(passing, "r", view, "long", entry(), ml=model)
    assert isinstance(kept, SignalGenerated) and kept.ml_probability == p


def test_a_core_is_not_built_without_the_model_its_preset_names() -> None:
    # A core reads no files: the model is handed in; without it every signal would pass unscored.
    with pytest.raises(ValueError, match="pass the loaded model"):
        SignalsCore(preset(ml_model="tiny@1"), "binance")
