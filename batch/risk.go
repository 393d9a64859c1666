package batch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// layer lays closes on an axis on demand, one series per symbol.
type layer struct {
	ax     *axis
	closes map[string][]Close
	built  map[string]*series
}

func newLayer(ax *axis, closes map[string][]Close) *layer {
	return &layer{ax: ax, closes: closes, built: map[string]*series{}}
}

// of returns the symbol's series, nil when it has no close at all.
func (l *layer) of(sym string) *series {
	if s, ok := l.built[sym]; ok {
		return s
	}
	var s *series
	if c, ok := l.closes[sym]; ok {
		s = newSeries(l.ax, c)
	}
	l.built[sym] = s
	return s
}

// betaCache computes each symbol's betas for a day once per engine and
// shares them between every portfolio holding the symbol, until prices
// change.
type betaCache struct {
	mu  sync.Mutex
	gen int64
	m   map[string]*betaEntry
}

type betaEntry struct {
	ready chan struct{} // closed once days and vals are set
	days  []time.Time
	vals  [][]betaValue
}

func newBetaCache() *betaCache { return &betaCache{gen: -1, m: map[string]*betaEntry{}} }

// rows returns the symbol's betas on sessions [first, end] of ax, computing
// them with compute unless an earlier computation covers those days.
// Concurrent callers for one symbol wait for a single computation.
func (c *betaCache) rows(gen int64, sym string, ax *axis, first, end int, compute func() *symbolBetas) [][]betaValue {
	for {
		c.mu.Lock()
		if gen != c.gen {
			c.m, c.gen = map[string]*betaEntry{}, gen
		}
		en := c.m[sym]
		done := false
		if en != nil {
			select {
			case <-en.ready:
				done = true
			default:
			}
		}
		if en == nil || (done && en.slice(ax, first, end) == nil) {
			en = &betaEntry{ready: make(chan struct{})}
			c.m[sym] = en
			c.mu.Unlock()
			b := compute()
			en.days, en.vals = ax.days[first:end+1], b.vals
			close(en.ready)
			return en.vals
		}
		c.mu.Unlock()
		<-en.ready
		if rows := en.slice(ax, first, end); rows != nil {
			return rows
		}
	}
}

// slice returns the entry's betas for sessions [first, end] of ax, nil
// when it does not cover them.
func (en *betaEntry) slice(ax *axis, first, end int) [][]betaValue {
	if len(en.days) == 0 {
		return nil
	}
	i, ok := slices.BinarySearchFunc(en.days, ax.days[first], func(a, b time.Time) int { return a.Compare(b) })
	n := end - first + 1
	if !ok || i+n > len(en.days) || !en.days[i+n-1].Equal(ax.days[end]) {
		return nil
	}
	return en.vals[i : i+n]
}

// exposures accumulates, per day and factor, Σ market value × beta over
// the holdings whose beta is available.
type exposures struct {
	nf           int
	dollars      []float64 // [day*nf + factor]
	covered      []int32
	coveredGross []float64
	excluded     []int32 // per day: holdings without betas by nature
}

func newExposures(days, nf int) *exposures {
	return &exposures{nf: nf, dollars: make([]float64, days*nf), covered: make([]int32, days*nf),
		coveredGross: make([]float64, days*nf), excluded: make([]int32, days)}
}

// add counts holding h's market value mv on day row.
func (x *exposures) add(h *holding, row int, mv float64, flag priceFlag) {
	if h.kind != kindPublic || flag == priceUnpriced || h.betas == nil {
		x.excluded[row]++
		return
	}
	base := row * x.nf
	for k, b := range h.betas[row] {
		if b.ok {
			x.dollars[base+k] += mv * b.value
			x.covered[base+k]++
			x.coveredGross[base+k] += math.Abs(mv)
		}
	}
}

// warnings aggregates warnings by code, symbol and message into date
// ranges, in first-seen order.
type warnings struct {
	order []warnKey
	spans map[warnKey][2]time.Time
}

type warnKey struct{ code, symbol, message string }

func (w *warnings) add(code, symbol, message string, d time.Time) {
	if w.spans == nil {
		w.spans = map[warnKey][2]time.Time{}
	}
	k := warnKey{code, symbol, message}
	s, ok := w.spans[k]
	if !ok {
		w.order = append(w.order, k)
		s = [2]time.Time{d, d}
	}
	if d.Before(s[0]) {
		s[0] = d
	}
	if d.After(s[1]) {
		s[1] = d
	}
	w.spans[k] = s
}

func (w *warnings) list() []Warning {
	out := make([]Warning, 0, len(w.order))
	for _, k := range w.order {
		s := w.spans[k]
		out = append(out, Warning{Code: k.code, Symbol: k.symbol, Message: k.message,
			From: s[0].Format(time.DateOnly), To: s[1].Format(time.DateOnly)})
	}
	return out
}

// Warning codes of the analytics.
const (
	WarnBetaUnavailable     = "beta_unavailable"
	WarnExposureUnavailable = "exposure_unavailable"
	WarnRiskUnavailable     = "risk_unavailable"
)

