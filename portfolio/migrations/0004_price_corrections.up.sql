-- Price corrections reach every holder. Every statement that changes
-- market_prices records, in the same transaction, each changed symbol with
-- the earliest date it changed; the reconciler turns each record into
-- rewinds of the portfolios whose stored days depend on it, and engines
-- drop exactly those symbols' cached closes and betas.
CREATE TABLE price_changes (
    id           bigserial PRIMARY KEY,
    symbol       varchar(100) NOT NULL,
    from_date    date NOT NULL,
    -- The price generation the change created: a backfill that loaded at
    -- this generation or later has seen it.
    generation   bigint NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    -- Set once the reconciler has rewound the affected portfolios. Rows are
    -- kept a while after that so that other engines can invalidate their
    -- caches; pruned_through records what was pruned.
    processed_at timestamptz
);
CREATE INDEX price_changes_unprocessed_idx ON price_changes (id) WHERE processed_at IS NULL;

-- Engines whose last seen change is at or below pruned_through have missed
-- changes and drop their whole caches.
ALTER TABLE price_generation ADD COLUMN pruned_through bigint NOT NULL DEFAULT 0;

-- The generation is now bumped by record_price_changes, only by statements
-- that really change a close, and in step with the change log.
DROP TRIGGER market_prices_generation ON market_prices;

-- The price generation a run loaded its portfolio and prices at, set in the
-- same round trip as the load: a change of a later generation may not have
-- been seen by it.
ALTER TABLE batch_runs ADD COLUMN price_generation bigint;

-- A rewind counter: every rewind bumps it, and a backfill that started
-- before a rewind no longer moves the watermark, so a correction arriving
-- during a backfill is never overwritten by it.
ALTER TABLE backfill_state ADD COLUMN rewind_seq bigint NOT NULL DEFAULT 0;

-- Runs can be asked for by a price correction.
ALTER TABLE batch_runs DROP CONSTRAINT batch_runs_trigger_check;
ALTER TABLE batch_runs ADD CONSTRAINT batch_runs_trigger_check
    CHECK (trigger IN ('onboarding', 'calculate', 'schedule', 'notify', 'manual', 'price_correction'));

-- The close bounds prices import enforces: (0, 1e9), and no date before
-- 1970. NOT VALID: rows stored before this migration are not re-checked
-- (the engine refuses implausible values anyway); every new row is.
ALTER TABLE market_prices ADD CONSTRAINT market_prices_close_bounds
    CHECK (close < 1e9 AND price_date >= DATE '1970-01-01') NOT VALID;

-- Holders of a symbol, found without scanning every position.
CREATE INDEX positions_symbol_idx ON positions (symbol);
CREATE INDEX positions_underlying_idx ON positions (underlying_symbol) WHERE underlying_symbol IS NOT NULL;

-- Persisted symbol betas name every price series their value depends on
-- (the symbol and the factor's instruments), so that a change of any of
-- them deletes exactly the rows it invalidates, in its own transaction.
ALTER TABLE symbol_factor_betas ADD COLUMN depends_on text[] NOT NULL DEFAULT '{}';
CREATE INDEX symbol_factor_betas_depends_idx ON symbol_factor_betas USING gin (depends_on);

-- invalidate_symbol_betas deletes the persisted symbol betas that depend
-- on a changed series from its changed day on.
CREATE FUNCTION invalidate_symbol_betas(syms text[], dates date[]) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $$
    DELETE FROM symbol_factor_betas b
    USING unnest(syms, dates) AS c (symbol, from_date)
    WHERE b.as_of_date >= c.from_date AND (b.symbol = c.symbol OR b.depends_on @> ARRAY[c.symbol]);
$$;

-- record_price_changes logs the changed (symbol, earliest date) pairs of a
-- statement, deletes the persisted betas they invalidate and wakes the
-- reconcilers.
CREATE FUNCTION record_price_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    syms  text[];
    dates date[];
    gen   bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(symbol), array_agg(d) INTO syms, dates
        FROM (SELECT symbol, min(price_date) AS d FROM new_prices GROUP BY symbol) x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(symbol), array_agg(d) INTO syms, dates
        FROM (SELECT symbol, min(price_date) AS d FROM old_prices GROUP BY symbol) x;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Only rows whose close (or key) really changed: an update to the
        -- same value (150.0 = 150.00) changes nothing.
        SELECT array_agg(symbol), array_agg(d) INTO syms, dates
        FROM (SELECT symbol, min(price_date) AS d FROM (
                (SELECT symbol, price_date, close FROM new_prices
                 EXCEPT SELECT symbol, price_date, close FROM old_prices)
                UNION ALL
                (SELECT symbol, price_date, close FROM old_prices
                 EXCEPT SELECT symbol, price_date, close FROM new_prices)) c
              GROUP BY symbol) x;
    ELSE -- TRUNCATE
        SELECT array_agg(symbol), array_agg(d) INTO syms, dates
        FROM (SELECT symbol, min(price_date) AS d FROM market_prices GROUP BY symbol) x;
    END IF;
    IF syms IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE price_generation SET generation = generation + 1 RETURNING generation INTO gen;
    INSERT INTO price_changes (symbol, from_date, generation) SELECT s, d, gen FROM unnest(syms, dates) AS u (s, d);
    PERFORM invalidate_symbol_betas(syms, dates);
    PERFORM pg_notify('backfill_price_changed', current_schema());
    RETURN NULL;
END
$$;

CREATE TRIGGER market_prices_changes_insert
    AFTER INSERT ON market_prices REFERENCING NEW TABLE AS new_prices
    FOR EACH STATEMENT EXECUTE FUNCTION record_price_changes();
CREATE TRIGGER market_prices_changes_update
    AFTER UPDATE ON market_prices REFERENCING OLD TABLE AS old_prices NEW TABLE AS new_prices
    FOR EACH STATEMENT EXECUTE FUNCTION record_price_changes();
CREATE TRIGGER market_prices_changes_delete
    AFTER DELETE ON market_prices REFERENCING OLD TABLE AS old_prices
    FOR EACH STATEMENT EXECUTE FUNCTION record_price_changes();
CREATE TRIGGER market_prices_changes_truncate
    BEFORE TRUNCATE ON market_prices
    FOR EACH STATEMENT EXECUTE FUNCTION record_price_changes();
