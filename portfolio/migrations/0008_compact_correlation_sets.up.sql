-- The stored correlation matrices, compactly: the pairs above the
-- diagonal only (i < j, row by row: the pair (i, j) of an n-holding set
-- is element (i−1)·n − (i−1)·i/2 + (j − i)), their common returns as
-- smallint, the diagonal's returns per holding. A 30-holding matrix then
-- fits its row (about 4.8 kB instead of 11.5 kB) and, with the larger
-- toast_tuple_target, is stored in the row instead of TOASTed: the
-- nightly advance writes one per portfolio, about a quarter of the cost.
ALTER TABLE correlation_sets
    ADD COLUMN pair_correlations double precision[],
    ADD COLUMN pair_observations smallint[],
    ADD COLUMN return_counts smallint[];

UPDATE correlation_sets c
SET pair_correlations = coalesce(p.corr, '{}'),
    pair_observations = coalesce(p.obs, '{}'),
    return_counts = coalesce(d.counts, '{}')
FROM correlation_sets c2
CROSS JOIN LATERAL (SELECT cardinality(c2.symbols) AS n) k
CROSS JOIN LATERAL (
    SELECT array_agg(c2.correlations[(i - 1) * k.n + j] ORDER BY i, j) AS corr,
           array_agg(c2.observations[(i - 1) * k.n + j]::smallint ORDER BY i, j) AS obs
    FROM generate_series(1, k.n) i, generate_series(1, k.n) j
    WHERE i < j) p
CROSS JOIN LATERAL (
    SELECT array_agg(c2.observations[(i - 1) * k.n + i]::smallint ORDER BY i) AS counts
    FROM generate_series(1, k.n) i) d
WHERE c.portfolio_id = c2.portfolio_id AND c.as_of_date = c2.as_of_date;

DROP VIEW correlation_matrices;
ALTER TABLE correlation_sets
    DROP COLUMN correlations,
    DROP COLUMN observations,
    ALTER COLUMN pair_correlations SET NOT NULL,
    ALTER COLUMN pair_observations SET NOT NULL,
    ALTER COLUMN return_counts SET NOT NULL,
    -- Random doubles do not compress: a large matrix goes out of line
    -- without a compression attempt.
    ALTER COLUMN pair_correlations SET STORAGE EXTERNAL,
    SET (toast_tuple_target = 8160);

CREATE VIEW correlation_matrices AS
SELECT c.portfolio_id, c.as_of_date,
       c.symbols[a] AS symbol_a, c.symbols[b] AS symbol_b,
       CASE WHEN a = b THEN 1::double precision ELSE c.pair_correlations[p.i] END AS correlation,
       (CASE WHEN a = b THEN c.return_counts[a] ELSE c.pair_observations[p.i] END)::integer AS observations
FROM correlation_sets c
CROSS JOIN LATERAL (SELECT cardinality(c.symbols) AS n) k
CROSS JOIN LATERAL generate_series(1, k.n) a
CROSS JOIN LATERAL generate_series(1, k.n) b
CROSS JOIN LATERAL (SELECT (least(a, b) - 1) * k.n - (least(a, b) - 1) * least(a, b) / 2
                           + (greatest(a, b) - least(a, b)) AS i) p;
