"""scikit-learn's LogisticRegression on the Telco features Kizuna trained on.

Usage: churn_sklearn.py TELCO_CSV KIZUNA_JSON AS_OF

KIZUNA_JSON is `kizuna churn train --format json` on the README's Telco
import: its drivers name the columns Kizuna kept (after dropping each
categorical's baseline level, constant and collinear columns). This script
builds the same columns from the CSV the way the import and the snapshot
do, standardises them (population standard deviation, as Kizuna), fits
LogisticRegression(C=1) — the same penalised likelihood as Kizuna's
lambda = 1 — with 5-fold stratified cross-validation and a final fit with
Wald intervals from the inverse Hessian, and prints both side by side.
"""
import csv
import json
import statistics
import sys
import time
from datetime import date

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

Z95 = 1.959963984540054


def number(v):
    v = v.strip()
    if v.lower() in ("yes", "true"):
        return 1.0
    if v.lower() in ("no", "false"):
        return 0.0
    return float(v) if v else 0.0  # a blank is no attribute: 0 in Kizuna's matrix


def build(rows, features, as_of):
    x = np.zeros((len(rows), len(features)))
    y = np.zeros(len(rows), dtype=int)
    for i, r in enumerate(rows):
        m = 2024 * 12 - int(r["tenure"])
        start = date(m // 12, m % 12 + 1, 1)
        days = (as_of - start).days
        y[i] = r["Churn"] == "Yes"
        for j, f in enumerate(features):
            if f in ("signup_days", "tenure_days"):
                x[i, j] = days
            elif f == "mrr":
                x[i, j] = float(r["MonthlyCharges"])
            elif f.startswith("onboarding_status="):
                # No setup event: in progress for onboarding_days (30), then overdue.
                x[i, j] = (("in_progress" if days <= 30 else "overdue") == f.split("=", 1)[1])
            elif f.startswith("attr.") and "=" in f:
                name, level = f[5:].split("=", 1)
                x[i, j] = (r[name].strip() or "(none)") == level
            elif f.startswith("attr."):
                x[i, j] = number(r[f[5:]])
            else:
                sys.exit(f"churn_sklearn.py: no recipe for feature {f!r}")
    return x, y


def fit(x, y):
    return LogisticRegression(C=1.0, solver="lbfgs", tol=1e-8, max_iter=10000).fit(x, y)


def main():
    csv_path, json_path, as_of = sys.argv[1], sys.argv[2], date.fromisoformat(sys.argv[3])
    rep = json.load(open(json_path))
    features = [d["feature"] for d in rep["drivers"]]
    t0 = time.perf_counter()
    rows = [r for r in csv.DictReader(open(csv_path)) if int(r["tenure"]) > 0]  # paying at the as-of date
    x, y = build(rows, features, as_of)
    xs = StandardScaler().fit_transform(x)
    build_s = time.perf_counter() - t0

    times, aucs = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        oof = np.zeros(len(y))
        fold_auc = []
        for train, test in StratifiedKFold(5, shuffle=True, random_state=1).split(xs, y):
            m = fit(xs[train], y[train])
            oof[test] = m.predict_proba(xs[test])[:, 1]
            fold_auc.append(roc_auc_score(y[test], oof[test]))
        final = fit(xs, y)
        # Wald intervals as Kizuna: the inverse Hessian of the penalised
        # objective, the intercept unpenalised.
        z = np.hstack([np.ones((len(y), 1)), xs])
        p = final.predict_proba(xs)[:, 1]
        h = (z * (p * (1 - p))[:, None]).T @ z + np.diag([0.0] + [1.0] * xs.shape[1])
        se = np.sqrt(np.diag(np.linalg.inv(h)))[1:]
        times.append(time.perf_counter() - t0)
        aucs = (roc_auc_score(y, oof), fold_auc)
    coef = final.coef_[0]
    go = {d["feature"]: d for d in rep["drivers"]}
    print(f"rows {len(y)}, churned {int(y.sum())}, columns {len(features)}")
    print(f"AUC 5-fold (pooled out-of-fold): Kizuna {rep['auc']:.4f}   scikit-learn {aucs[0]:.4f}"
          f"   (sklearn mean of folds {statistics.mean(aucs[1]):.4f})")
    print(f"time, cross-validation + final fit with intervals: Kizuna {rep['seconds']['fit']*1000:.0f} ms"
          f"   scikit-learn {statistics.median(times)*1000:.0f} ms (median of 3)"
          f"   ratio {statistics.median(times)/rep['seconds']['fit']:.2f}")
    print(f"time, building the rows: Kizuna {rep['seconds']['rows']*1000:.0f} ms (snapshots from the database)"
          f"   Python {build_s*1000:.0f} ms (from the CSV)")
    print(f"{'feature':44s} {'Kizuna coef [95% CI]':>28s} {'sklearn coef [95% CI]':>28s}")
    diff = 0.0
    for j in np.argsort(-np.abs(coef)):
        f = features[j]
        g = go[f]
        diff = max(diff, abs(g["coefficient"] - coef[j]))
        print(f"{f:44s} {g['coefficient']:+8.4f} [{g['ci_low']:+.3f}, {g['ci_high']:+.3f}]"
              f"   {coef[j]:+8.4f} [{coef[j]-Z95*se[j]:+.3f}, {coef[j]+Z95*se[j]:+.3f}]")
    print(f"largest coefficient difference {diff:.2e}; intercept Kizuna {rep['intercept']:+.4f} sklearn {final.intercept_[0]:+.4f}")


if __name__ == "__main__":
    main()
