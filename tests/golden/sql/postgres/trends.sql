WITH user_days AS (
  SELECT
    account_id,
    user_id,
    (
      CAST('2026-03-31' AS DATE) - CAST(timestamp AS DATE)
    ) AS age,
    MAX(CASE WHEN event IN ('import_data', 'build_report') THEN 1 ELSE 0 END) AS core_user,
    SUM(CASE WHEN event IN ('import_data', 'build_report') THEN COALESCE(count, 1) END) AS c
  FROM events
  WHERE
    timestamp >= CAST('2025-12-31 00:00:00' AS TIMESTAMP)
    AND timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP)
    AND NOT account_id IS NULL
  GROUP BY
    account_id,
    user_id,
    (
      CAST('2026-03-31' AS DATE) - CAST(timestamp AS DATE)
    )
)
SELECT
  account_id,
  'w' AS grain,
  DIV(age, 7) AS k,
  COUNT(DISTINCT user_id) AS p,
  COUNT(DISTINCT CASE WHEN core_user = 1 THEN user_id END) AS a,
  COALESCE(SUM(c), 0) AS c
FROM user_days
WHERE
  age < 91
GROUP BY
  account_id,
  DIV(age, 7)
UNION ALL
SELECT
  account_id,
  'm' AS grain,
  DIV(age, 30) AS k,
  COUNT(DISTINCT user_id) AS p,
  COUNT(DISTINCT CASE WHEN core_user = 1 THEN user_id END) AS a,
  COALESCE(SUM(c), 0) AS c
FROM user_days
WHERE
  age < 60
GROUP BY
  account_id,
  DIV(age, 30)
UNION ALL
SELECT
  account_id,
  'd' AS grain,
  age AS k,
  NULL AS p,
  NULL AS a,
  SUM(c) AS c
FROM user_days
WHERE
  age < 90
GROUP BY
  account_id,
  age
