SELECT
  CAST(account_id AS STRING) AS account_id,
  MIN(timestamp) AS first_activity,
  MIN(CASE WHEN event = 'import_data' THEN timestamp END) AS activated_at,
  MIN(
    CASE
      WHEN NOT CASE WHEN event = 'import_data' THEN 1 WHEN event = 'build_report' THEN 2 END IS NULL
      THEN timestamp
    END
  ) AS first_core_at,
  MAX(
    CASE
      WHEN timestamp < CAST('2026-04-01 00:00:00' AS TIMESTAMP_NTZ)
      THEN timestamp
    END
  ) AS last_0,
  MAX(
    CASE
      WHEN timestamp < CAST('2026-03-02 00:00:00' AS TIMESTAMP_NTZ)
      THEN timestamp
    END
  ) AS last_1
FROM events
WHERE
  NOT account_id IS NULL
GROUP BY
  account_id
