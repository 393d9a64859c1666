-- Reference data per symbol, sector exposure, concentration, provider
-- beta, and persisted symbol betas.

-- One row per symbol (upper case), imported by `backfilld symbols import`
-- or batch.ImportSymbols. Only symbol is required.
CREATE TABLE symbols (
    symbol        varchar(100) PRIMARY KEY CHECK (symbol <> '' AND symbol = upper(symbol)),
    name          varchar(255),
    asset_type    text CHECK (asset_type IN
                      ('stock', 'etf', 'mutual_fund', 'option', 'cash', 'private', 'other')),
    -- One of the 11 GICS sectors, as named here.
    sector        text CHECK (sector IN
                      ('Energy', 'Materials', 'Industrials', 'Consumer Discretionary', 'Consumer Staples',
                       'Health Care', 'Financials', 'Information Technology', 'Communication Services',
                       'Utilities', 'Real Estate')),
    industry      varchar(255),
    country       varchar(100),
    currency      char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    market_cap    numeric CHECK (market_cap >= 0),
    provider_beta double precision CHECK (provider_beta BETWEEN -100 AND 100),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE portfolio_snapshots
    -- Concentration over non-cash holdings, lots of one symbol aggregated:
    -- w = |MV| / Σ|MV|, hhi = 10,000 × Σ w², effective_positions = 10,000 / hhi.
    ADD COLUMN hhi                    double precision,
    ADD COLUMN effective_positions    double precision,
    ADD COLUMN top1_weight            double precision,
    ADD COLUMN top3_weight            double precision,
    ADD COLUMN top10_weight           double precision,
    -- Σ MV × symbols.provider_beta / NAV over holdings with a reference
    -- beta, and the share of gross exposure they hold.
    ADD COLUMN provider_beta          double precision,
    ADD COLUMN provider_beta_coverage double precision,
    -- Long and short market value of each sector holding any position,
    -- read through sector_exposures: "bucket:long:short" items joined by
    -- ';', bucket indexing the view's sector list from 0. Text rather than
    -- arrays: COPY parses it ≈ 5× faster, and it is written every day.
    ADD COLUMN sector_mix             text;

CREATE VIEW sector_exposures AS
SELECT s.portfolio_id,
       s.snapshot_date AS exposure_date,
       x.sector,
       x.long_value,
       x.short_value,
       x.long_value + x.short_value AS net_value,
       CASE WHEN g.gross > 0 THEN (x.long_value - x.short_value) / g.gross END AS gross_weight,
       CASE WHEN s.nav > 0 THEN (x.long_value + x.short_value) / s.nav::float8 END AS net_weight
FROM portfolio_snapshots s
CROSS JOIN LATERAL (
    SELECT (ARRAY['Energy', 'Materials', 'Industrials', 'Consumer Discretionary', 'Consumer Staples',
                  'Health Care', 'Financials', 'Information Technology', 'Communication Services',
                  'Utilities', 'Real Estate', 'ETF', 'Unclassified'])[split_part(e, ':', 1)::int + 1] AS sector,
           split_part(e, ':', 2)::float8 AS long_value,
           split_part(e, ':', 3)::float8 AS short_value
    FROM unnest(string_to_array(s.sector_mix, ';')) AS e
) x
CROSS JOIN LATERAL (
    SELECT sum(split_part(e, ':', 2)::float8 - split_part(e, ':', 3)::float8) AS gross
    FROM unnest(string_to_array(s.sector_mix, ';')) AS e
) g;

-- Persisted symbol betas: one row per symbol, day and analytics
-- configuration, every factor in arrays (in the order of factors), read
-- through the view symbol_factor_betas with one row per factor. A row is
-- written only while the price generation it was computed under is current.
DROP TABLE symbol_factor_betas;

-- The factors of an analytics configuration (config: a hash of its
-- proxies, windows and caps), in the order of symbol_betas' arrays, and
-- the price series they depend on.
CREATE TABLE symbol_beta_configs (
    config     bigint PRIMARY KEY,
    factors    text[] NOT NULL,
    depends_on text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE symbol_betas (
    symbol       varchar(100) NOT NULL,
    as_of_date   date NOT NULL,
    config       bigint NOT NULL,
    -- The factors' betas and observations as comma-separated text (an
    -- empty item: no beta), in the order of the configuration's factors.
    -- Text rather than arrays: COPY parses it several times faster, and a
    -- row is written for every symbol and day; the view casts it.
    betas        text NOT NULL,
    observations text NOT NULL,
    -- Why a factor's beta is NULL; NULL when every beta is there.
    reasons      text[],
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, as_of_date, config)
);
-- A price change deletes the rows from its first changed day on. Rows
-- arrive roughly in date order, so a BRIN index finds them at a fraction
-- of a btree's cost per written row.
CREATE INDEX symbol_betas_as_of_idx ON symbol_betas USING brin (as_of_date);

-- depends_on: every price series the day's betas depend on, the symbol and
-- the factors' instruments (see record_price_changes).
CREATE VIEW symbol_factor_betas AS
SELECT b.symbol, b.as_of_date, f.factor, f.beta, f.observations, f.reason,
       array_prepend(b.symbol::text, c.depends_on) AS depends_on, b.config, b.computed_at
FROM symbol_betas b
JOIN symbol_beta_configs c ON c.config = b.config
CROSS JOIN LATERAL unnest(c.factors, string_to_array(b.betas, ',', '')::float8[],
                          string_to_array(b.observations, ',')::integer[], b.reasons)
    AS f (factor, beta, observations, reason);

-- A price change deletes the rows that depend on a changed series from its
-- changed day on, in its own transaction (see record_price_changes): a
-- symbol's whole day, whose factors were computed together.
CREATE OR REPLACE FUNCTION invalidate_symbol_betas(syms text[], dates date[]) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $$
    DELETE FROM symbol_betas b
    USING unnest(syms, dates) AS c (symbol, from_date), symbol_beta_configs g
    WHERE g.config = b.config AND b.as_of_date >= c.from_date
      AND (b.symbol = c.symbol OR g.depends_on @> ARRAY[c.symbol]);
$$;

-- DELETE FROM symbol_factor_betas WHERE … deletes the symbol's whole day:
-- its factors were computed together.
CREATE FUNCTION symbol_factor_betas_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM symbol_betas
    WHERE symbol = OLD.symbol AND as_of_date = OLD.as_of_date AND config = OLD.config;
    RETURN OLD;
END
$$;

CREATE TRIGGER symbol_factor_betas_delete
    INSTEAD OF DELETE ON symbol_factor_betas
    FOR EACH ROW EXECUTE FUNCTION symbol_factor_betas_delete();
