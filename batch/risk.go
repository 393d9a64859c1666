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

// layer lays closes on an axis on demand, one series per symbol, sharing
// the series of one price generation and axis with every other backfill
// through the engine's cache.
type layer struct {
	ax     *axis
	closes map[string][]Close
	built  map[string]*series
	cache  *seriesCache
	epoch  int64
}

func newLayer(ax *axis, closes map[string][]Close, cache *seriesCache, epoch int64) *layer {
	return &layer{ax: ax, closes: closes, built: map[string]*series{}, cache: cache, epoch: epoch}
}

// of returns the symbol's series, nil when it has no close at all.
func (l *layer) of(sym string) *series {
	if s, ok := l.built[sym]; ok {
		return s
	}
	var s *series
	if c, ok := l.closes[sym]; ok {
		s = l.cache.get(l.epoch, sym, l.ax, func() *series { return newSeries(l.ax, c) })
	}
	l.built[sym] = s
	return s
}

// seriesCache keeps the series laid on an axis, by symbol and axis, so
// that portfolios backfilling the same days share them, until the symbol's
// closes change (see syncCaches).
type seriesCache struct {
	series sharedMap[seriesKey, *series]
	epoch  int64 // under series.mu
}

type seriesKey struct {
	symbol      string
	first, last time.Time
}

// maxCachedSeries bounds the cache; past it, it starts over.
const maxCachedSeries = 200_000

func newSeriesCache() *seriesCache {
	return &seriesCache{series: sharedMap[seriesKey, *series]{max: maxCachedSeries}}
}

// get returns the cached series of sym on ax, or builds it; a series built
// under an older epoch than the cache's is not kept.
func (c *seriesCache) get(epoch int64, sym string, ax *axis, build func() *series) *series {
	k := seriesKey{sym, ax.days[0], ax.days[len(ax.days)-1]}
	return c.series.getIf(k, build, func() bool { return epoch == c.epoch })
}

// invalidate moves the cache to epoch, dropping the series of each changed
// symbol that reach its changed day (everything when changed is nil).
func (c *seriesCache) invalidate(epoch int64, changed map[string]time.Time) {
	c.series.mu.Lock()
	defer c.series.mu.Unlock()
	c.epoch = epoch
	if changed == nil {
		c.series.m = nil
		return
	}
	for k := range c.series.m {
		if d, ok := changed[k.symbol]; ok && !k.last.Before(d) {
			delete(c.series.m, k)
		}
	}
}

// betaCache computes each symbol's betas for a day once per engine and
// shares them between every portfolio holding the symbol, until prices
// change.
type betaCache struct {
	mu    sync.Mutex
	epoch int64
	m     map[string]*betaEntry
}

type betaEntry struct {
	ready    chan struct{} // closed once days, vals and problems are set
	days     []time.Time
	vals     [][]betaValue
	problems []betaProblem // the betas that are not ok, in day order
	// flat holds the values day-major, NaN where not ok; allOK[d] when
	// every factor of day d is ok. The exposure loop reads these.
	flat  []float64
	allOK []bool
	nf    int
}

// betaRows are one symbol's betas on the computed days, as the exposure
// loop reads them: flat[d*nf+k], NaN where not ok.
type betaRows struct {
	flat  []float64
	allOK []bool
}

// betaProblem is a beta that could not be computed: day index into the
// entry, factor index, and the reason without its numbers.
type betaProblem struct {
	day, factor int
	reason      string
}

func newBetaCache() *betaCache { return &betaCache{m: map[string]*betaEntry{}} }

// invalidate moves the cache to epoch, dropping the betas of each changed
// symbol that reach its changed day, and every symbol's from everyone on
// (a factor instrument changed); everything when changed is nil. Entries
// still being computed are dropped too: they may read the old closes.
func (c *betaCache) invalidate(epoch int64, changed map[string]time.Time, everyone time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch = epoch
	if changed == nil {
		c.m = map[string]*betaEntry{}
		return
	}
	reaches := func(en *betaEntry, d time.Time) bool {
		select {
		case <-en.ready:
			return len(en.days) > 0 && !en.days[len(en.days)-1].Before(d)
		default:
			return true
		}
	}
	for sym, en := range c.m {
		d, ok := changed[sym]
		if (ok && reaches(en, d)) || (!everyone.IsZero() && reaches(en, everyone)) {
			delete(c.m, sym)
		}
	}
}

