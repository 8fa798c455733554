WITH per_user AS (
  SELECT
    account_id,
    user_id,
    SUM(COALESCE(count, 1)) AS actions
  FROM events
  WHERE
    timestamp >= CAST('2026-03-02 00:00:00' AS TIMESTAMPNTZ)
    AND timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMPNTZ)
    AND NOT account_id IS NULL
    AND event IN ('import_data', 'build_report')
  GROUP BY
    account_id,
    user_id
), ranked AS (
  SELECT
    account_id,
    user_id,
    actions,
    RANK() OVER (PARTITION BY account_id ORDER BY actions DESC NULLS LAST) AS rk,
    SUM(actions) OVER (PARTITION BY account_id) AS total,
    COUNT(*) OVER (PARTITION BY account_id) AS core_users
  FROM per_user
)
SELECT
  account_id,
  user_id,
  actions,
  total,
  core_users
FROM ranked
WHERE
  rk <= 2
