"""The MLflow side of bench.serving.vs_mlflow; runs in bench/.venv-mlflow (no ATLAS there).

The pyfunc wraps the very files of the ATLAS model package (artifact ``package``): it reads
``model.json`` for the input columns, classes, threshold and learner weights, loads every
LightGBM booster from its text file, and re-implements ATLAS's tabular encoding in numpy/pandas
(numbers as float64 with +-inf as NaN, booleans 0/1, categories as their index in the fitted
list, datetimes as days since 1970). Answers: one row per record with ``label`` and one
``p_<class>`` column per class, the same content as ATLAS's ``/v1`` answer.

    PYTHONPATH=. bench/.venv-mlflow/bin/python -m bench.serving.mlflow_pyfunc save PACKAGE_DIR \
        OUT_DIR --check rows.json
        # writes the MLflow model (with a signature) and checks its predictions on ``rows``
        # against ATLAS's (``rows.json``: {"records": [...], "proba": [[...], ...]})
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd

_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


class AtlasPackageModel(mlflow.pyfunc.PythonModel):
    """An ATLAS LightGBM package as an MLflow pyfunc, without ATLAS."""

    def load_context(self, context: Any) -> None:
        import lightgbm as lgb

        folder = Path(context.artifacts["package"])
        manifest = json.loads((folder / "model.json").read_text())
        if any(ref["flavor"] != "lightgbm" for ref in manifest["learners"]):
            raise ValueError("This exporter handles LightGBM packages only.")
        self.task = manifest["task"]
        self.columns = manifest["inputs"]
        self.classes = manifest["classes"]
        self.threshold = manifest["threshold"]
        total = sum(ref["weight"] for ref in manifest["learners"])
        self.learners = [
            (ref["weight"] / total, lgb.Booster(model_file=str(folder / ref["path"])))
            for ref in manifest["learners"]
        ]
        self.names = [c["name"] for c in self.columns]
        self.numeric_only = all(
            c["kind"] in ("numeric", "integer", "boolean") for c in self.columns
        )
        self.codes = {
            c["name"]: {cat: float(i) for i, cat in enumerate(c["categories"] or [])}
            for c in self.columns
            if c["kind"] == "categorical"
        }

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        if self.numeric_only:  # one conversion of the whole frame (the fast path)
            try:
                out = frame[self.names].to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                out = None
            if out is not None:
                out[np.isinf(out)] = np.nan
                return out
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, col in enumerate(self.columns):
            values = frame[col["name"]]
            if col["kind"] == "categorical":
                codes = self.codes[col["name"]]
                out[:, j] = [
                    np.nan if v is None or v != v else codes.get(str(v), np.nan) for v in values
                ]
            elif col["kind"] == "datetime":
                stamps = pd.to_datetime(values, errors="coerce", utc=True)
                out[:, j] = ((stamps - _EPOCH) / pd.Timedelta(days=1)).to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            else:
                out[:, j] = pd.to_numeric(values, errors="raise").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
        out[np.isinf(out)] = np.nan
        return out

    def predict_raw(self, frame: pd.DataFrame) -> np.ndarray:
        x = self._encode(frame)
        raw = None
        for weight, booster in self.learners:
            part = np.asarray(booster.predict(x, num_threads=1))
            if self.task == "binary":
                part = np.column_stack([1.0 - part, part])
            raw = weight * part if raw is None else raw + weight * part
        assert raw is not None
        return raw

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        raw = self.predict_raw(model_input)
        if self.task == "regression":
            return pd.DataFrame({"prediction": raw})
        classes = np.asarray(self.classes, dtype=object)
        if self.task == "binary" and self.threshold is not None:
            labels = classes[(raw[:, 1] >= self.threshold).astype(int)]
        else:
            labels = classes[np.argmax(raw, axis=1)]
        out = pd.DataFrame({f"p_{c}": raw[:, i] for i, c in enumerate(self.classes)})
        out.insert(0, "label", [str(v) for v in labels])
        return out


def save(package: Path, out: Path, check: Path | None) -> dict[str, Any]:
    from mlflow.models import infer_signature

    rows = json.loads(check.read_text()) if check else None
    example = pd.DataFrame(rows["records"][:5]) if rows else None
    model = AtlasPackageModel()
    signature = None
    if example is not None:
        model.load_context(SimpleNamespace(artifacts={"package": str(package)}))
        signature = infer_signature(example, model.predict(None, example))
    if out.exists():
        shutil.rmtree(out)
    mlflow.pyfunc.save_model(
        path=str(out),
        python_model=AtlasPackageModel(),
        artifacts={"package": str(package)},
        signature=signature,
    )
    report: dict[str, Any] = {"mlflow": mlflow.__version__, "path": str(out)}
    if rows is not None:
        loaded = mlflow.pyfunc.load_model(str(out))
        frame = pd.DataFrame(rows["records"])
        answer = loaded.predict(frame)
        proba = answer[[f"p_{c}" for c in loaded.unwrap_python_model().classes]].to_numpy()
        diff = float(np.max(np.abs(proba - np.asarray(rows["proba"]))))
        report.update(checked_rows=len(frame), max_abs_diff=diff)
        if diff > 1e-9:
            raise SystemExit(f"MLflow's predictions differ from ATLAS's by {diff}.")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("save")
    cmd.add_argument("package", type=Path)
    cmd.add_argument("out", type=Path)
    cmd.add_argument("--check", type=Path)
    args = parser.parse_args()
    print(json.dumps(save(args.package, args.out, args.check)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
