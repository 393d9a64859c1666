-- The correlated stress P&L is computed by the view, like the direct P&L,
-- from the day's stored factor exposures and the day's factor moves of
-- each scenario, which are the same for every portfolio: one row per
-- stress plan and day instead of a text array in every snapshot row
-- (about a quarter of a row with analytics).
--
-- plan: the stress plan's key, a hash of everything the moves depend on
-- (the price generation, the scenarios' shocks, the covariance's proxies,
-- window and decay), named by the runs that used it (batch_runs.stress_plan).
-- moves: scenario-major in the order of the run's stress_scenarios, one per
-- stress factor in the order of its stress_factors; NULL for a scenario
-- that cannot run, and the whole array NULL on a day whose covariance
-- could not be estimated (the run's warnings say why).
CREATE TABLE stress_moves (
    plan        bigint NOT NULL,
    as_of_date  date NOT NULL,
    moves       double precision[],
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan, as_of_date)
);

ALTER TABLE batch_runs ADD COLUMN stress_plan bigint;

-- Snapshots written before this migration keep their stored correlated
-- P&L (stress_correlated_pnl); later ones leave it NULL.
CREATE OR REPLACE VIEW stress_test_results AS
SELECT s.portfolio_id,
       s.snapshot_date AS result_date,
       t.scenario,
       t.category,
       d.direct_pnl,
       coalesce(t.correlated_pnl, c.correlated_pnl) AS correlated_pnl,
       CASE WHEN s.nav <> 0 THEN d.direct_pnl / s.nav::float8 END AS direct_return,
       CASE WHEN s.nav <> 0 THEN coalesce(t.correlated_pnl, c.correlated_pnl) / s.nav::float8 END AS correlated_return,
       nullif(t.factors_missing, '') AS factors_missing,
       s.batch_run_id,
       s.computed_at
FROM portfolio_snapshots s
JOIN batch_runs r ON r.portfolio_id = s.portfolio_id AND r.id = s.batch_run_id
LEFT JOIN stress_moves m ON m.plan = r.stress_plan AND m.as_of_date = s.snapshot_date
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
-- Σ over every stress factor, in their order, of exposure dollars × the
-- factor's move in the scenario (a factor no holding covers contributes
-- 0); NULL without moves.
CROSS JOIN LATERAL (
    SELECT round(sum(coalesce(s.factor_exposure_dollar[array_position(r.factors, f.factor)], 0)
                     * m.moves[(t.n - 1) * cardinality(r.stress_factors) + f.i] ORDER BY f.i)::numeric, 4)::float8
               AS correlated_pnl
    FROM unnest(r.stress_factors) WITH ORDINALITY AS f (factor, i)
) c
WHERE t.scenario IS NOT NULL;
