"""The registered champion scores the feature table exactly as the pipeline writes it, and refuses
clearly (the problem on the first line) what it cannot score.

One small simulated book goes through the real stages (simulate -> validate -> features ->
roll_rate, which registers the model); the champion is then loaded as a consumer would,
`mlflow.pyfunc.load_model("models:/<name>@champion")`, and fed `pd.read_parquet(features.parquet)`
with no preprocessing at all.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.types.schema import AnyType, DataType

from core.errors import DataError
from core.params import parse_params
from models.common.dataset import FeatureLayout
from models.common.pyfunc import column_type
from models.roll_rate.family import RollRateFamily
from models.roll_rate.scoring import RollRateScorer
from models.roll_rate.train import train_roll_rate
from pipeline.stages import features as features_stage
from pipeline.stages import promote, simulate, validate
from pipeline.stages import roll_rate as roll_rate_stage

NAME = "roll_rate_served_test"
BATCH = 100
FAST = {
    "learning_rate": 0.1,
    "num_leaves": 7,
    "min_child_samples": 50,
    "n_estimators": 40,
    "early_stopping_rounds": 10,
    "num_threads": 1,
}


@pytest.fixture(scope="module")
def champion(tmp_path_factory) -> SimpleNamespace:
    """A 200-account, 10-cycle book through every stage; the champion loaded from the registry."""
    root = tmp_path_factory.mktemp("served")
    params = parse_params(
        {
            "simulate": {"accounts": 200, "cycles": 10},
            "roll_rate": {
                "valid_cycles": 2,
                "test_cycles": 2,
                "model_form": "per_source",
                "calibration": "platt",
                "shap_sample": 20,
                "experiment": NAME,
                "registered_model": NAME,
                "lightgbm": FAST,
            },
        }
    )
    fitted = []

    def keep(*args, **kwargs):
        fitted.append(train_roll_rate(*args, **kwargs))
        return fitted[-1]

    with pytest.MonkeyPatch.context() as patch:  # the conftest store is per test; this one per module
        for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            patch.setenv(variable, f"sqlite:///{root / 'mlflow.db'}")
        patch.setattr(roll_rate_stage, "train_roll_rate", keep)
        # the figures cost seconds and are test_models_mlflow's business; the model is logged as ever
        patch.setattr(RollRateFamily, "write_artifacts", lambda self, folder: None)
        simulate.run(params, root / "raw", metrics_file=None)
        validate.run(
            params, root / "raw", root / "validated", root / "quarantine", root / "v.json", root / "report", root
        )
        features_stage.run(params, root / "validated", root / "processed", root / "features.json")
        summary = roll_rate_stage.run(
            params, root / "processed", root / "m.json", root / "plots", registration_file=root / "r.json"
        )
        promoted = promote.run(params, [root / "r.json"], root / "promotion.json")
        served = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    assert promoted["families"]["roll_rate"]["decision"] == "promoted"
    assert summary["registration"].version == "1"
    return SimpleNamespace(
        served=served,
        model=fitted[0].model,
        features=pd.read_parquet(root / "processed" / "features.parquet"),
        processed=root / "processed",
    )


def _first_line(excinfo: pytest.ExceptionInfo) -> str:
    return str(excinfo.value).splitlines()[0]


# --- (a) the features file as written, batch by batch ------------------------------------------


def test_champion_scores_every_batch_of_the_features_file_as_read(champion):
    features = pd.read_parquet(champion.processed / "features.parquet")  # nothing else: no casting
    layout = champion.model.layout_
    # the file holds what broke the old signature: categories, and int64 counts beyond 0/1
    assert isinstance(features["product"].dtype, pd.CategoricalDtype)
    assert features["pay_status_last"].isna().any()
    big = [c for c in layout.columns if features[c].dtype == np.int64 and features[c].max() > 1]
    assert big, "an int64 feature column with values beyond 0 and 1"

    expected = champion.model.predict_proba(features)
    batches = [champion.served.predict(features.iloc[i : i + BATCH]) for i in range(0, len(features), BATCH)]
    served = pd.concat(batches)
    assert len(batches) == -(-len(features) // BATCH) and served.index.equals(features.index)
    np.testing.assert_allclose(served.to_numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(champion.served.predict(features).to_numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(served.to_numpy().sum(axis=1), 1.0, atol=1e-9)


def test_signature_is_derived_from_the_feature_table_dtypes(champion):
    schema = champion.served.metadata.get_input_schema()
    layout = champion.model.layout_
    assert schema.input_names() == list(layout.columns)
    assert not schema.required_input_names(), "optional, so that the model itself names missing columns"
    declared = {spec.name: spec.type for spec in schema.inputs}
    features = champion.features
    for column in layout.columns:
        dtype = features[column].dtype
        assert layout.dtypes[column] == str(dtype)
        if isinstance(dtype, pd.CategoricalDtype):
            assert isinstance(declared[column], AnyType), column
        elif pd.api.types.is_bool_dtype(dtype):
            assert declared[column] == DataType.boolean, column
        elif dtype.kind == "i":
            assert declared[column] == DataType.long, column
        else:
            assert dtype.kind == "f" and declared[column] == DataType.double, column
    assert [column_type(d) for d in ("int8", "int16", "int32", "int64", "uint32")] == [DataType.long] * 5
    assert [column_type(d) for d in ("float32", "float64", "bool")] == [DataType.double] * 2 + [DataType.boolean]
    with pytest.raises(ValueError, match="uint64"):
        column_type("uint64")


def test_missing_values_are_recorded_from_the_whole_table_the_stage_read(champion):
    """Paid-off rows (balance 0, so past_due_share missing) carry no label and never reach the
    training window; the served model must still score them."""
    features, layout = champion.features, champion.model.layout_
    assert set(layout.missing) == {c for c in layout.columns if features[c].isna().any()}
    assert "days_past_due" not in layout.missing and "product" not in layout.missing
    assert "pay_status_last" in layout.missing


# --- (b) what is refused, and how ------------------------------------------------------------------


def test_missing_columns_are_named_first(champion):
    frame = champion.features.head(0).drop(columns=["days_past_due", "product"])  # empty too: named after
    with pytest.raises(DataError) as excinfo:
        champion.served.predict(frame)
    line = _first_line(excinfo)
    assert "rule 'required_columns'" in line and "missing 2 of the model's" in line
    assert "days_past_due" in line and "product" in line and len(str(excinfo.value)) < 400


def test_an_empty_frame_is_refused_clearly(champion):
    with pytest.raises(DataError) as excinfo:
        champion.served.predict(champion.features.head(0))
    assert _first_line(excinfo) == "table 'features': rule 'not_empty' failed: no rows to score: the frame is empty"


def test_an_unknown_product_is_refused_naming_values_and_rows(champion):
    frame = champion.features.iloc[10:16].copy()
    frame["product"] = pd.Series(["mortgage", "Revolving", None, "bnpl", "instalment", "mortgage"], index=frame.index)
    with pytest.raises(DataError) as excinfo:
        champion.served.predict(frame)
    line = _first_line(excinfo)
    assert line.startswith("table 'features', column 'product': rule 'known_category' failed: 4 row(s)")
    assert "'mortgage', 'Revolving', None" in line and "(index 10, 11, 12, 15)" in line
    assert "'instalment', 'revolving', 'bnpl'" in line and "no missing value" in line


def test_missing_values_where_training_had_none_are_refused(champion):
    layout = champion.model.layout_
    floats = [c for c in layout.columns if layout.dtypes[c].startswith("float") and c not in layout.missing]
    assert "balance" in floats
    frame = champion.features.iloc[20:25].copy()
    frame.loc[[21, 23], "balance"] = np.nan
    with pytest.raises(DataError) as excinfo:
        champion.served.predict(frame)
    assert _first_line(excinfo) == (
        "table 'features', column 'balance': rule 'not_null' failed: 2 row(s) hold a missing value "
        "(index 21, 23); the training table never held one in this column"
    )
    # a column that held missing values in the table is scored as it was in training
    frame = champion.features.iloc[20:25].assign(pay_status_last=None)
    assert len(champion.served.predict(frame)) == 5


def test_a_missing_days_past_due_is_refused(champion):
    """An integer column cannot hold NaN: it arrives as float64 and MLflow's own type check (long)
    refuses it before the model runs; the scorer names column and rows when called directly."""
    frame = champion.features.iloc[30:34].copy()
    frame["days_past_due"] = frame["days_past_due"].astype("float64")
    frame.loc[31, "days_past_due"] = np.nan
    with pytest.raises(MlflowException, match=r"column days_past_due\. Can not safely convert float64 to int64"):
        champion.served.predict(frame)
    scorer = champion.served.unwrap_python_model().scorer
    with pytest.raises(DataError) as excinfo:
        scorer.check_input(frame)
    assert _first_line(excinfo).startswith(
        "table 'features', column 'days_past_due': rule 'not_null' failed: 1 row(s) hold a missing value (index 31)"
    )


def test_garbled_flags_and_bucket_codes_are_refused(champion):
    frame = champion.features.iloc[40:44].copy()
    frame["contact_blocked"] = pd.Series([True, "yes", False, None], index=frame.index, dtype=object)
    with pytest.raises(DataError) as excinfo:
        champion.served.predict(frame)
    line = _first_line(excinfo)
    assert "column 'contact_blocked': rule 'numeric' failed: 1 row(s) hold value(s) that are not numbers: 'yes'" in line
    assert "also column 'contact_blocked'" not in str(excinfo.value)

    frame = champion.features.iloc[40:44].copy()
    frame["bucket"] = np.array([0, 9, 1, 0], dtype=np.int8)
    with pytest.raises(DataError) as excinfo:
        champion.served.predict(frame)
    assert _first_line(excinfo).startswith("table 'features', column 'bucket': rule 'bucket_codes' failed: 1 row(s)")


def test_every_offending_column_is_listed_after_the_first():
    frame = pd.DataFrame(
        {
            "bucket": np.array([0, 1, 2], dtype=np.int8),
            "balance": np.array([1.0, 2.0, 3.0], dtype=np.float32),
            "product": pd.Categorical(["bnpl", "revolving", "bnpl"], categories=["instalment", "revolving", "bnpl"]),
        }
    )
    layout = FeatureLayout.from_frame(frame)
    assert layout.dtypes == {"bucket": "int8", "balance": "float32", "product": "category"} and not layout.missing
    layout.check(frame)
    bad = frame.assign(balance=[np.nan, 2.0, np.nan], product=["lease", "bnpl", "lease"])
    with pytest.raises(DataError) as excinfo:
        layout.check(bad)
    lines = str(excinfo.value).splitlines()
    assert lines[0].startswith("table 'features', column 'balance': rule 'not_null' failed: 2 row(s)")
    assert lines[1].startswith("  also column 'product': rule 'known_category' failed: 2 row(s) hold value(s)")


def test_a_scorer_of_format_1_is_refused_with_what_to_do(champion, tmp_path):
    manifest = champion.model.scorer_.save(tmp_path)
    written = json.loads(manifest.read_text())
    layout = written["layout"]
    del layout["dtypes"], layout["missing"]
    manifest.write_text(json.dumps({**written, "format_version": 1, "layout": {**layout, "flags": []}}))
    with pytest.raises(ValueError, match=r"format_version 1, this code reads 2 or 3 \(.*retrain") as excinfo:
        RollRateScorer.load(tmp_path)
    assert "\n" not in str(excinfo.value)
