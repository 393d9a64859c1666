package batch

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/portfolio"
)

// BetaStats counts where a backfill's symbol betas came from, in
// symbol-days (one symbol's factor betas on one day).
type BetaStats struct {
	// Loaded were read from symbol_factor_betas, computed earlier by this
	// or another process under the same prices.
	Loaded int `json:"loaded"`
	// Computed were computed by this backfill; Stored of them were
	// written to symbol_factor_betas (none when prices changed meanwhile).
	Computed int `json:"computed"`
	Stored   int `json:"stored"`
	// Shared were computed or loaded by another backfill of the same
	// engine and shared in memory.
	Shared int `json:"shared"`
}

// betaStore persists symbol betas in symbol_betas (read through the view
// symbol_factor_betas), one row per symbol, day and analytics
// configuration.
//
// The rule that keeps stored betas true to the prices: a row is written
// only in a transaction that first reads price_generation FOR SHARE and
// finds the generation the betas were computed under (else nothing is
// written), and rows are read only by a statement that finds the
// generation of the prices the reader uses. A price change bumps the
// generation in its own transaction, where the corrections delete the
// rows it affects; so a reader never sees a row computed under prices
// older than its own, and a writer never stores betas of prices changed
// since.
type betaStore struct {
	pool    *pgxpool.Pool
	schema  portfolio.Schema
	config  int64
	factors []string
	// proxies are the factors' instruments; a row's betas depend on its
	// symbol and these.
	proxies []string
	loadSQL string
}

// newBetaStore returns the engine's store, or nil when betas are not
// persisted: analytics off, EphemeralBetas, or prices not from the
// database (whose generation the rows are checked against).
func newBetaStore(pool *pgxpool.Pool, cfg *Config) *betaStore {
	if pool == nil || cfg.Analytics.Disabled || cfg.Analytics.EphemeralBetas {
		return nil
	}
	if _, ok := cfg.Prices.(*DBPriceSource); !ok {
		return nil
	}
	return &betaStore{
		pool: pool, schema: cfg.Schema, config: analyticsHash(&cfg.Analytics), factors: cfg.Analytics.Factors(),
		proxies: cfg.Analytics.Proxies(),
		loadSQL: cfg.Schema.SQL(`
			SELECT symbol, as_of_date, betas, observations, reasons FROM {schema}.symbol_betas
			WHERE symbol = ANY($1::text[]) AND as_of_date BETWEEN $2 AND $3 AND config = $4
			  AND (SELECT generation FROM {schema}.price_generation) = $5
			ORDER BY symbol, as_of_date`),
	}
}

// analyticsHash identifies the analytics configuration that betas depend
// on: proxies, factors, windows, minimums, caps and the ridge penalty.
func analyticsHash(c *AnalyticsConfig) int64 {
	o := c.filled()
	h := fnv.New64a()
	fmt.Fprintf(h, "%q %q %v %v %d %d %g %d %d %g %d %d %g", o.Market, o.Rates, o.Style, o.Spreads,
		o.BetaWindow, o.BetaMinObs, o.BetaCap, o.StyleWindow, o.StyleMinObs, o.RidgeAlpha,
		o.SpreadWindow, o.SpreadMinObs, o.SpreadCap)
	return int64(h.Sum64() &^ (1 << 63))
}

