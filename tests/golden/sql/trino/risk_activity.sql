WITH ev AS (
  SELECT
    account_id,
    user_id,
    event,
    COALESCE(count, 1) AS w,
    CASE WHEN event IN ('import_data', 'build_report') THEN 1 ELSE 0 END AS is_core,
    DATE_DIFF(
      'DAY',
      DATE_TRUNC('DAY', CAST(timestamp AS DATE)),
      DATE_TRUNC('DAY', CAST('2026-03-31' AS DATE))
    ) AS age
  FROM events
  WHERE
    timestamp >= CAST('2026-01-17 00:00:00' AS TIMESTAMP)
    AND timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP)
    AND NOT account_id IS NULL
), per_user AS (
  SELECT
    account_id,
    user_id,
    SUM(w) AS n30
  FROM ev
  WHERE
    is_core = 1 AND age < 30
  GROUP BY
    account_id,
    user_id
), key_user AS (
  SELECT
    account_id,
    user_id,
    n30
  FROM (
    SELECT
      account_id,
      user_id,
      n30,
      RANK() OVER (PARTITION BY account_id ORDER BY n30 DESC) AS rk
    FROM per_user
  ) AS r
  WHERE
    rk = 1
)
SELECT
  'f' AS part,
  account_id,
  event,
  CAST(NULL AS VARCHAR) AS user_id,
  MIN(age) AS age,
  SUM(CASE WHEN age < 30 THEN w END) AS n30,
  SUM(CASE WHEN age >= 30 AND age < 60 THEN w END) AS n_prior
FROM ev
WHERE
  is_core = 1
GROUP BY
  account_id,
  event
UNION ALL
SELECT
  'k' AS part,
  k.account_id,
  CAST(NULL AS VARCHAR) AS event,
  k.user_id,
  MIN(e.age) AS age,
  k.n30,
  NULL AS n_prior
FROM key_user AS k
LEFT JOIN ev AS e
  ON e.account_id = k.account_id AND e.user_id = k.user_id
GROUP BY
  k.account_id,
  k.user_id,
  k.n30
