-- Store the correlated P&L the view computes back into the snapshots that
-- left it to the view, then restore the view of 0005.
UPDATE portfolio_snapshots s
SET stress_correlated_pnl = p.pnl
FROM (
    SELECT t.portfolio_id, t.result_date,
           '{' || string_agg(coalesce(t.correlated_pnl::text, 'NULL'), ',' ORDER BY k.n) || '}' AS pnl
    FROM stress_test_results t
    JOIN batch_runs r ON r.portfolio_id = t.portfolio_id AND r.id = t.batch_run_id
    JOIN unnest(r.stress_scenarios) WITH ORDINALITY AS k (scenario, n) ON k.scenario = t.scenario
    WHERE r.stress_plan IS NOT NULL
    GROUP BY t.portfolio_id, t.result_date
) p
WHERE s.portfolio_id = p.portfolio_id AND s.snapshot_date = p.result_date AND s.stress_correlated_pnl IS NULL;

DROP VIEW stress_test_results;

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
CROSS JOIN LATERAL (
    SELECT round(sum(coalesce(e.exposure_dollar, 0) * k.shock)::numeric, 4)::float8 AS direct_pnl
    FROM unnest(r.stress_factors,
                r.stress_shocks[(t.n - 1) * cardinality(r.stress_factors) + 1 : t.n * cardinality(r.stress_factors)])
        AS k (factor, shock)
    LEFT JOIN unnest(r.factors, s.factor_exposure_dollar) AS e (factor, exposure_dollar) ON e.factor = k.factor
    WHERE k.shock IS NOT NULL
) d
WHERE t.scenario IS NOT NULL;

ALTER TABLE batch_runs DROP COLUMN stress_plan;
DROP TABLE stress_moves;
