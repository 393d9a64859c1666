package batch

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
)

// loadAdvance starts the runs of an Advance's portfolios and loads them,
// with their positions, flows, reference data and rolling state, in one
// round trip: one batch, which PostgreSQL runs as one implicit
// transaction. Runs start as startRun starts them for one portfolio: a
// run left running by a worker that lost its lease is closed first, a
// pending run is taken, else a new one is created.
func (e *Engine) loadAdvance(ctx context.Context, items []*advanceItem, trigger portfolio.Trigger) error {
	n := len(items)
	ids, tokens, newIDs := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	byID := make(map[uuid.UUID]*advanceItem, n)
	for i, it := range items {
		ids[i], tokens[i], newIDs[i] = it.claim.PortfolioID, it.claim.LeaseToken, uuid.Must(uuid.NewV7())
		byID[it.claim.PortfolioID] = it
	}
	running := portfolio.RunRunning.Literal()
	b := &pgx.Batch{}
	b.Queue(e.sql(`
		UPDATE {schema}.batch_runs SET status = CASE WHEN days_written > 0 THEN `+portfolio.RunPartial.Literal()+` ELSE `+portfolio.RunFailed.Literal()+` END,
		       finished_at = now(), error = 'abandoned: its worker lost the lease before finishing'
		WHERE portfolio_id = ANY($1) AND status = `+running), ids)
	// As loadPortfolio, the runs record the price generation, read FOR
	// SHARE: a price change either waits for this batch or is seen by it.
	gen, genSQL := int64(-1), "NULL::int8"
	if _, ok := e.cfg.Prices.(*DBPriceSource); ok {
		genSQL = "(SELECT generation FROM {schema}.price_generation FOR SHARE)"
	}
	// Each portfolio's run is the one either statement returns: none is
	// left running by the first.
	started := func(rows pgx.Rows) error {
		var id, run uuid.UUID
		var g int64
		_, err := pgx.ForEachRow(rows, []any{&id, &run, &g}, func() error {
			if it := byID[id]; it != nil {
				it.res.RunID = run
			}
			gen = g
			return nil
		})
		return err
	}
	b.Queue(e.sql(`
		UPDATE {schema}.batch_runs r SET status = `+running+`, started_at = now(), worker = $3, lease_token = c.token,
		       price_generation = `+genSQL+`
		FROM unnest($1::uuid[], $2::uuid[]) c (id, token)
		WHERE r.portfolio_id = c.id AND r.status = `+portfolio.RunPending.Literal()+`
		RETURNING r.portfolio_id, r.id, coalesce(r.price_generation, -1)`), ids, tokens, e.cfg.Worker).Query(started)
	b.Queue(e.sql(`
		INSERT INTO {schema}.batch_runs (portfolio_id, id, trigger, status, started_at, worker, lease_token, price_generation)
		SELECT c.id, c.run, $4, `+running+`, now(), $5, c.token, `+genSQL+`
		FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) c (id, run, token)
		WHERE NOT EXISTS (SELECT 1 FROM {schema}.batch_runs WHERE portfolio_id = c.id AND status = `+running+`)
		RETURNING portfolio_id, id, coalesce(price_generation, -1)`),
		ids, newIDs, tokens, string(trigger), e.cfg.Worker).Query(started)
	b.Queue(e.sql(`
		SELECT p.id, p.starting_equity::float8, p.inception_date, s.snapshot_through, s.rewind_seq
		FROM {schema}.portfolios p JOIN {schema}.backfill_state s ON s.portfolio_id = p.id
		WHERE p.id = ANY($1) AND p.deleted_at IS NULL`), ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			p := &portfolioData{}
			if err := rows.Scan(&p.id, &p.startingEquity, &p.inception, &p.watermark, &p.rewindSeq); err != nil {
				return err
			}
			if it := byID[p.id]; it != nil {
				it.p = p
			}
		}
		return rows.Err()
	})
	b.Queue(e.sql(`SELECT portfolio_id, `+rollingStateColumnsSQL+` FROM {schema}.portfolio_rolling_state
		WHERE portfolio_id = ANY($1)`), ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var pid uuid.UUID
			rs, err := scanRollingState(rows, &pid)
			if err != nil {
				return err
			}
			if it := byID[pid]; it != nil && it.p != nil {
				it.p.rolling = rs
			}
		}
		return rows.Err()
	})
	b.Queue(e.sql(`
		SELECT portfolio_id, symbol, investment_class, is_cash, quantity::float8, entry_price::float8, entry_date,
		       exit_date, exit_price::float8, underlying_symbol, strike_price::float8, expiration_date,
		       option_type, multiplier, id
		FROM {schema}.positions WHERE portfolio_id = ANY($1) ORDER BY portfolio_id, id`), ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var pid uuid.UUID
			var s storedPosition
			var class string
			if err := rows.Scan(&pid, &s.symbol, &class, &s.isCash, &s.qty, &s.entryPrice, &s.entryDate, &s.exitDate,
				&s.exitPrice, &s.underlying, &s.strike, &s.expiration, &s.optionType, &s.multiplier, &s.id); err != nil {
				return err
			}
			s.class = portfolio.InvestmentClass(class)
			if it := byID[pid]; it != nil && it.p != nil {
				it.p.positions = append(it.p.positions, s)
			}
		}
		return rows.Err()
	})
	b.Queue(e.sql(`
		SELECT portfolio_id, flow_date, amount::float8 FROM {schema}.capital_flows
		WHERE portfolio_id = ANY($1) ORDER BY portfolio_id, flow_date, id`), ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var pid uuid.UUID
			var f flow
			if err := rows.Scan(&pid, &f.date, &f.amount); err != nil {
				return err
			}
			if it := byID[pid]; it != nil && it.p != nil {
				it.p.flows = append(it.p.flows, f)
			}
		}
		return rows.Err()
	})
	// The reference data is looked up by symbol only, so one map serves
	// every portfolio of the batch.
	var refs map[string]Symbol
	src, dbRefs := e.cfg.Symbols.(*DBSymbolSource)
	if dbRefs && !e.cfg.Analytics.Disabled {
		refs = map[string]Symbol{}
		b.Queue(src.byPortfolioSQL, ids).Query(func(rows pgx.Rows) error {
			_, err := scanSymbols(rows, refs)
			return err
		})
	}
	err := e.pool.SendBatch(ctx, b).Close()
	if err == nil && !dbRefs && !e.cfg.Analytics.Disabled {
		var all []storedPosition
		for _, it := range items {
			if it.p != nil {
				all = append(all, it.p.positions...)
			}
		}
		refs, err = e.cfg.Symbols.Symbols(ctx, referencedSymbols(all))
	}
	if err != nil {
		return fmt.Errorf("load portfolios: %w", err)
	}
	for _, it := range items {
		switch {
		case it.p == nil:
			it.err = fmt.Errorf("load portfolio %s: %w", it.claim.PortfolioID, portfolio.ErrNotFound)
		case it.res.RunID == uuid.Nil:
			it.err = fmt.Errorf("start run %s: %w", it.claim.PortfolioID, ErrLeaseLost)
		default:
			it.p.gen, it.p.refs = gen, refs
		}
	}
	return nil
}
