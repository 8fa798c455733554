SELECT
  user_id,
  DIV((
    CAST('2026-03-31' AS DATE) - CAST(timestamp AS DATE)
  ), 7) AS wk
FROM events
WHERE
  timestamp >= CAST('2026-03-04 00:00:00' AS TIMESTAMP)
  AND timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP)
  AND NOT user_id IS NULL
GROUP BY
  user_id,
  DIV((
    CAST('2026-03-31' AS DATE) - CAST(timestamp AS DATE)
  ), 7)