// rows returns the symbol's betas on sessions [first, end] of ax, computing
// them with compute unless an earlier computation covers those days.
// Concurrent callers for one symbol wait for a single computation.
func (c *betaCache) rows(epoch int64, sym string, ax *axis, first, end int, compute func() *symbolBetas) (betaRows, []betaProblem) {
	for {
		en, mine := c.entry(epoch, sym, ax, first, end)
		if mine {
			return en.fill(ax, first, end, compute)
		}
		<-en.ready
		if rows, ok := en.slice(ax, first, end); ok {
			return rows, en.problemsIn(ax.days[first], ax.days[end])
		}
		// The computation waited for covered other days, or panicked:
		// the next round computes these days.
	}
}

// entry returns the symbol's entry to read, or a new one the caller must
// fill (mine). A caller loading under an older epoch than the cache's gets
// an entry of its own that is not shared.
func (c *betaCache) entry(epoch int64, sym string, ax *axis, first, end int) (en *betaEntry, mine bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if en = c.m[sym]; en != nil {
		select {
		case <-en.ready:
			if _, ok := en.slice(ax, first, end); ok {
				return en, false
			}
		default:
			return en, false // being computed: wait for it
		}
	}
	en = &betaEntry{ready: make(chan struct{})}
	if epoch == c.epoch {
		c.m[sym] = en
	}
	return en, true
}

// fill computes the entry's betas and publishes them; ready is closed even
// when compute panics, so that no waiter blocks.
func (en *betaEntry) fill(ax *axis, first, end int, compute func() *symbolBetas) (betaRows, []betaProblem) {
	defer close(en.ready)
	b := compute()
	nf := 0
	if len(b.vals) > 0 {
		nf = len(b.vals[0])
	}
	flat := make([]float64, len(b.vals)*nf)
	allOK := make([]bool, len(b.vals))
	var problems []betaProblem
	for d, row := range b.vals {
		allOK[d] = true
		for k, v := range row {
			flat[d*nf+k] = v.value
			if !v.ok {
				flat[d*nf+k] = math.NaN()
				allOK[d] = false
				problems = append(problems, betaProblem{d, k, reasonClass(v.reason)})
			}
		}
	}
	en.nf, en.flat, en.allOK, en.problems, en.vals = nf, flat, allOK, problems, b.vals
	en.days = ax.days[first : end+1] // last: slice reads days first
	return betaRows{flat, allOK}, problems
}

// slice returns the entry's betas for sessions [first, end] of ax, and
// false when it does not cover them (or is not computed yet).
func (en *betaEntry) slice(ax *axis, first, end int) (betaRows, bool) {
	if en == nil || len(en.days) == 0 {
		return betaRows{}, false
	}
	i, ok := slices.BinarySearchFunc(en.days, ax.days[first], func(a, b time.Time) int { return a.Compare(b) })
	n := end - first + 1
	if !ok || i+n > len(en.days) || !en.days[i+n-1].Equal(ax.days[end]) {
		return betaRows{}, false
	}
	return betaRows{en.flat[i*en.nf : (i+n)*en.nf], en.allOK[i : i+n]}, true
}

// problemsIn returns the problems dated in [from, to], their day index
// relative to from.
func (en *betaEntry) problemsIn(from, to time.Time) []betaProblem {
	i, _ := slices.BinarySearchFunc(en.days, from, func(a, b time.Time) int { return a.Compare(b) })
	var out []betaProblem
	for _, p := range en.problems {
		if p.day >= i && !en.days[p.day].After(to) {
			out = append(out, betaProblem{p.day - i, p.factor, p.reason})
		}
	}
	return out
}

// syncMonthly re-syncs the rolling beta sums on the first session of each
// month, so that a day's betas are the same whatever range a backfill
// computes (see computeSymbolBetasAt).
func syncMonthly(ax *axis) func(d int) bool {
	return func(d int) bool { return d == 0 || ax.days[d].Month() != ax.days[d-1].Month() }
}

