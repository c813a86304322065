"""A small churn-prediction pipeline tracked with the threadline SDK.

    make-data  ->  clean  ->  features  ->  train (scikit-learn, accuracy and AUC, a saved model)

``make-data`` writes a raw CSV of customers (deterministic for a seed). ``run`` is one pipeline run
whose steps are ``@threadline.step`` functions: each step is a run of its own, a child of the pipeline
run, with its inputs and outputs (content-hashed), parameters and metrics. Everything is deterministic
for given inputs and parameters, so re-running on restored inputs gives the same metrics.

    python examples/churn_sdk/pipeline.py make-data data/raw/customers.csv --rows 4000 --seed 7
    python examples/churn_sdk/pipeline.py run --raw data/raw/customers.csv --work data

(or ``python -m examples.churn_sdk.pipeline ...`` from the repository root). Needs ``pandas`` and
``scikit-learn`` (``pip install 'threadline[examples]'``).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

import threadline

CONTRACTS = ("month-to-month", "one-year", "two-year")
REGIONS = ("north", "south", "east", "west")
FEATURES = (
    "tenure_months",
    "monthly_charges",
    "charges_per_month_of_tenure",
    "support_calls",
    "contract_one_year",
    "contract_two_year",
    "is_senior",
)


@threadline.step(name="make_data")
def make_data(path: str, rows: int = 4000, seed: int = 7) -> Path:
    """Write a raw customers CSV, with a few broken rows, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, rows)
    contract = rng.choice(len(CONTRACTS), rows, p=[0.55, 0.25, 0.20])
    monthly = np.round(rng.normal(65, 20, rows).clip(15, 140), 2)
    calls = rng.poisson(1.5, rows)
    senior = rng.random(rows) < 0.16
    logit = -0.9 - 0.045 * tenure + 0.018 * (monthly - 65) + 0.35 * calls - 1.1 * contract + 0.4 * senior
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{index:06d}" for index in range(rows)],
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": np.round(monthly * np.maximum(tenure, 1), 2).astype(str),
            "contract": [CONTRACTS[c] for c in contract],
            "support_calls": calls,
            "senior": np.where(senior, "yes", "no"),
            "region": rng.choice(REGIONS, rows),
            "churned": churned.astype(int),
        }
    )
    broken = rng.choice(rows, max(1, rows // 100), replace=False)
    frame.loc[broken, "total_charges"] = " "  # as exported by the billing system for new accounts
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False)
    threadline.output(target)
    threadline.log_metric("rows", rows)
    return target


@threadline.step
def clean(raw: str, out: str) -> Path:
    """Drop rows whose total charges are blank, fix types, drop duplicate customers."""
    frame = pd.read_csv(threadline.input(raw), dtype={"total_charges": str})
    before = len(frame)
    frame["total_charges"] = pd.to_numeric(frame["total_charges"].str.strip(), errors="coerce")
    frame = frame.dropna(subset=["total_charges"]).drop_duplicates("customer_id")
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(threadline.output(target), index=False)
    threadline.log_metric("rows_dropped", before - len(frame))
    return target


@threadline.step
def features(cleaned: str, out: str) -> Path:
    """Numeric features for the model: one-hot contract, charges per month of tenure, senior flag."""
    frame = pd.read_csv(threadline.input(cleaned))
    table = pd.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "tenure_months": frame["tenure_months"],
            "monthly_charges": frame["monthly_charges"],
            "charges_per_month_of_tenure": (
                frame["total_charges"] / frame["tenure_months"].clip(lower=1)
            ).round(4),
            "support_calls": frame["support_calls"],
            "contract_one_year": (frame["contract"] == "one-year").astype(int),
            "contract_two_year": (frame["contract"] == "two-year").astype(int),
            "is_senior": (frame["senior"] == "yes").astype(int),
            "churned": frame["churned"],
        }
    )
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(threadline.output(target), index=False)
    threadline.log_metric("feature_count", len(FEATURES))
    return target


@threadline.step
def train(
    table: str, model_path: str, n_estimators: int = 120, learning_rate: float = 0.1, seed: int = 0
) -> dict:
    """Fit a gradient-boosted classifier; log its training loss per stage, test accuracy and AUC."""
    frame = pd.read_csv(threadline.input(table))
    x_train, x_test, y_train, y_test = train_test_split(
        frame[list(FEATURES)], frame["churned"], test_size=0.25, random_state=seed, stratify=frame["churned"]
    )
    model = GradientBoostingClassifier(
        n_estimators=n_estimators, learning_rate=learning_rate, max_depth=3, random_state=seed
    )
    model.fit(x_train, y_train)
    for stage, loss in enumerate(model.train_score_):
        threadline.log_metric("train_loss", float(loss), step=stage)
    for stage, probabilities in enumerate(model.staged_predict_proba(x_test)):
        if stage % 10 == 9:
            threadline.log_metric("test_auc_by_stage", roc_auc_score(y_test, probabilities[:, 1]), step=stage)
    probabilities = model.predict_proba(x_test)[:, 1]
    scores = {
        "accuracy": float(accuracy_score(y_test, probabilities >= 0.5)),
        "auc": float(roc_auc_score(y_test, probabilities)),
    }
    threadline.log_metrics(scores)
    target = Path(model_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as fh:
        pickle.dump(model, fh)
    threadline.output(target, kind="model", store=True)
    return scores


def run_pipeline(raw: str, work: str, *, n_estimators: int = 120, learning_rate: float = 0.1) -> dict:
    """One tracked pipeline run: clean, features, train. Returns the test metrics."""
    folder = Path(work)
    with threadline.run("churn", params={"raw": raw, "work": work}) as pipeline:
        cleaned = clean(raw, str(folder / "clean" / "customers.csv"))
        table = features(str(cleaned), str(folder / "features" / "customers.csv"))
        scores = train(
            str(table), str(folder / "model.pkl"), n_estimators=n_estimators, learning_rate=learning_rate
        )
        pipeline.log_metrics(scores)
    return {"run": pipeline.id, **scores}


def main(argv: list[str] | None = None) -> int:
    """The command line: ``make-data PATH`` or ``run``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("make-data", help="write the raw customers CSV")
    data.add_argument("path")
    data.add_argument("--rows", type=int, default=4000)
    data.add_argument("--seed", type=int, default=7)
    pipeline = commands.add_parser("run", help="run the tracked pipeline")
    pipeline.add_argument("--raw", default="data/raw/customers.csv")
    pipeline.add_argument("--work", default="data")
    pipeline.add_argument("--n-estimators", type=int, default=120)
    pipeline.add_argument("--learning-rate", type=float, default=0.1)
    args = parser.parse_args(argv)
    if args.command == "make-data":
        print(make_data(args.path, rows=args.rows, seed=args.seed))
        return 0
    result = run_pipeline(
        args.raw, args.work, n_estimators=args.n_estimators, learning_rate=args.learning_rate
    )
    print(f"run {result['run']}: accuracy {result['accuracy']:.4f}, AUC {result['auc']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
