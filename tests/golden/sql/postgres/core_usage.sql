WITH recent AS (
  SELECT
    *
  FROM events
  WHERE
    timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP)
), last_day AS (
  SELECT
    MAX(timestamp) AS t
  FROM recent
), activity AS (
  SELECT
    account_id AS k,
    COUNT(DISTINCT user_id) AS users
  FROM recent, last_day
  WHERE
    timestamp >= t - INTERVAL '90 DAY' AND NOT account_id IS NULL
  GROUP BY
    account_id
), engaged AS (
  SELECT
    k
  FROM activity
  WHERE
    users >= 2.5
)
SELECT
  event,
  COUNT(DISTINCT account_id) AS accounts,
  COUNT(*) AS n
FROM recent
WHERE
  account_id IN (
    SELECT
      k
    FROM engaged
  )
GROUP BY
  event
