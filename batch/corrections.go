package batch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
)

// PriceChange is one recorded change of stored closes: Symbol's closes
// changed (inserted, updated or deleted) on From and possibly later days.
type PriceChange struct {
	ID     int64
	Symbol string
	From   time.Time
	// Generation is the price generation the change created (0: unknown).
	Generation int64
}

// PriceChangeLog is implemented by a PriceSource that can tell which
// symbols changed since a point, so that caches drop exactly those. A
// source without it makes every generation change drop whole caches.
type PriceChangeLog interface {
	// PriceChanges returns the changes numbered after after, in order, and
	// the number of the last one (after, when there are none). complete is
	// false when changes after after may have been forgotten: the caller
	// must then assume that every close changed.
	PriceChanges(ctx context.Context, after int64) (changes []PriceChange, last int64, complete bool, err error)
}

var _ PriceChangeLog = (*DBPriceSource)(nil)

// PriceChanges implements PriceChangeLog on the price_changes table, which
// a trigger on market_prices fills in the transaction of every change.
func (s *DBPriceSource) PriceChanges(ctx context.Context, after int64) ([]PriceChange, int64, bool, error) {
	var pruned int64
	if err := s.db.QueryRow(ctx, s.prunedSQL).Scan(&pruned); err != nil {
		return nil, after, false, fmt.Errorf("read price changes: %w", err)
	}
	rows, err := s.db.Query(ctx, s.changesSQL, after)
	if err != nil {
		return nil, after, false, fmt.Errorf("read price changes: %w", err)
	}
	changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PriceChange, error) {
		var c PriceChange
		return c, r.Scan(&c.ID, &c.Symbol, &c.From, &c.Generation)
	})
	if err != nil {
		return nil, after, false, fmt.Errorf("read price changes: %w", err)
	}
	last := after
	if len(changes) > 0 {
		last = changes[len(changes)-1].ID
	}
	return changes, last, after >= pruned, nil
}

// syncCaches brings the engine's caches to the price generation gen: it
// drops the cached closes, series and betas of exactly the symbols (and
// days) that changed since the caches' generation, or everything when the
// source cannot tell. It returns the cache epoch the caller loads under:
// an entry computed under an older epoch is not stored, so data read before
// a change can never enter a cache after the change was synced.
func (e *Engine) syncCaches(ctx context.Context, gen int64) (int64, error) {
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	if gen <= e.syncedGen {
		// The caches are at least as new as gen.
		return e.epoch.Load(), nil
	}
	var (
		changed  map[string]time.Time // symbol → first changed day; nil: all
		everyone time.Time            // first changed day of a factor instrument
	)
	if log, ok := e.cfg.Prices.(PriceChangeLog); ok {
		changes, last, complete, err := log.PriceChanges(ctx, e.changeID)
		if err != nil {
			return 0, err
		}
		if complete || e.syncedGen < 0 {
			changed = map[string]time.Time{}
			for _, c := range changes {
				if d, ok := changed[c.Symbol]; !ok || c.From.Before(d) {
					changed[c.Symbol] = c.From
				}
				if e.movesEveryone(c.Symbol) && (everyone.IsZero() || c.From.Before(everyone)) {
					everyone = c.From
				}
			}
		}
		e.changeID = last
	}
	epoch := e.epoch.Add(1)
	if e.syncedGen >= 0 || changed == nil {
		e.prices.invalidate(epoch, changed)
		e.series.invalidate(epoch, changed)
		e.betas.invalidate(epoch, changed, everyone)
	} else {
		// The first sync: the caches are empty, only their epoch moves.
		e.prices.invalidate(epoch, map[string]time.Time{})
		e.series.invalidate(epoch, map[string]time.Time{})
		e.betas.invalidate(epoch, map[string]time.Time{}, time.Time{})
	}
	e.syncedGen = gen
	return epoch, nil
}

// movesEveryone reports whether a change of sym's closes changes every
// portfolio's days: the benchmark and the factor instruments do.
func (e *Engine) movesEveryone(sym string) bool {
	if sym == e.cfg.Benchmark {
		return true
	}
	return !e.cfg.Analytics.Disabled && slices.Contains(e.cfg.Analytics.Proxies(), sym)
}

// Defaults of ApplyOpts.
const (
	DefaultApplyBatch       = 10_000
	DefaultChangesRetention = time.Hour
)

// ApplyOpts are the options of ApplyPriceChanges.
type ApplyOpts struct {
	// NotifyChannel is notified when portfolios were rewound. Default
	// portfolio.DefaultNotifyChannel.
	NotifyChannel string
	// Batch is how many recorded changes one transaction takes. Default
	// DefaultApplyBatch.
	Batch int
	// Retention is how long processed changes are kept for other engines'
	// caches. Default DefaultChangesRetention (1 h); an engine that has not
	// looked for longer drops its whole caches.
	Retention time.Duration
}

