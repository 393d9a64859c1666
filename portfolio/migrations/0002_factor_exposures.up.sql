-- Factor exposures are stored with their day's snapshot, as arrays in the
-- order of the writing run's factor list (batch_runs.factors), and read
-- through the view factor_exposures with one row per factor: a backfill
-- writes one row per portfolio-day instead of one per factor.
DROP TABLE factor_exposures;

ALTER TABLE batch_runs ADD COLUMN factors text[] NOT NULL DEFAULT '{}';

ALTER TABLE portfolio_snapshots
    -- Σ over covered holdings of market value × the symbol's beta, per
    -- factor (NULL where no holding is covered).
    ADD COLUMN factor_exposure_dollar   double precision[],
    -- Holdings whose beta for the factor was available that day, and the
    -- share of gross exposure they hold. Usually the same for every factor:
    -- then only the scalars are set and the arrays are NULL.
    ADD COLUMN holdings_covered         integer,
    ADD COLUMN gross_coverage           double precision,
    ADD COLUMN factor_holdings_covered  integer[],
    ADD COLUMN factor_gross_coverage    double precision[],
    -- Holdings without factor betas by nature: options, private, cash, unpriced.
    ADD COLUMN holdings_excluded        integer NOT NULL DEFAULT 0;

CREATE VIEW factor_exposures AS
SELECT s.portfolio_id,
       s.snapshot_date AS exposure_date,
       f.factor,
       CASE WHEN s.nav > 0 THEN f.exposure_dollar / s.nav::float8 END AS exposure,
       f.exposure_dollar,
       coalesce(f.holdings_covered, s.holdings_covered) AS holdings_covered,
       s.holdings_excluded,
       coalesce(f.gross_coverage, s.gross_coverage) AS gross_coverage,
       s.batch_run_id,
       s.computed_at
FROM portfolio_snapshots s
JOIN batch_runs r ON r.portfolio_id = s.portfolio_id AND r.id = s.batch_run_id
-- unnest pads NULL or shorter arrays with NULLs.
CROSS JOIN LATERAL unnest(r.factors, s.factor_exposure_dollar, s.factor_holdings_covered, s.factor_gross_coverage)
    AS f (factor, exposure_dollar, holdings_covered, gross_coverage);
