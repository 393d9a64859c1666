DROP VIEW symbol_factor_betas;
DROP FUNCTION symbol_factor_betas_delete();
DROP TABLE symbol_betas;
DROP TABLE symbol_beta_configs;

CREATE TABLE symbol_factor_betas (
    symbol       varchar(100) NOT NULL,
    as_of_date   date NOT NULL,
    factor       text NOT NULL,
    beta         double precision,
    observations integer NOT NULL DEFAULT 0,
    reason       text,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    depends_on   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (symbol, as_of_date, factor)
);
CREATE INDEX symbol_factor_betas_depends_idx ON symbol_factor_betas USING gin (depends_on);
CREATE OR REPLACE FUNCTION invalidate_symbol_betas(syms text[], dates date[]) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $$
    DELETE FROM symbol_factor_betas b
    USING unnest(syms, dates) AS c (symbol, from_date)
    WHERE b.as_of_date >= c.from_date AND (b.symbol = c.symbol OR b.depends_on @> ARRAY[c.symbol]);
$$;

DROP VIEW sector_exposures;

ALTER TABLE portfolio_snapshots
    DROP COLUMN hhi,
    DROP COLUMN effective_positions,
    DROP COLUMN top1_weight,
    DROP COLUMN top3_weight,
    DROP COLUMN top10_weight,
    DROP COLUMN provider_beta,
    DROP COLUMN provider_beta_coverage,
    DROP COLUMN sector_mix;

DROP TABLE symbols;