// Applied counts what ApplyPriceChanges did.
type Applied struct {
	// Changes is the number of recorded changes processed.
	Changes int `json:"changes"`
	// Symbols is the number of distinct symbols they named.
	Symbols int `json:"symbols"`
	// Rewound is the number of portfolio rewinds (a portfolio rewound by
	// two batches counts twice).
	Rewound int `json:"rewound"`
}

// ApplyPriceChanges turns the recorded price changes into rewinds: every
// live portfolio holding a changed symbol (or any portfolio, for the
// benchmark and the factor instruments) with a stored day on or after the
// change, or a backfill possibly running, gets its watermark set back to
// the session before the change, a pending run with trigger
// price_correction, and a notification. Changes are taken with SKIP
// LOCKED, so replicas share the work, and marked processed in the same
// transaction as the rewinds they cause. The reconciler calls it before
// every sweep.
func (e *Engine) ApplyPriceChanges(ctx context.Context, opts *ApplyOpts) (Applied, error) {
	var o ApplyOpts
	if opts != nil {
		o = *opts
	}
	o.Batch = max(o.Batch, 0)
	if o.Batch == 0 {
		o.Batch = DefaultApplyBatch
	}
	if o.Retention <= 0 {
		o.Retention = DefaultChangesRetention
	}
	client, err := portfolio.NewClient(e.pool, &portfolio.Config{Schema: e.cfg.Schema, NotifyChannel: o.NotifyChannel, Now: e.cfg.Now})
	if err != nil {
		return Applied{}, err
	}
	var total Applied
	for {
		var got int
		err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, e.sql(`
				UPDATE {schema}.price_changes SET processed_at = now()
				WHERE id = ANY(ARRAY(
					SELECT id FROM {schema}.price_changes WHERE processed_at IS NULL
					ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED))
				RETURNING symbol, from_date, generation`), o.Batch)
			if err != nil {
				return fmt.Errorf("take price changes: %w", err)
			}
			changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PriceChange, error) {
				var c PriceChange
				return c, r.Scan(&c.Symbol, &c.From, &c.Generation)
			})
			if err != nil {
				return fmt.Errorf("take price changes: %w", err)
			}
			got = len(changes)
			rewinds := e.rewindsFor(changes)
			n, err := client.RewindHoldersTx(ctx, tx, rewinds, portfolio.TriggerPriceCorrection)
			if err != nil {
				return err
			}
			total.Changes += got
			total.Symbols += len(rewinds)
			total.Rewound += n
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("apply price changes: %w", err)
		}
		if got < o.Batch {
			break
		}
	}
	if total.Changes == 0 {
		return total, nil // the common sweep: nothing recorded, nothing to prune
	}
	// Forget changes every engine has had time to see. Only after new ones
	// were processed: the table grows only then, and sweeps stay one query.
	if _, err := e.pool.Exec(ctx, e.sql(`
		WITH gone AS (
			DELETE FROM {schema}.price_changes WHERE processed_at < now() - make_interval(secs => $1)
			RETURNING id)
		UPDATE {schema}.price_generation SET pruned_through = (SELECT max(id) FROM gone)
		WHERE EXISTS (SELECT 1 FROM gone) AND pruned_through < (SELECT max(id) FROM gone)`),
		o.Retention.Seconds()); err != nil {
		return total, fmt.Errorf("prune price changes: %w", err)
	}
	e.cfg.Logger.InfoContext(ctx, "price changes applied", "changes", total.Changes, "symbols", total.Symbols, "rewound", total.Rewound)
	return total, nil
}

// rewindsFor coalesces changes into one rewind per symbol, from its
// earliest changed day back to the session before it, at the latest
// generation among them (a backfill that saw that one saw them all).
func (e *Engine) rewindsFor(changes []PriceChange) []portfolio.SymbolRewind {
	bySym := map[string]*portfolio.SymbolRewind{}
	var order []string
	for _, c := range changes {
		r, ok := bySym[c.Symbol]
		if !ok {
			order = append(order, c.Symbol)
			r = &portfolio.SymbolRewind{Symbol: c.Symbol, From: c.From, Everyone: e.movesEveryone(c.Symbol)}
			bySym[c.Symbol] = r
		}
		if c.From.Before(r.From) {
			r.From = c.From
		}
		r.Generation = max(r.Generation, c.Generation)
	}
	out := make([]portfolio.SymbolRewind, 0, len(order))
	for _, sym := range order {
		r := *bySym[sym]
		r.Through = PrevSession(e.cfg.Calendar, r.From)
		out = append(out, r)
	}
	return out
}
