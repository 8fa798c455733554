WITH base AS (
  SELECT
    account_id,
    user_id,
    CAST(TRUNCATE(
      CAST(DATE_DIFF(
        'DAY',
        DATE_TRUNC('DAY', CAST(timestamp AS DATE)),
        DATE_TRUNC('DAY', CAST('2026-03-31' AS DATE))
      ) AS DOUBLE) / 30
    ) AS BIGINT) AS k,
    CASE WHEN event = 'import_data' THEN 1 WHEN event = 'build_report' THEN 2 END AS feature,
    SUM(COALESCE(count, 1)) AS n
  FROM events
  WHERE
    timestamp >= CAST('2026-01-01 00:00:00' AS TIMESTAMP)
    AND timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    account_id,
    user_id,
    CAST(TRUNCATE(
      CAST(DATE_DIFF(
        'DAY',
        DATE_TRUNC('DAY', CAST(timestamp AS DATE)),
        DATE_TRUNC('DAY', CAST('2026-03-31' AS DATE))
      ) AS DOUBLE) / 30
    ) AS BIGINT),
    CASE WHEN event = 'import_data' THEN 1 WHEN event = 'build_report' THEN 2 END
), per_user AS (
  SELECT
    account_id,
    user_id,
    k,
    MAX(CASE WHEN NOT feature IS NULL THEN 1 ELSE 0 END) AS adopted,
    SUM(CASE WHEN NOT feature IS NULL THEN n END) AS core_n
  FROM base
  GROUP BY
    account_id,
    user_id,
    k
)
SELECT
  'u' AS part,
  CAST(account_id AS VARCHAR) AS account_id,
  CAST(NULL AS VARCHAR) AS user_id,
  k,
  CAST(NULL AS INTEGER) AS feature,
  COUNT(*) AS p,
  COUNT(CASE WHEN adopted = 1 THEN 1 END) AS a,
  COALESCE(SUM(core_n), 0) AS c,
  MAX(core_n) AS top1
FROM per_user
WHERE
  NOT account_id IS NULL
GROUP BY
  account_id,
  k
UNION ALL
SELECT
  'f' AS part,
  CAST(account_id AS VARCHAR) AS account_id,
  CAST(NULL AS VARCHAR) AS user_id,
  k,
  feature,
  COUNT(*) AS p,
  CAST(NULL AS BIGINT) AS a,
  CAST(NULL AS BIGINT) AS c,
  CAST(NULL AS BIGINT) AS top1
FROM base
WHERE
  NOT feature IS NULL AND NOT account_id IS NULL
GROUP BY
  account_id,
  k,
  feature
UNION ALL
SELECT DISTINCT
  'x' AS part,
  CAST(NULL AS VARCHAR) AS account_id,
  CAST(user_id AS VARCHAR) AS user_id,
  k,
  CAST(NULL AS INTEGER) AS feature,
  CAST(NULL AS BIGINT) AS p,
  CAST(NULL AS BIGINT) AS a,
  CAST(NULL AS BIGINT) AS c,
  CAST(NULL AS BIGINT) AS top1
FROM base
WHERE
  user_id IN (
    SELECT
      user_id
    FROM users
    WHERE
      is_champion = TRUE OR is_exec_sponsor = TRUE
  )
