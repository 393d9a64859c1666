DROP VIEW correlation_clusters;
DROP VIEW correlation_matrices;
DROP TABLE correlation_sets;
DROP VIEW stress_test_results;

ALTER TABLE portfolio_snapshots
    DROP COLUMN volatility_forecast_21d,
    DROP COLUMN volatility_trend_slope,
    DROP COLUMN volatility_trend_r2,
    DROP COLUMN volatility_percentile,
    DROP COLUMN avg_abs_correlation,
    DROP COLUMN diversification_score,
    DROP COLUMN correlation_effective_positions,
    DROP COLUMN correlation_holdings,
    DROP COLUMN stress_correlated_pnl;

ALTER TABLE batch_runs
    DROP COLUMN stress_scenarios,
    DROP COLUMN stress_categories,
    DROP COLUMN stress_factors_missing,
    DROP COLUMN stress_factors,
    DROP COLUMN stress_shocks;
