DROP TRIGGER market_prices_changes_truncate ON market_prices;
DROP TRIGGER market_prices_changes_delete ON market_prices;
DROP TRIGGER market_prices_changes_update ON market_prices;
DROP TRIGGER market_prices_changes_insert ON market_prices;
DROP FUNCTION record_price_changes();
DROP FUNCTION invalidate_symbol_betas(text[], date[]);
CREATE TRIGGER market_prices_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON market_prices
    FOR EACH STATEMENT EXECUTE FUNCTION bump_price_generation();
ALTER TABLE batch_runs DROP COLUMN price_generation;
DROP INDEX symbol_factor_betas_depends_idx;
ALTER TABLE symbol_factor_betas DROP COLUMN depends_on;
DROP INDEX positions_underlying_idx;
DROP INDEX positions_symbol_idx;
ALTER TABLE market_prices DROP CONSTRAINT market_prices_close_bounds;
DELETE FROM batch_runs WHERE trigger = 'price_correction' AND status IN ('pending', 'running');
UPDATE batch_runs SET trigger = 'manual' WHERE trigger = 'price_correction';
ALTER TABLE batch_runs DROP CONSTRAINT batch_runs_trigger_check;
ALTER TABLE batch_runs ADD CONSTRAINT batch_runs_trigger_check
    CHECK (trigger IN ('onboarding', 'calculate', 'schedule', 'notify', 'manual'));
ALTER TABLE backfill_state DROP COLUMN rewind_seq;
ALTER TABLE price_generation DROP COLUMN pruned_through;
DROP TABLE price_changes;
