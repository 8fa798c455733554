SELECT
  account_id,
  event,
  COUNT(DISTINCT user_id) AS users,
  SUM(COALESCE(count, 1)) AS actions
FROM events
WHERE
  timestamp >= CAST('2026-03-02 00:00:00' AS TIMESTAMP_NTZ)
  AND timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP_NTZ)
  AND NOT account_id IS NULL
  AND event IN ('import_data', 'build_report')
GROUP BY
  account_id,
  event
