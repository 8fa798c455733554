SELECT
  user_id,
  CAST(MAX(timestamp) AS DATE) AS last
FROM events
WHERE
  timestamp >= CAST('2026-01-01 00:00:00' AS TIMESTAMP)
  AND timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP)
  AND user_id IN (
    SELECT
      user_id
    FROM users
    WHERE
      is_champion
  )
GROUP BY
  user_id
