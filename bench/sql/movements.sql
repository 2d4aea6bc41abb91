-- Month-end MRR movements of CONTRACT.md written as one PostgreSQL query, to
-- compare with `kizuna metrics monthly` (bench/metrics.sh runs both).
-- :from is the first month (YYYY-MM-01), :months the table's length. Amounts
-- are summed in minor units without exchange rates: the benchmark data is in
-- one currency. Every period expands into the months whose last instant it
-- covers; accounts' month-end MRR is summed; each month is paired with the
-- month before (a full join, so churn rows exist); an account's first month
-- with MRR tells new from reactivation.
WITH periods AS (
    SELECT account_id, mrr_minor,
        (EXTRACT(YEAR FROM to_timestamp(start_at) AT TIME ZONE 'UTC')::int * 12 + EXTRACT(MONTH FROM to_timestamp(start_at) AT TIME ZONE 'UTC')::int - 1) AS first_m,
        CASE WHEN end_at IS NULL THEN 1000000
             ELSE EXTRACT(YEAR FROM to_timestamp(end_at) AT TIME ZONE 'UTC')::int * 12 + EXTRACT(MONTH FROM to_timestamp(end_at) AT TIME ZONE 'UTC')::int - 2 END AS last_m
    FROM subscription_periods
), bounds AS (
    SELECT EXTRACT(YEAR FROM DATE :'from')::int * 12 + EXTRACT(MONTH FROM DATE :'from')::int - 1 AS lo
), mrr AS (
    SELECT p.account_id, m AS month, SUM(p.mrr_minor) AS c
    FROM periods p, bounds b, LATERAL generate_series(p.first_m, LEAST(p.last_m, b.lo + :months - 1)) AS m
    GROUP BY p.account_id, m
    HAVING SUM(p.mrr_minor) > 0
), firsts AS (
    SELECT account_id, MIN(month) AS first_month FROM mrr GROUP BY account_id
), pairs AS (
    SELECT COALESCE(cur.account_id, prev.account_id) AS account_id, COALESCE(cur.month, prev.month + 1) AS month,
        COALESCE(prev.c, 0) AS p, COALESCE(cur.c, 0) AS c
    FROM mrr cur FULL JOIN mrr prev ON prev.account_id = cur.account_id AND prev.month = cur.month - 1
)
SELECT to_char(make_date(x.month / 12, x.month % 12 + 1, 1), 'YYYY-MM') AS month,
    SUM(c) / 100.0 AS mrr,
    COUNT(*) FILTER (WHERE c > 0) AS customers,
    COALESCE(SUM(c) FILTER (WHERE p = 0 AND c > 0 AND x.month = f.first_month), 0) / 100.0 AS new_mrr,
    COALESCE(SUM(c - p) FILTER (WHERE p > 0 AND c > p), 0) / 100.0 AS expansion_mrr,
    COALESCE(SUM(p - c) FILTER (WHERE p > 0 AND c > 0 AND c < p), 0) / 100.0 AS contraction_mrr,
    COALESCE(SUM(p) FILTER (WHERE p > 0 AND c = 0), 0) / 100.0 AS churned_mrr,
    COALESCE(SUM(c) FILTER (WHERE p = 0 AND c > 0 AND x.month > f.first_month), 0) / 100.0 AS reactivation_mrr,
    COUNT(*) FILTER (WHERE p = 0 AND c > 0 AND x.month = f.first_month) AS new_customers,
    COUNT(*) FILTER (WHERE p > 0 AND c = 0) AS churned_customers
FROM pairs x JOIN firsts f USING (account_id), bounds b
WHERE x.month BETWEEN b.lo AND b.lo + :months - 1
GROUP BY x.month
ORDER BY x.month;
