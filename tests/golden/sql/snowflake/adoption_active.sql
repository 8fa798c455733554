SELECT
  account_id,
  COUNT(DISTINCT user_id) AS n
FROM events
WHERE
  timestamp >= CAST('2026-03-02 00:00:00' AS TIMESTAMPNTZ)
  AND timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMPNTZ)
  AND NOT account_id IS NULL
GROUP BY
  account_id