// reasonClass drops the numbers of a reason ("too few observations (12 <
// 30)" → "too few observations") so that one warning covers a stretch.
func reasonClass(r string) string {
	if i := strings.Index(r, " ("); i > 0 {
		return r[:i]
	}
	return r
}

// attachBetas gives every public holding its symbol's betas on [first,
// end], from the engine's cache, and records why betas are missing.
func (e *Engine) attachBetas(gen int64, lay *layer, hs []holding, first, end int, w *warnings) {
	cfg := &e.cfg.Analytics
	proxies := map[string]*series{}
	for _, p := range cfg.Proxies() {
		proxies[p] = lay.of(p)
	}
	factors := cfg.Factors()
	bySymbol := map[string][][]betaValue{}
	for i := range hs {
		h := &hs[i]
		if h.kind != kindPublic || h.own == nil {
			continue
		}
		rows, ok := bySymbol[h.symbol]
		if !ok {
			rows = e.betas.rows(gen, h.symbol, lay.ax, first, end, func() *symbolBetas {
				return computeSymbolBetas(cfg, h.own, proxies, first, end)
			})
			bySymbol[h.symbol] = rows
			for d, row := range rows {
				for k, b := range row {
					if !b.ok {
						w.add(WarnBetaUnavailable, "", factors[k]+" unavailable for some holdings: "+reasonClass(b.reason), lay.ax.days[first+d])
					}
				}
			}
		}
		h.betas = rows
	}
}

// riskColumns fills the days' volatility and realized beta from the
// portfolio's daily returns (earlier ones from history, by date) and the
// benchmark's.
func (e *Engine) riskColumns(ax *axis, first int, days []day, history map[time.Time]float64, bench *series, w *warnings) {
	cfg := &e.cfg.Analytics
	end := first + len(days) - 1
	lo := max(0, first-max(cfg.VolLongWindow, cfg.RealizedBetaWindow))
	port := make([]float64, end+1)
	for i := range port {
		port[i] = math.NaN()
	}
	for i := lo; i < first; i++ {
		if r, ok := history[ax.days[i]]; ok {
			port[i] = r
		}
	}
	for k := range days {
		if days[k].hasRet {
			port[first+k] = days[k].ret
		}
	}
	benchRet := dailyReturns(bench, lo, end)
	window := func(d, n int) []float64 {
		var out []float64
		for i := max(0, d-n+1); i <= d; i++ {
			if !math.IsNaN(port[i]) {
				out = append(out, port[i])
			}
		}
		return out
	}
	var pb, bb []float64
	for k := range days {
		d := first + k
		day := &days[k]
		date := ax.days[d]
		if v, ok := volatility(window(d, cfg.VolShortWindow), cfg.VolShortWindow); ok {
			day.vol21, day.hasVol21 = v, true
		} else {
			w.add(WarnRiskUnavailable, "", fmt.Sprintf("volatility_21d: fewer than %d daily returns in the window", cfg.VolShortWindow), date)
		}
		if v, ok := volatility(window(d, cfg.VolLongWindow), cfg.VolLongWindow); ok {
			day.vol63, day.hasVol63 = v, true
		} else {
			w.add(WarnRiskUnavailable, "", fmt.Sprintf("volatility_63d: fewer than %d daily returns in the window", cfg.VolLongWindow), date)
		}
		pb, bb = pb[:0], bb[:0]
		for i := max(0, d-cfg.RealizedBetaWindow+1); i <= d; i++ {
			if !math.IsNaN(port[i]) && !math.IsNaN(benchRet[i]) {
				pb, bb = append(pb, port[i]), append(bb, benchRet[i])
			}
		}
		if v, ok, reason := realizedBeta(pb, bb, cfg.RealizedBetaMinObs); ok {
			day.betaReal, day.hasBetaReal = v, true
		} else {
			w.add(WarnRiskUnavailable, "", "beta_realized_90d: "+reasonClass(reason), date)
		}
	}
}

// exposureWarnings records the days on which a factor's exposure is empty.
func exposureWarnings(ax *axis, first int, x *exposures, factors []string, w *warnings) {
	days := len(x.excluded)
	for d := range days {
		for k, f := range factors {
			if x.covered[d*x.nf+k] == 0 {
				w.add(WarnExposureUnavailable, "", f+": no holding with an available beta", ax.days[first+d])
			}
		}
	}
}

// loadHistory reads the daily returns of the n sessions before date.
func (e *Engine) loadHistory(ctx context.Context, id uuid.UUID, before time.Time, n int) (map[time.Time]float64, error) {
	rows, err := e.pool.Query(ctx, e.sql(`
		SELECT snapshot_date, daily_return FROM {schema}.portfolio_snapshots
		WHERE portfolio_id = $1 AND snapshot_date < $2 AND daily_return IS NOT NULL
		ORDER BY snapshot_date DESC LIMIT $3`), id, before, n)
	if err != nil {
		return nil, fmt.Errorf("load return history: %w", err)
	}
	out := map[time.Time]float64{}
	var d time.Time
	var r float64
	_, err = pgx.ForEachRow(rows, []any{&d, &r}, func() error { out[d] = r; return nil })
	if err != nil {
		return nil, fmt.Errorf("load return history: %w", err)
	}
	return out, nil
}
