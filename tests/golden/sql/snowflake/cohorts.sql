WITH um AS (
  SELECT
    user_id,
    YEAR(timestamp) * 12 + MONTH(timestamp) - 1 AS mk
  FROM events
  WHERE
    timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMPNTZ)
  GROUP BY
    user_id,
    YEAR(timestamp) * 12 + MONTH(timestamp) - 1
), first AS (
  SELECT
    user_id,
    MIN(mk) AS mk
  FROM um
  GROUP BY
    user_id
), created AS (
  SELECT
    user_id,
    MIN(YEAR(created_at) * 12 + MONTH(created_at) - 1) AS mk
  FROM users
  WHERE
    created_at < CAST('2026-04-01 00:00:00' AS TIMESTAMPNTZ)
  GROUP BY
    user_id
), starts AS (
  SELECT
    COALESCE(c.user_id, f.user_id) AS user_id,
    COALESCE(c.mk, f.mk) AS ck
  FROM first AS f
  FULL OUTER JOIN created AS c
    ON c.user_id = f.user_id
)
SELECT
  ck,
  -1 AS m,
  COUNT(*) AS n
FROM starts
WHERE
  NOT ck IS NULL
GROUP BY
  ck
UNION ALL
SELECT
  s.ck,
  um.mk - s.ck AS m,
  COUNT(*) AS n
FROM starts AS s
JOIN um
  ON um.user_id = s.user_id
WHERE
  um.mk BETWEEN s.ck AND s.ck + 12
GROUP BY
  s.ck,
  um.mk - s.ck
