WITH recent AS (
  SELECT
    *
  FROM events
  WHERE
    timestamp < CAST('2026-04-01 00:00:00' AS DATETIME)
), last_day AS (
  SELECT
    MAX(timestamp) AS t
  FROM recent
), activity AS (
  SELECT
    account_id AS k,
    COUNT(DISTINCT user_id) AS users
  FROM recent
  CROSS JOIN last_day
  WHERE
    timestamp >= t - INTERVAL '90' DAY AND NOT account_id IS NULL
  GROUP BY
    account_id
)
SELECT
  users,
  COUNT(*) AS n
FROM activity
GROUP BY
  users
