WITH ev AS (
  SELECT
    user_id AS uk,
    timestamp AS t,
    event,
    account_id
  FROM events
  WHERE
    timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP)
    AND user_id IN (
      SELECT
        user_id
      FROM users
      WHERE
        role = 'analyst'
    )
), a1 AS (
  SELECT
    uk,
    account_id,
    t AS t1
  FROM ev
  WHERE
    event = 'session_start' AND t >= CAST('2026-01-01 00:00:00' AS TIMESTAMP)
), s2 AS (
  SELECT
    uk,
    t,
    ROW_NUMBER() OVER (PARTITION BY uk, t ORDER BY t) AS o
  FROM ev
  WHERE
    event = 'import_data'
), m2_u AS (
  SELECT
    uk,
    account_id,
    t1,
    t1 AS p_t,
    0 + 1 AS p_o,
    0 AS p_kind
  FROM a1
  UNION ALL
  SELECT
    uk,
    NULL AS account_id,
    NULL AS t1,
    t AS p_t,
    o AS p_o,
    1 AS p_kind
  FROM s2
), m2 AS (
  SELECT
    uk,
    account_id,
    t1,
    CASE WHEN NOT p_t IS NULL THEN p_next END AS x2
  FROM (
    SELECT
      *,
      MIN(CASE WHEN p_kind = 1 THEN p_t END) OVER (
        PARTITION BY uk
        ORDER BY p_t, p_o, p_kind
        ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
      ) AS p_next
    FROM m2_u
  ) AS p
  WHERE
    p_kind = 0
), a2 AS (
  SELECT
    uk,
    account_id,
    t1,
    CASE WHEN x2 <= t1 + INTERVAL '14 DAYS' THEN x2 END AS t2
  FROM m2
), s3 AS (
  SELECT
    uk,
    t,
    ROW_NUMBER() OVER (PARTITION BY uk, t ORDER BY t) AS o
  FROM ev
  WHERE
    event = 'build_report'
), m3_u AS (
  SELECT
    uk,
    account_id,
    t1,
    t2,
    t2 AS p_t,
    0 + 1 AS p_o,
    0 AS p_kind
  FROM a2
  UNION ALL
  SELECT
    uk,
    NULL AS account_id,
    NULL AS t1,
    NULL AS t2,
    t AS p_t,
    o AS p_o,
    1 AS p_kind
  FROM s3
), m3 AS (
  SELECT
    uk,
    account_id,
    t1,
    t2,
    CASE WHEN NOT p_t IS NULL THEN p_next END AS x3
  FROM (
    SELECT
      *,
      MIN(CASE WHEN p_kind = 1 THEN p_t END) OVER (
        PARTITION BY uk
        ORDER BY p_t, p_o, p_kind
        ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
      ) AS p_next
    FROM m3_u
  ) AS p
  WHERE
    p_kind = 0
), a3 AS (
  SELECT
    uk,
    account_id,
    t1,
    t2,
    CASE WHEN x3 <= t1 + INTERVAL '14 DAYS' THEN x3 END AS t3
  FROM m3
), s4 AS (
  SELECT
    uk,
    t,
    ROW_NUMBER() OVER (PARTITION BY uk, t ORDER BY t) AS o
  FROM ev
  WHERE
    event = 'build_report'
), m4_u AS (
  SELECT
    uk,
    account_id,
    t1,
    t2,
    t3,
    t3 AS p_t,
    CASE WHEN t3 = t3 THEN 1 ELSE 0 END + 1 AS p_o,
    0 AS p_kind
  FROM a3
  UNION ALL
  SELECT
    uk,
    NULL AS account_id,
    NULL AS t1,
    NULL AS t2,
    NULL AS t3,
    t AS p_t,
    o AS p_o,
    1 AS p_kind
  FROM s4
), m4 AS (
  SELECT
    uk,
    account_id,
    t1,
    t2,
    t3,
    CASE WHEN NOT p_t IS NULL THEN p_next END AS x4
  FROM (
    SELECT
      *,
      MIN(CASE WHEN p_kind = 1 THEN p_t END) OVER (
        PARTITION BY uk
        ORDER BY p_t, p_o, p_kind
        ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
      ) AS p_next
    FROM m4_u
  ) AS p
  WHERE
    p_kind = 0
), a4 AS (
  SELECT
    uk,
    account_id,
    t1,
    t2,
    t3,
    CASE WHEN x4 <= t1 + INTERVAL '14 DAYS' THEN x4 END AS t4
  FROM m4
), best AS (
  SELECT
    uk,
    account_id,
    reached,
    t1,
    t2,
    t3,
    t4,
    ROW_NUMBER() OVER (PARTITION BY uk ORDER BY reached DESC NULLS LAST, t1) AS pick
  FROM (
    SELECT
      a4.*,
      CASE WHEN NOT t1 IS NULL THEN 1 ELSE 0 END + CASE WHEN NOT t2 IS NULL THEN 1 ELSE 0 END + CASE WHEN NOT t3 IS NULL THEN 1 ELSE 0 END + CASE WHEN NOT t4 IS NULL THEN 1 ELSE 0 END AS reached
    FROM a4
  ) AS r
), f0 AS (
  SELECT
    uk,
    account_id,
    reached,
    t1,
    t2,
    t3,
    t4
  FROM best
  WHERE
    pick = 1
), e1 AS (
  SELECT
    uk,
    t,
    1 AS o
  FROM ev
  WHERE
    event IN ('import_failed', 'sync_error')
), g1_u AS (
  SELECT
    uk,
    account_id,
    reached,
    t1,
    t2,
    t3,
    t4,
    t1 AS p_t,
    0 AS p_o,
    0 AS p_kind
  FROM f0
  UNION ALL
  SELECT
    uk,
    NULL AS account_id,
    NULL AS reached,
    NULL AS t1,
    NULL AS t2,
    NULL AS t3,
    NULL AS t4,
    t AS p_t,
    o AS p_o,
    1 AS p_kind
  FROM e1
), g1 AS (
  SELECT
    uk,
    account_id,
    reached,
    t1,
    t2,
    t3,
    t4,
    CASE WHEN NOT p_t IS NULL THEN p_next END AS y1
  FROM (
    SELECT
      *,
      MIN(CASE WHEN p_kind = 1 THEN p_t END) OVER (
        PARTITION BY uk
        ORDER BY p_t, p_o, p_kind
        ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
      ) AS p_next
    FROM g1_u
  ) AS p
  WHERE
    p_kind = 0
), f1 AS (
  SELECT
    uk,
    account_id,
    reached,
    t1,
    t2,
    t3,
    t4,
    CASE WHEN y1 <= t1 + INTERVAL '14 DAYS' THEN 1 ELSE 0 END AS err1
  FROM g1
), src AS (
  SELECT
    f.*,
    CAST(u.role AS TEXT) AS d_role,
    CAST(f.account_id AS TEXT) AS d_account,
    CAST(a.segment AS TEXT) AS d_segment
  FROM f1 AS f
  LEFT JOIN (
    SELECT
      user_id AS uk,
      role
    FROM users
  ) AS u
    ON u.uk = f.uk
  LEFT JOIN (
    SELECT
      account_id AS a_id,
      segment
    FROM accounts
  ) AS a
    ON a.a_id = f.account_id
)
SELECT
  GROUPING(d_role) AS g_role,
  d_role,
  GROUPING(d_account) AS g_account,
  d_account,
  GROUPING(d_segment) AS g_segment,
  d_segment,
  COUNT(CASE WHEN reached >= 1 THEN 1 END) AS n1,
  COUNT(CASE WHEN reached >= 2 THEN 1 END) AS n2,
  COUNT(CASE WHEN reached >= 3 THEN 1 END) AS n3,
  COUNT(CASE WHEN reached >= 4 THEN 1 END) AS n4,
  CAST(PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY
    CASE
      WHEN reached >= 2
      THEN CAST(EXTRACT(EPOCH FROM DATE_TRUNC('MICROSECOND', CAST(t2 AS TIMESTAMP)) - DATE_TRUNC('MICROSECOND', CAST(t1 AS TIMESTAMP))) * 1000000 AS BIGINT)
    END) AS DOUBLE PRECISION) / 3.6e9 AS h2,
  CAST(PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY
    CASE
      WHEN reached >= 3
      THEN CAST(EXTRACT(EPOCH FROM DATE_TRUNC('MICROSECOND', CAST(t3 AS TIMESTAMP)) - DATE_TRUNC('MICROSECOND', CAST(t2 AS TIMESTAMP))) * 1000000 AS BIGINT)
    END) AS DOUBLE PRECISION) / 3.6e9 AS h3,
  CAST(PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY
    CASE
      WHEN reached >= 4
      THEN CAST(EXTRACT(EPOCH FROM DATE_TRUNC('MICROSECOND', CAST(t4 AS TIMESTAMP)) - DATE_TRUNC('MICROSECOND', CAST(t3 AS TIMESTAMP))) * 1000000 AS BIGINT)
    END) AS DOUBLE PRECISION) / 3.6e9 AS h4,
  COUNT(CASE WHEN reached >= 1 AND err1 = 1 THEN 1 END) AS e1,
  COUNT(CASE WHEN reached = 1 AND err1 = 1 THEN 1 END) AS se1
FROM src
GROUP BY
  GROUPING SETS (
    (),
    (
      d_role
    ),
    (
      d_account
    ),
    (
      d_segment
    )
  )
