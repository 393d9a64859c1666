ALTER TABLE correlation_sets
    ADD COLUMN correlations double precision[],
    ADD COLUMN observations integer[];

UPDATE correlation_sets c
SET correlations = coalesce(p.corr, '{}'),
    observations = coalesce(p.obs, '{}')
FROM correlation_sets c2
CROSS JOIN LATERAL (SELECT cardinality(c2.symbols) AS n) k
CROSS JOIN LATERAL (
    SELECT array_agg(CASE WHEN a = b THEN 1::double precision ELSE c2.pair_correlations[q.i] END ORDER BY a, b) AS corr,
           array_agg((CASE WHEN a = b THEN c2.return_counts[a] ELSE c2.pair_observations[q.i] END)::integer ORDER BY a, b) AS obs
    FROM generate_series(1, k.n) a
    CROSS JOIN generate_series(1, k.n) b
    CROSS JOIN LATERAL (SELECT (least(a, b) - 1) * k.n - (least(a, b) - 1) * least(a, b) / 2
                               + (greatest(a, b) - least(a, b)) AS i) q) p
WHERE c.portfolio_id = c2.portfolio_id AND c.as_of_date = c2.as_of_date;

DROP VIEW correlation_matrices;
ALTER TABLE correlation_sets
    DROP COLUMN pair_correlations,
    DROP COLUMN pair_observations,
    DROP COLUMN return_counts,
    ALTER COLUMN correlations SET NOT NULL,
    ALTER COLUMN observations SET NOT NULL,
    RESET (toast_tuple_target);

CREATE VIEW correlation_matrices AS
SELECT c.portfolio_id, c.as_of_date,
       c.symbols[a] AS symbol_a, c.symbols[b] AS symbol_b,
       c.correlations[(a - 1) * n + b] AS correlation,
       c.observations[(a - 1) * n + b] AS observations
FROM correlation_sets c
CROSS JOIN LATERAL (SELECT cardinality(c.symbols) AS n) k
CROSS JOIN LATERAL generate_series(1, k.n) a
CROSS JOIN LATERAL generate_series(1, k.n) b;