// load returns the stored betas of symbols on sessions [first, end] of ax,
// for the symbols stored on every one of those days, while the price
// generation is gen.
func (s *betaStore) load(ctx context.Context, gen int64, symbols []string, ax *axis, first, end int) (map[string]*symbolBetas, error) {
	out := map[string]*symbolBetas{}
	if len(symbols) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, s.loadSQL, symbols, ax.days[first], ax.days[end], s.config, gen)
	if err != nil {
		return nil, fmt.Errorf("load symbol betas: %w", err)
	}
	var (
		sym     string
		day     time.Time
		betas   []*float64
		obs     []int32
		reasons []*string
	)
	n := end - first + 1
	_, err = pgx.ForEachRow(rows, []any{&sym, &day, &betas, &obs, &reasons}, func() error {
		b := out[sym]
		if b == nil {
			b = &symbolBetas{first: first, vals: make([][]betaValue, 0, n)}
			out[sym] = b
		}
		if len(b.vals) >= n || !ax.days[first+len(b.vals)].Equal(day) || len(betas) != len(s.factors) || len(obs) != len(betas) {
			b.vals = nil // not the sessions asked for: compute instead
			return nil
		}
		row := make([]betaValue, len(betas))
		for k := range betas {
			row[k].obs = int(obs[k])
			if betas[k] != nil {
				row[k].value, row[k].ok = *betas[k], true
			} else if k < len(reasons) && reasons[k] != nil {
				row[k].reason = *reasons[k]
			}
		}
		b.vals = append(b.vals, row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load symbol betas: %w", err)
	}
	for sym, b := range out {
		if len(b.vals) != n {
			delete(out, sym)
		}
	}
	return out, nil
}

// save stores computed betas, each on its sessions of ax, unless the price
// generation is no longer gen. It returns the symbol-days stored.
func (s *betaStore) save(ctx context.Context, gen int64, ax *axis, computed map[string]*symbolBetas) (int, error) {
	var rows [][]any
	syms := make([]string, 0, len(computed))
	lo, hi := -1, -1
	for sym, b := range computed {
		if len(b.vals) == 0 {
			continue
		}
		syms = append(syms, sym)
		if lo < 0 || b.first < lo {
			lo = b.first
		}
		hi = max(hi, b.first+len(b.vals)-1)
		for i, row := range b.vals {
			rows = append(rows, betaRow(sym, ax.days[b.first+i], s.config, row))
		}
	}
	if len(rows) == 0 {
		return 0, nil
	}
	stored := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var current int64
		b := &pgx.Batch{}
		b.Queue(s.schema.SQL(`SELECT generation FROM {schema}.price_generation FOR SHARE`)).QueryRow(func(r pgx.Row) error {
			return r.Scan(&current)
		})
		b.Queue(s.schema.SQL(`INSERT INTO {schema}.symbol_beta_configs (config, factors, depends_on)
			VALUES ($1, $2, $3) ON CONFLICT (config) DO NOTHING`), s.config, s.factors, s.proxies)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if current != gen {
			return nil // prices changed since: these betas may be stale
		}
		// The rows are the same whoever computes them: replace any stored.
		if _, err := tx.Exec(ctx, s.schema.SQL(`DELETE FROM {schema}.symbol_betas
			WHERE symbol = ANY($1::text[]) AND as_of_date BETWEEN $2 AND $3 AND config = $4`),
			syms, ax.days[lo], ax.days[hi], s.config); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema.Name(), "symbol_betas"},
			[]string{"symbol", "as_of_date", "config", "betas", "observations", "reasons"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		stored = len(rows)
		return nil
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return 0, nil // a peer stored the same rows first
	}
	if err != nil {
		return 0, fmt.Errorf("store symbol betas: %w", err)
	}
	return stored, nil
}

// betaRow is one symbol_betas row for COPY: NULL betas where not ok, and
// their reasons (NULL when every beta is ok).
func betaRow(sym string, day time.Time, config int64, row []betaValue) []any {
	betas := make([]*float64, len(row))
	obs := make([]int32, len(row))
	var reasons []*string
	for k := range row {
		v := &row[k]
		obs[k] = int32(v.obs)
		if v.ok && !math.IsNaN(v.value) && !math.IsInf(v.value, 0) {
			betas[k] = &v.value
			continue
		}
		if reasons == nil {
			reasons = make([]*string, len(row))
		}
		reasons[k] = &v.reason
	}
	return []any{sym, day, config, betas, obs, reasons}
}

// storedBetas reads the stored betas of the public holdings' symbols on
// [first, end] that the engine's memory does not hold.
func (e *Engine) storedBetas(ctx context.Context, epoch, gen int64, ax *axis, hs []holding, first, end int) (map[string]*symbolBetas, error) {
	if e.store == nil {
		return nil, nil
	}
	var missing []string
	seen := map[string]bool{}
	for i := range hs {
		h := &hs[i]
		if h.kind != kindPublic || h.own == nil || seen[h.symbol] {
			continue
		}
		seen[h.symbol] = true
		if !e.betas.covers(epoch, h.symbol, ax, first, end) {
			missing = append(missing, h.symbol)
		}
	}
	return e.store.load(ctx, gen, missing, ax, first, end)
}

// covers reports whether the cache holds (or is computing) the symbol's
// betas on sessions [first, end] of ax for a caller loading under epoch.
func (c *betaCache) covers(epoch int64, sym string, ax *axis, first, end int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	en := c.m[sym]
	if epoch != c.epoch || en == nil {
		return false
	}
	select {
	case <-en.ready:
		_, ok := en.slice(ax, first, end)
		return ok
	default:
		return true
	}
}
