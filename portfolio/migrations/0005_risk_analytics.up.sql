-- The remaining risk analytics of every snapshot day: the volatility
-- forecast, trend and percentile, the correlation scores and the stress
-- tests, with the day's snapshot (one row per portfolio-day). A stress
-- test's direct P&L is linear in the day's stored factor exposures, so the
-- view stress_test_results computes it from them and the run's shocks; the
-- correlated P&L, whose factor moves depend on the day's covariance, is
-- stored per scenario of the run (batch_runs.stress_scenarios order).
ALTER TABLE batch_runs
    ADD COLUMN stress_scenarios        text[] NOT NULL DEFAULT '{}',
    ADD COLUMN stress_categories       text[] NOT NULL DEFAULT '{}',
    -- Per scenario: the factors a historical replay left out for want of
    -- prices over its window, comma-separated ('' when none).
    ADD COLUMN stress_factors_missing  text[] NOT NULL DEFAULT '{}',
    -- The factors a scenario may shock (exposure names), and the shocks:
    -- scenario-major, one per factor, NULL where not shocked (all NULL
    -- for a scenario that cannot run, e.g. a replay without SPY prices).
    ADD COLUMN stress_factors          text[] NOT NULL DEFAULT '{}',
    ADD COLUMN stress_shocks           double precision[] NOT NULL DEFAULT '{}';

ALTER TABLE portfolio_snapshots
    ADD COLUMN volatility_forecast_21d         double precision,
    ADD COLUMN volatility_trend_slope          double precision,
    ADD COLUMN volatility_trend_r2             double precision,
    ADD COLUMN volatility_percentile           double precision,
    ADD COLUMN avg_abs_correlation             double precision,
    ADD COLUMN diversification_score           double precision,
    ADD COLUMN correlation_effective_positions double precision,
    ADD COLUMN correlation_holdings            integer,
    -- Per scenario of the run, in its order, as the text of a
    -- double precision[] ('{-512.25,NULL,…}'; NULL where it could not be
    -- computed, the run's warnings say why). Stored as text and cast by
    -- the view on read: COPY parses a float8[] element by element, text in
    -- one copy, and rows are written far more often than read.
    ADD COLUMN stress_correlated_pnl           text;

CREATE VIEW stress_test_results AS
SELECT s.portfolio_id,
       s.snapshot_date AS result_date,
       t.scenario,
       t.category,
       d.direct_pnl,
       t.correlated_pnl,
       CASE WHEN s.nav <> 0 THEN d.direct_pnl / s.nav::float8 END AS direct_return,
       CASE WHEN s.nav <> 0 THEN t.correlated_pnl / s.nav::float8 END AS correlated_return,
       nullif(t.factors_missing, '') AS factors_missing,
       s.batch_run_id,
       s.computed_at
FROM portfolio_snapshots s
JOIN batch_runs r ON r.portfolio_id = s.portfolio_id AND r.id = s.batch_run_id
CROSS JOIN LATERAL unnest(r.stress_scenarios, r.stress_categories, r.stress_factors_missing,
                          s.stress_correlated_pnl::double precision[])
    WITH ORDINALITY AS t (scenario, category, factors_missing, correlated_pnl, n)
-- Σ over the shocked factors of exposure dollars × shock; a factor no
-- holding covers (NULL exposure) contributes 0; no shocked factor: NULL.
CROSS JOIN LATERAL (
    SELECT round(sum(coalesce(e.exposure_dollar, 0) * k.shock)::numeric, 4)::float8 AS direct_pnl
    FROM unnest(r.stress_factors,
                r.stress_shocks[(t.n - 1) * cardinality(r.stress_factors) + 1 : t.n * cardinality(r.stress_factors)])
        AS k (factor, shock)
    LEFT JOIN unnest(r.factors, s.factor_exposure_dollar) AS e (factor, exposure_dollar) ON e.factor = k.factor
    WHERE k.shock IS NOT NULL
) d
WHERE t.scenario IS NOT NULL;

-- The correlation matrix of a portfolio's holdings on a day (the latest
-- day a backfill wrote, or any day a caller stored): one row holding the
-- symbols in descending |MV| order, the n×n matrix row-major (NULL where a
-- pair has fewer than 30 common returns), the common observations, and
-- each symbol's cluster. Read through the views correlation_matrices (both
-- orders of every pair and the diagonal) and correlation_clusters.
CREATE TABLE correlation_sets (
    portfolio_id   uuid NOT NULL REFERENCES portfolios (id),
    as_of_date     date NOT NULL,
    symbols        text[] NOT NULL,
    market_values  double precision[] NOT NULL,
    correlations   double precision[] NOT NULL,
    observations   integer[] NOT NULL,
    clusters       integer[] NOT NULL,
    -- The raw matrix was not positive semi-definite and was repaired.
    repaired       boolean NOT NULL DEFAULT false,
    batch_run_id   uuid,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (portfolio_id, as_of_date)
);

CREATE VIEW correlation_matrices AS
SELECT c.portfolio_id, c.as_of_date,
       c.symbols[a] AS symbol_a, c.symbols[b] AS symbol_b,
       c.correlations[(a - 1) * n + b] AS correlation,
       c.observations[(a - 1) * n + b] AS observations
FROM correlation_sets c
CROSS JOIN LATERAL (SELECT cardinality(c.symbols) AS n) k
CROSS JOIN LATERAL generate_series(1, k.n) a
CROSS JOIN LATERAL generate_series(1, k.n) b;

CREATE VIEW correlation_clusters AS
SELECT c.portfolio_id, c.as_of_date, t.cluster, t.symbol
FROM correlation_sets c
CROSS JOIN LATERAL unnest(c.clusters, c.symbols) AS t (cluster, symbol);