// exposures accumulates, per day and factor, Σ market value × beta over
// the holdings whose beta is available, and the coverage: holdings with
// every factor's beta are counted once per day (the common case), the
// others per factor.
type exposures struct {
	nf        int
	dollars   []float64 // [day*nf + factor]
	allCount  []int32   // per day: holdings with every beta
	allGross  []float64 // per day: their gross value
	partial   []bool    // per day: some holding lacks some beta
	partCount []int32   // [day*nf + factor]: the others, per factor
	partGross []float64
	excluded  []int32 // per day: holdings without betas by nature
	// mix accumulates the sectors, concentration and provider beta.
	mix *composition
}

func newExposures(days, nf int) *exposures {
	return &exposures{nf: nf, dollars: make([]float64, days*nf), allCount: make([]int32, days),
		allGross: make([]float64, days), partial: make([]bool, days), partCount: make([]int32, days*nf),
		partGross: make([]float64, days*nf), excluded: make([]int32, days)}
}

// add counts holding h's market value mv on day row.
func (x *exposures) add(h *holding, row int, mv float64, flag priceFlag) {
	if x.mix != nil {
		x.mix.add(h, row, mv)
	}
	if h.kind != kindPublic || flag == priceUnpriced || h.betas.flat == nil {
		x.excluded[row]++
		return
	}
	base := row * x.nf
	betas := h.betas.flat[base : base+x.nf]
	dollars := x.dollars[base : base+x.nf]
	if h.betas.allOK[row] {
		for k, b := range betas {
			dollars[k] += mv * b
		}
		x.allCount[row]++
		x.allGross[row] += math.Abs(mv)
		return
	}
	x.partial[row] = true
	for k, b := range betas {
		if !math.IsNaN(b) {
			dollars[k] += mv * b
			x.partCount[base+k]++
			x.partGross[base+k] += math.Abs(mv)
		}
	}
}

// covered returns how many holdings have factor k's beta on day row, and
// their gross value.
func (x *exposures) covered(row, k int) (int32, float64) {
	return x.allCount[row] + x.partCount[row*x.nf+k], x.allGross[row] + x.partGross[row*x.nf+k]
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
// end], from the engine's cache, else from the store, else computed (and
// stored), and records why betas are missing.
func (e *Engine) attachBetas(ctx context.Context, epoch, gen int64, lay *layer, hs []holding, first, end int, w *warnings) (BetaStats, error) {
	cfg := &e.cfg.Analytics
	proxies := proxiesOf(e, lay)
	factors := cfg.Factors()
	stored, partial, err := e.storedBetas(ctx, epoch, gen, lay.ax, hs, first, end)
	if err != nil {
		return BetaStats{}, err
	}
	var stats BetaStats
	computed := map[string]*symbolBetas{}
	bySymbol := map[string]betaRows{}
	for i := range hs {
		h := &hs[i]
		if h.kind != kindPublic || h.own == nil {
			continue
		}
		rows, ok := bySymbol[h.symbol]
		if !ok {
			var problems []betaProblem
			shared := true
			rows, problems = e.betas.rows(epoch, h.symbol, lay.ax, first, end, func() *symbolBetas {
				shared = false
				if b := stored[h.symbol]; b != nil {
					stats.Loaded += len(b.vals)
					return b
				}
				b := computeSymbolBetasAt(cfg, h.own, proxies, first, end, syncMonthly(lay.ax))
				stats.Computed += len(b.vals)
				computed[h.symbol] = b
				return b
			})
			if shared {
				stats.Shared += end - first + 1
			}
			bySymbol[h.symbol] = rows
			for _, p := range problems {
				w.add(WarnBetaUnavailable, "", factors[p.factor]+" unavailable for some holdings: "+p.reason, lay.ax.days[first+p.day])
			}
		}
		h.betas = rows
	}
	if e.store != nil && len(computed) > 0 {
		if stats.Stored, err = e.store.save(ctx, gen, lay.ax, computed, partial); err != nil {
			return stats, err
		}
	}
	return stats, nil
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
	var buf []float64
	window := func(d, n int) []float64 {
		buf = buf[:0]
		for i := max(0, d-n+1); i <= d; i++ {
			if !math.IsNaN(port[i]) {
				buf = append(buf, port[i])
			}
		}
		return buf
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
			if n, _ := x.covered(d, k); n == 0 {
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
