SELECT
  user_id,
  CAST(TRUNCATE(
    CAST(DATE_DIFF(
      'DAY',
      DATE_TRUNC('DAY', CAST(timestamp AS DATE)),
      DATE_TRUNC('DAY', CAST('2026-03-31' AS DATE))
    ) AS DOUBLE) / 7
  ) AS BIGINT) AS wk
FROM events
WHERE
  timestamp >= CAST('2026-03-04 00:00:00' AS TIMESTAMP)
  AND timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP)
  AND NOT user_id IS NULL
GROUP BY
  user_id,
  CAST(TRUNCATE(
    CAST(DATE_DIFF(
      'DAY',
      DATE_TRUNC('DAY', CAST(timestamp AS DATE)),
      DATE_TRUNC('DAY', CAST('2026-03-31' AS DATE))
    ) AS DOUBLE) / 7
  ) AS BIGINT)
