package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
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
			SELECT b.symbol, b.as_of_date, b.betas, b.observations, b.reasons
			FROM unnest($1::text[]) AS s (symbol)
			CROSS JOIN LATERAL (
			    SELECT * FROM {schema}.symbol_betas b
			    WHERE b.symbol = s.symbol AND b.config = $4 AND b.as_of_date BETWEEN $2 AND $3
			    ORDER BY b.as_of_date) b
			WHERE (SELECT generation FROM {schema}.price_generation) = $5`),
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
// generation is gen; partial names the symbols with rows on only some.
func (s *betaStore) load(ctx context.Context, gen int64, symbols []string, ax *axis, first, end int) (out map[string]*symbolBetas, partial map[string]bool, err error) {
	out, partial = map[string]*symbolBetas{}, map[string]bool{}
	if len(symbols) == 0 {
		return out, partial, nil
	}
	rows, err := s.pool.Query(ctx, s.loadSQL, symbols, ax.days[first], ax.days[end], s.config, gen)
	if err != nil {
		return nil, nil, fmt.Errorf("load symbol betas: %w", err)
	}
	var (
		sym, betas, obs string
		day             time.Time
		reasons         []*string
	)
	n := end - first + 1
	_, err = pgx.ForEachRow(rows, []any{&sym, &day, &betas, &obs, &reasons}, func() error {
		b := out[sym]
		if b == nil {
			b = &symbolBetas{first: first, vals: make([][]betaValue, 0, n)}
			out[sym] = b
		}
		if b.vals == nil || len(b.vals) >= n || !ax.days[first+len(b.vals)].Equal(day) {
			b.vals = nil // not the sessions asked for: compute instead
			return nil
		}
		row, ok := parseBetaRow(betas, obs, reasons, len(s.factors))
		if !ok {
			b.vals = nil
			return nil
		}
		b.vals = append(b.vals, row)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load symbol betas: %w", err)
	}
	for sym, b := range out {
		if len(b.vals) != n {
			delete(out, sym)
			partial[sym] = true
		}
	}
	return out, partial, nil
}

// save stores computed betas, each on its sessions of ax, unless the price
// generation is no longer gen, replacing the rows of the partial symbols
// (stored on some of the days). It returns the symbol-days stored.
func (s *betaStore) save(ctx context.Context, gen int64, ax *axis, computed map[string]*symbolBetas, partial map[string]bool) (int, error) {
	rows := 0
	syms := make([]string, 0, len(computed))
	lo, hi := -1, -1
	// In symbol order: concurrent writers (replicas computing the same
	// symbols) then meet in one order and never deadlock.
	order := make([]string, 0, len(computed))
	for sym, b := range computed {
		order = append(order, sym)
		rows += len(b.vals)
	}
	slices.Sort(order)
	// Room for every row at once: growing a buffer of megabytes step by
	// step costs more than formatting it.
	buf := make([]byte, 0, rows*(64+28*len(s.factors)))
	rows = 0
	for _, sym := range order {
		b := computed[sym]
		if len(b.vals) == 0 {
			continue
		}
		name := copyText(sym)
		if partial[sym] {
			syms = append(syms, sym)
		}
		if lo < 0 || b.first < lo {
			lo = b.first
		}
		hi = max(hi, b.first+len(b.vals)-1)
		for i, row := range b.vals {
			buf = appendBetaRow(buf, name, ax.days[b.first+i], s.config, row)
			rows++
		}
	}
	if rows == 0 {
		return 0, nil
	}
	stored := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var current int64
		b := &pgx.Batch{}
		// Storing never holds a backfill up: it waits at most briefly
		// for a lock (a peer writing the same rows, a price change), and
		// gives way instead (55P03, below).
		b.Queue(`SET LOCAL lock_timeout = '50ms'`)
		b.Queue(s.schema.SQL(`SELECT generation FROM {schema}.price_generation FOR SHARE NOWAIT`)).QueryRow(func(r pgx.Row) error {
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
		// The rows are the same whoever computes them: replace those
		// stored on some of the days (a peer storing the same rows
		// meanwhile makes the COPY fail, below).
		if len(syms) > 0 {
			if _, err := tx.Exec(ctx, s.schema.SQL(`DELETE FROM {schema}.symbol_betas
			WHERE symbol = ANY($1::text[]) AND as_of_date BETWEEN $2 AND $3 AND config = $4`),
				syms, ax.days[lo], ax.days[hi], s.config); err != nil {
				return err
			}
		}
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf), s.schema.SQL(
			`COPY {schema}.symbol_betas (symbol, as_of_date, config, betas, observations, reasons) FROM STDIN`)); err != nil {
			return err
		}
		stored = rows
		return nil
	})
	// Storing is an optimisation: it gives way to a peer that stored the
	// rows first (23505), and to a price change in progress, whose
	// transaction holds the generation (55P03, NOWAIT) or the rows it
	// deletes (40P01): these betas are about to be stale anyway.
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "55P03" || pgErr.Code == "40P01") {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store symbol betas: %w", err)
	}
	return stored, nil
}

// appendBetaRow appends one symbol_betas row in COPY text format (sym
// already escaped, copyText):
// betas and observations as comma-separated text (an empty item where a
// beta is not ok), and the reasons (NULL when every beta is ok).
func appendBetaRow(buf []byte, sym string, day time.Time, config int64, row []betaValue) []byte {
	buf = append(buf, sym...)
	buf = append(buf, '\t')
	buf = day.AppendFormat(buf, time.DateOnly)
	buf = append(buf, '\t')
	buf = strconv.AppendInt(buf, config, 10)
	buf = append(buf, '\t')
	allOK := true
	for k := range row {
		v := &row[k]
		if k > 0 {
			buf = append(buf, ',')
		}
		if v.ok && !math.IsNaN(v.value) && !math.IsInf(v.value, 0) {
			buf = strconv.AppendFloat(buf, v.value, 'g', -1, 64)
		} else {
			allOK = false
		}
	}
	buf = append(buf, '\t')
	for k := range row {
		if k > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(row[k].obs), 10)
	}
	buf = append(buf, '\t')
	if allOK {
		return append(buf, "\\N\n"...)
	}
	buf = append(buf, '{')
	for k := range row {
		v := &row[k]
		if k > 0 {
			buf = append(buf, ',')
		}
		if v.ok {
			buf = append(buf, "NULL"...)
		} else {
			buf = append(buf, copyText(`"`+arrayQuoter.Replace(v.reason)+`"`)...)
		}
	}
	return append(buf, "}\n"...)
}

// The escapes of an array item's quoted text and of a COPY text field,
// built once: a Replacer's first use builds its tables.
var (
	arrayQuoter = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	copyEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
)

// copyText escapes s for a COPY text field.
func copyText(s string) string {
	return copyEscaper.Replace(s)
}

// parseBetaRow reads a stored row's betas and observations; ok is false
// when they do not have n items each.
func parseBetaRow(betas, obs string, reasons []*string, n int) ([]betaValue, bool) {
	bs, os := strings.Split(betas, ","), strings.Split(obs, ",")
	if len(bs) != n || len(os) != n {
		return nil, false
	}
	row := make([]betaValue, n)
	for k := range row {
		o, err := strconv.Atoi(os[k])
		if err != nil {
			return nil, false
		}
		row[k].obs = o
		if bs[k] == "" {
			if k < len(reasons) && reasons[k] != nil {
				row[k].reason = *reasons[k]
			}
			continue
		}
		if row[k].value, err = strconv.ParseFloat(bs[k], 64); err != nil {
			return nil, false
		}
		row[k].ok = true
	}
	return row, true
}

// storedBetas reads the stored betas of the public holdings' symbols on
// [first, end] that the engine's memory does not hold.
func (e *Engine) storedBetas(ctx context.Context, epoch, gen int64, ax *axis, hs []holding, first, end int) (map[string]*symbolBetas, map[string]bool, error) {
	if e.store == nil {
		return nil, nil, nil
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
