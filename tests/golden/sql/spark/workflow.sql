WITH ev AS (
  SELECT
    user_id AS uk,
    timestamp AS t,
    event
  FROM events
  WHERE
    timestamp >= CAST('2026-03-04 00:00:00' AS TIMESTAMP_NTZ) - INTERVAL '7' DAYS
    AND timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP_NTZ)
    AND event IN ('import_data', 'build_report', 'share_report')
), a1 AS (
  SELECT
    uk,
    t AS t1
  FROM ev
  WHERE
    event = 'import_data'
), s2 AS (
  SELECT
    uk,
    t,
    ROW_NUMBER() OVER (PARTITION BY uk, t ORDER BY t NULLS LAST) AS o
  FROM ev
  WHERE
    event = 'build_report'
), m2_u AS (
  SELECT
    uk,
    t1,
    t1 AS p_t,
    0 + 1 AS p_o,
    0 AS p_kind
  FROM a1
  UNION ALL
  SELECT
    uk,
    NULL AS t1,
    t AS p_t,
    o AS p_o,
    1 AS p_kind
  FROM s2
), m2 AS (
  SELECT
    uk,
    t1,
    CASE WHEN NOT p_t IS NULL THEN p_next END AS x2
  FROM (
    SELECT
      *,
      MIN(CASE WHEN p_kind = 1 THEN p_t END) OVER (
        PARTITION BY uk
        ORDER BY p_t NULLS LAST, p_o NULLS LAST, p_kind NULLS LAST
        ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
      ) AS p_next
    FROM m2_u
  ) AS p
  WHERE
    p_kind = 0
), a2 AS (
  SELECT
    uk,
    t1,
    CASE WHEN x2 <= t1 + INTERVAL '7' DAYS THEN x2 END AS t2
  FROM m2
), s3 AS (
  SELECT
    uk,
    t,
    ROW_NUMBER() OVER (PARTITION BY uk, t ORDER BY t NULLS LAST) AS o
  FROM ev
  WHERE
    event = 'share_report'
), m3_u AS (
  SELECT
    uk,
    t1,
    t2,
    t2 AS p_t,
    0 + 1 AS p_o,
    0 AS p_kind
  FROM a2
  UNION ALL
  SELECT
    uk,
    NULL AS t1,
    NULL AS t2,
    t AS p_t,
    o AS p_o,
    1 AS p_kind
  FROM s3
), m3 AS (
  SELECT
    uk,
    t1,
    t2,
    CASE WHEN NOT p_t IS NULL THEN p_next END AS x3
  FROM (
    SELECT
      *,
      MIN(CASE WHEN p_kind = 1 THEN p_t END) OVER (
        PARTITION BY uk
        ORDER BY p_t NULLS LAST, p_o NULLS LAST, p_kind NULLS LAST
        ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
      ) AS p_next
    FROM m3_u
  ) AS p
  WHERE
    p_kind = 0
), a3 AS (
  SELECT
    uk,
    t1,
    t2,
    CASE WHEN x3 <= t1 + INTERVAL '7' DAYS THEN x3 END AS t3
  FROM m3
), runs AS (
  SELECT
    uk,
    COUNT(
      DISTINCT CASE WHEN t3 >= CAST('2026-03-04 00:00:00' AS TIMESTAMP_NTZ) THEN t3 END
    ) AS done,
    COALESCE(
      MAX(
        CASE
          WHEN t1 >= CAST('2026-03-04 00:00:00' AS TIMESTAMP_NTZ)
          THEN CASE WHEN NOT t1 IS NULL THEN 1 ELSE 0 END + CASE WHEN NOT t2 IS NULL THEN 1 ELSE 0 END + CASE WHEN NOT t3 IS NULL THEN 1 ELSE 0 END
        END
      ),
      0
    ) AS reached
  FROM a3
  GROUP BY
    uk
), targets AS (
  SELECT DISTINCT
    user_id AS uk,
    account_id
  FROM users
  WHERE
    role IN ('analyst')
)
SELECT
  account_id,
  COUNT(*) AS target_users,
  COUNT(CASE WHEN done > 0 THEN 1 END) AS completers,
  COALESCE(SUM(done), 0) AS completions,
  COUNT(CASE WHEN COALESCE(done, 0) = 0 AND COALESCE(reached, 0) = 0 THEN 1 END) AS s0,
  COUNT(CASE WHEN COALESCE(done, 0) = 0 AND COALESCE(reached, 0) = 1 THEN 1 END) AS s1,
  COUNT(CASE WHEN COALESCE(done, 0) = 0 AND COALESCE(reached, 0) = 2 THEN 1 END) AS s2
FROM targets
LEFT JOIN runs
  USING (uk)
GROUP BY
  account_id
