#!/usr/bin/env bash
# The churn-model figures of issue 7, side by side: Kizuna's logistic
# regression and scikit-learn's LogisticRegression (Debian's python3-sklearn)
# on the same IBM Telco features. The Telco table is imported as the README's
# worked example (each customer an account, one subscription period), Kizuna
# trains as of 2023-12-01 with a 31-day horizon (the median of 3 runs by fit
# time is kept), and bench/churn_sklearn.py fits the columns Kizuna kept with
# the same penalty (C = 1 on standardised features): both 5-fold AUCs, every
# coefficient with its 95 % interval, both times and their ratio.
#   bench/churn.sh            (needs ../shared/datasets/telco-churn beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

csv=""
for d in . .. ../.. ../../..; do
	if [ -f "$d/shared/datasets/telco-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv" ]; then csv="$d/shared/datasets/telco-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv"; break; fi
done
[ -n "$csv" ] || { echo "bench/churn.sh: shared/datasets/telco-churn not found beside the checkout" >&2; exit 1; }
py=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import sklearn, numpy' 2>/dev/null; then py=$p; break; fi
done

$GO build -o "$TMP/kizuna" ./cmd/kizuna
# The README's import recipe (python3 without packages is enough for it).
python3 - "$csv" "$TMP" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
skip = {"customerID", "tenure", "MonthlyCharges", "Churn"}
attrs = [c for c in rows[0] if c not in skip]
with open(sys.argv[2] + "/accounts.csv", "w", newline="") as a, open(sys.argv[2] + "/subscriptions.csv", "w", newline="") as s:
    wa, ws = csv.writer(a), csv.writer(s)
    wa.writerow(["account_id"] + attrs)
    ws.writerow(["subscription_id", "account_id", "start_date", "end_date", "mrr", "currency"])
    for r in rows:
        wa.writerow([r["customerID"]] + [r[c].strip() for c in attrs])
        m = 2024 * 12 - int(r["tenure"])
        start = f"{m // 12}-{m % 12 + 1:02d}-01"
        ws.writerow([r["customerID"]] * 2 + [start, "2024-01-01" if r["Churn"] == "Yes" else "", r["MonthlyCharges"], "USD"])
PY
k() { "$TMP/kizuna" --db "$TMP/k.db" "$@"; }
k import accounts "$TMP/accounts.csv" >/dev/null
k import subscriptions "$TMP/subscriptions.csv" >/dev/null
for i in 1 2 3; do
	k churn train --as-of 2023-12-01 --horizon 31 --top 0 --format json >"$TMP/go$i.json"
done
median=$(for i in 1 2 3; do python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seconds"]["fit"], sys.argv[1])' "$TMP/go$i.json"; done | sort -n | sed -n 2p | cut -d' ' -f2)
python3 - "$median" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"Kizuna: {r['accounts']} accounts, {r['churned']} churned, 5-fold AUC {r['auc']:.4f} (published band 0.83-0.86), "
      f"Brier {r['brier']:.4f}; rows {r['seconds']['rows']*1000:.0f} ms, fit {r['seconds']['fit']*1000:.0f} ms")
print("Kizuna top drivers: " + ", ".join(f"{d['feature']} {d['coefficient']:+.3f}" for d in r["drivers"][:4]))
PY
if [ -z "$py" ]; then
	echo "scikit-learn: skipped: no python3 with sklearn here (apt-get install python3-sklearn)"
	exit 0
fi
"$py" bench/churn_sklearn.py "$csv" "$median" 2023-12-01
