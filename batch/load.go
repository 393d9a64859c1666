package batch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
)

// batcher sends batches; *pgxpool.Pool and pgx.Tx satisfy it.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// storedPosition is a position as the engine reads it.
type storedPosition struct {
	id         uuid.UUID
	symbol     string
	class      portfolio.InvestmentClass
	isCash     bool
	qty        float64
	entryPrice float64
	entryDate  time.Time
	exitDate   *time.Time
	exitPrice  *float64
	underlying *string
	strike     *float64
	expiration *time.Time
	optionType *string
	multiplier int
}

// flow is one capital flow.
type flow struct {
	date   time.Time
	amount float64
}

// portfolioData is everything the engine needs of one portfolio.
type portfolioData struct {
	id uuid.UUID
	// gen is the price generation read with the portfolio, when the
	// engine's price source is the database's; -1 otherwise.
	gen            int64
	startingEquity float64
	inception      time.Time
	watermark      *time.Time
	// rewindSeq counts the portfolio's rewinds; a backfill moves the
	// watermark only while it is unchanged.
	rewindSeq int64
	positions []storedPosition
	flows     []flow
	// refs is the reference data of the positions' symbols and
	// underlyings (analytics on), by upper-case symbol.
	refs map[string]Symbol
	// rolling is the stored rolling state, nil when none.
	rolling *rollingState
}

// loadPortfolio reads a live portfolio, its positions, flows and
// watermark in one round trip's worth of queries. With the default price
// source the price generation travels in the same round trip, and when
// runID names the run loading it, the generation is recorded on the run:
// a price change of a later generation may not have been seen by it (see
// portfolio.SymbolRewind).
func (e *Engine) loadPortfolio(ctx context.Context, q batcher, id, runID uuid.UUID) (*portfolioData, error) {
	p := &portfolioData{id: id, gen: -1}
	b := &pgx.Batch{}
	if src, ok := e.cfg.Prices.(*DBPriceSource); ok {
		if runID == uuid.Nil {
			b.Queue(src.generationSQL).QueryRow(func(r pgx.Row) error { return r.Scan(&p.gen) })
		} else {
			// FOR SHARE: a price change bumps the generation with a row
			// lock, so either it waits for this batch to commit (and its
			// rewinds then see the generation recorded here) or this read
			// waits for it and sees its generation.
			b.Queue(e.sql(`
				UPDATE {schema}.batch_runs
				SET price_generation = (SELECT generation FROM {schema}.price_generation FOR SHARE)
				WHERE portfolio_id = $1 AND id = $2 RETURNING price_generation`), id, runID).
				QueryRow(func(r pgx.Row) error { return r.Scan(&p.gen) })
		}
	}
	b.Queue(e.sql(`
		SELECT p.starting_equity::float8, p.inception_date, s.snapshot_through, s.rewind_seq
		FROM {schema}.portfolios p JOIN {schema}.backfill_state s ON s.portfolio_id = p.id
		WHERE p.id = $1 AND p.deleted_at IS NULL`), id).QueryRow(func(r pgx.Row) error {
		return r.Scan(&p.startingEquity, &p.inception, &p.watermark, &p.rewindSeq)
	})
	b.Queue(e.sql(`
		SELECT symbol, investment_class, is_cash, quantity::float8, entry_price::float8, entry_date,
		       exit_date, exit_price::float8, underlying_symbol, strike_price::float8, expiration_date,
		       option_type, multiplier, id
		FROM {schema}.positions WHERE portfolio_id = $1 ORDER BY id`), id).Query(func(rows pgx.Rows) error {
		var err error
		p.positions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (storedPosition, error) {
			var s storedPosition
			var class string
			err := r.Scan(&s.symbol, &class, &s.isCash, &s.qty, &s.entryPrice, &s.entryDate, &s.exitDate,
				&s.exitPrice, &s.underlying, &s.strike, &s.expiration, &s.optionType, &s.multiplier, &s.id)
			s.class = portfolio.InvestmentClass(class)
			return s, err
		})
		return err
	})
	b.Queue(e.sql(`
		SELECT flow_date, amount::float8 FROM {schema}.capital_flows WHERE portfolio_id = $1 ORDER BY flow_date, id`), id).
		Query(func(rows pgx.Rows) error {
			var err error
			p.flows, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (flow, error) {
				var f flow
				return f, r.Scan(&f.date, &f.amount)
			})
			return err
		})
	b.Queue(e.sql(`SELECT `+rollingStateColumnsSQL+` FROM {schema}.portfolio_rolling_state WHERE portfolio_id = $1`), id).
		Query(func(rows pgx.Rows) error {
			var err error
			for rows.Next() && err == nil {
				p.rolling, err = scanRollingState(rows)
			}
			return errors.Join(err, rows.Err())
		})
	// The default symbol source's rows travel in the same round trip too.
	src, dbRefs := e.cfg.Symbols.(*DBSymbolSource)
	if dbRefs && !e.cfg.Analytics.Disabled {
		p.refs = map[string]Symbol{}
		b.Queue(src.byPortfolioSQL, []uuid.UUID{id}).Query(func(rows pgx.Rows) error {
			_, err := scanSymbols(rows, p.refs)
			return err
		})
	}
	err := q.SendBatch(ctx, b).Close()
	if err == nil && !dbRefs && !e.cfg.Analytics.Disabled {
		p.refs, err = e.cfg.Symbols.Symbols(ctx, referencedSymbols(p.positions))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("load portfolio %s: %w", id, portfolio.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load portfolio %s: %w", id, err)
	}
	return p, nil
}

// loadChain reads the state carried into the day after date from that
// day's snapshot.
func (e *Engine) loadChain(ctx context.Context, q portfolio.Querier, id uuid.UUID, date time.Time) (chain, error) {
	st := chain{started: true}
	err := q.QueryRow(ctx, e.sql(`
		SELECT nav::float8, cumulative_pnl::float8, return_index, coalesce(max_drawdown, 0),
		       (SELECT max(return_index) FROM {schema}.portfolio_snapshots
		        WHERE portfolio_id = $1 AND snapshot_date <= $2)
		FROM {schema}.portfolio_snapshots WHERE portfolio_id = $1 AND snapshot_date = $2`), id, date).
		Scan(&st.nav, &st.cumPnL, &st.index, &st.maxDrawdown, &st.peak)
	if err != nil {
		return st, fmt.Errorf("load snapshot %s on %s: %w", id, date.Format(time.DateOnly), err)
	}
	return st, nil
}
