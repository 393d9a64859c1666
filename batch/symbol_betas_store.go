package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
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
	// dependsOn is the COPY text of the factors' instruments; a row's
	// depends_on is its symbol and these.
	dependsOn string
	loadSQL   string
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
	var deps strings.Builder
	for _, p := range cfg.Analytics.Proxies() {
		deps.WriteString("," + copyArrayElem(p))
	}
	return &betaStore{
		pool: pool, schema: cfg.Schema, config: analyticsHash(&cfg.Analytics), factors: cfg.Analytics.Factors(),
		dependsOn: deps.String(),
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
	var buf []byte
	syms := make([]string, 0, len(computed))
	lo, hi := -1, -1
	at := time.Now().UTC().Format("2006-01-02 15:04:05.999999Z07:00")
	factors := s.factorsText()
	days := 0
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
			buf = appendBetaRow(buf, sym, ax.days[b.first+i], s.config, factors, s.dependsOn, row, at)
			days++
		}
	}
	if days == 0 {
		return 0, nil
	}
	stored := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var current int64
		if err := tx.QueryRow(ctx, s.schema.SQL(`SELECT generation FROM {schema}.price_generation FOR SHARE`)).Scan(&current); err != nil {
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
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf), s.schema.SQL(
			`COPY {schema}.symbol_betas (symbol, as_of_date, config, factors, betas, observations, reasons, depends_on, computed_at) FROM STDIN`)); err != nil {
			return err
		}
		stored = days
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

// factorsText is the factors as an array literal in COPY text.
func (s *betaStore) factorsText() string {
	q := make([]string, len(s.factors))
	for i, f := range s.factors {
		q[i] = copyArrayElem(f)
	}
	return "{" + strings.Join(q, ",") + "}"
}

// appendBetaRow appends one symbol_betas row in COPY text format.
func appendBetaRow(buf []byte, sym string, day time.Time, config int64, factors, dependsOn string, row []betaValue, at string) []byte {
	buf = append(buf, copyText(sym)...)
	buf = append(buf, '\t')
	buf = day.AppendFormat(buf, time.DateOnly)
	buf = append(buf, '\t')
	buf = strconv.AppendInt(buf, config, 10)
	buf = append(buf, '\t')
	buf = append(buf, factors...)
	buf = append(buf, "\t{"...)
	allOK := true
	for k, v := range row {
		if k > 0 {
			buf = append(buf, ',')
		}
		if v.ok && !math.IsNaN(v.value) && !math.IsInf(v.value, 0) {
			buf = strconv.AppendFloat(buf, v.value, 'g', -1, 64)
		} else {
			buf = append(buf, "NULL"...)
			allOK = false
		}
	}
	buf = append(buf, "}\t{"...)
	for k, v := range row {
		if k > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(v.obs), 10)
	}
	buf = append(buf, "}\t"...)
	if allOK {
		buf = append(buf, `\N`...)
	} else {
		buf = append(buf, '{')
		for k, v := range row {
			if k > 0 {
				buf = append(buf, ',')
			}
			if v.ok {
				buf = append(buf, "NULL"...)
			} else {
				buf = append(buf, copyArrayElem(v.reason)...)
			}
		}
		buf = append(buf, '}')
	}
	buf = append(buf, "\t{"...)
	buf = append(buf, copyArrayElem(sym)...)
	buf = append(buf, dependsOn...)
	buf = append(buf, "}\t"...)
	buf = append(buf, at...)
	return append(buf, '\n')
}

// copyArrayElem quotes s as an array element inside a COPY text field.
func copyArrayElem(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
	return copyText(`"` + s + `"`)
}

// copyText escapes s for a COPY text field.
func copyText(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(s)
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
