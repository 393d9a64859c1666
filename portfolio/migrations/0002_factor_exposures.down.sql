DROP VIEW factor_exposures;

ALTER TABLE portfolio_snapshots
    DROP COLUMN factor_exposure_dollar,
    DROP COLUMN holdings_covered,
    DROP COLUMN gross_coverage,
    DROP COLUMN factor_holdings_covered,
    DROP COLUMN factor_gross_coverage,
    DROP COLUMN holdings_excluded;

ALTER TABLE batch_runs DROP COLUMN factors;

CREATE TABLE factor_exposures (
    portfolio_id      uuid NOT NULL REFERENCES portfolios (id),
    exposure_date     date NOT NULL,
    factor            text NOT NULL,
    exposure          double precision,
    exposure_dollar   double precision,
    holdings_covered  integer NOT NULL DEFAULT 0,
    holdings_excluded integer NOT NULL DEFAULT 0,
    gross_coverage    double precision,
    batch_run_id      uuid,
    computed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (portfolio_id, exposure_date, factor)
);
