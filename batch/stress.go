package batch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/gonum/mat"
)

// Stress-test categories.
const (
	StressMarket     = "market"
	StressRates      = "rates"
	StressRotation   = "factor_rotation"
	StressVolatility = "volatility"
	StressLiquidity  = "liquidity"
	StressHistorical = "historical"
)

// Defaults of StressConfig.
const (
	// DefaultRateDuration is TLT's approximate effective duration, in
	// years: a yield change Δy moves TLT by −17·Δy.
	DefaultRateDuration = 17.0
	// DefaultEWMALambda is RiskMetrics' daily decay.
	DefaultEWMALambda = 0.94
	// DefaultEWMAWindow is the covariance's window, in sessions ending
	// the day.
	DefaultEWMAWindow = 252
	// DefaultEWMAMinObs is the fewest sessions with every factor's return
	// for a covariance; below it the correlated P&L is NULL.
	DefaultEWMAMinObs = 30
)

// StressFactors are the factors a stress scenario may shock, in their
// order: each moves the portfolio through its exposure of the same name.
var StressFactors = []string{FactorMarketBeta, FactorValue, FactorGrowth, FactorMomentum,
	FactorQuality, FactorSize, FactorLowVolatility, FactorRateBeta}

// StressScenario is one stress test: shocks to some factors, a yield
// change, or a historical window replayed from stored prices.
type StressScenario struct {
	// ID names the scenario, e.g. "market_down_10".
	ID string `json:"id"`
	// Category groups scenarios, e.g. "market".
	Category string `json:"category"`
	// Shocks are factor returns by factor name (StressFactors), e.g.
	// {"market_beta": -0.10}.
	Shocks map[string]float64 `json:"shocks,omitempty"`
	// YieldChange is a change in yields (0.0025 = +25 bp); it shocks
	// rate_beta by −RateDuration × YieldChange.
	YieldChange float64 `json:"yield_change,omitempty"`
	// ReplayFrom and ReplayTo make a historical replay: each factor's
	// shock is its proxy's return from the close on ReplayFrom to the
	// close on ReplayTo.
	ReplayFrom time.Time `json:"replay_from,omitzero"`
	ReplayTo   time.Time `json:"replay_to,omitzero"`
}

func (s *StressScenario) replay() bool { return !s.ReplayFrom.IsZero() }

// DefaultStressScenarios returns the built-in scenarios.
func DefaultStressScenarios() []StressScenario {
	m := func(id, cat string, shocks map[string]float64) StressScenario {
		return StressScenario{ID: id, Category: cat, Shocks: shocks}
	}
	y := func(id string, dy float64) StressScenario {
		return StressScenario{ID: id, Category: StressRates, YieldChange: dy}
	}
	r := func(id, from, to string) StressScenario {
		f, _ := time.Parse(time.DateOnly, from)
		t, _ := time.Parse(time.DateOnly, to)
		return StressScenario{ID: id, Category: StressHistorical, ReplayFrom: f, ReplayTo: t}
	}
	const mk, val, gro, mom, qua, siz, lv = FactorMarketBeta, FactorValue, FactorGrowth, FactorMomentum,
		FactorQuality, FactorSize, FactorLowVolatility
	return []StressScenario{
		m("market_up_5", StressMarket, map[string]float64{mk: 0.05}),
		m("market_down_5", StressMarket, map[string]float64{mk: -0.05}),
		m("market_up_10", StressMarket, map[string]float64{mk: 0.10}),
		m("market_down_10", StressMarket, map[string]float64{mk: -0.10}),
		m("market_crash_35", StressMarket, map[string]float64{mk: -0.35}),
		m("market_rally_25", StressMarket, map[string]float64{mk: 0.25}),
		y("rates_up_25bp", 0.0025), y("rates_down_25bp", -0.0025),
		y("rates_up_50bp", 0.005), y("rates_down_50bp", -0.005),
		y("rates_up_100bp", 0.01), y("rates_down_100bp", -0.01),
		y("rate_spike_300bp", 0.03),
		m("value_rotation_20", StressRotation, map[string]float64{val: 0.20, gro: -0.10}),
		m("growth_rally_15", StressRotation, map[string]float64{gro: 0.15, mom: 0.10}),
		m("small_cap_outperformance_10", StressRotation, map[string]float64{siz: 0.10}),
		m("quality_flight_12", StressRotation, map[string]float64{qua: 0.12, mk: -0.05}),
		m("vix_spike_150", StressVolatility, map[string]float64{lv: -0.25, mk: -0.15}),
		m("liquidity_crisis", StressLiquidity, map[string]float64{mk: -0.20, lv: -0.30, qua: 0.15, siz: -0.10}),
		r("gfc_2008", "2008-09-19", "2009-03-09"),
		r("covid_2020", "2020-02-19", "2020-03-23"),
		r("rates_2022", "2022-01-03", "2022-10-12"),
	}
}

// StressConfig configures the stress tests. Zero fields mean defaults.
type StressConfig struct {
	// Disabled turns the stress tests off.
	Disabled bool
	// Scenarios are added to the built-in ones (DefaultStressScenarios),
	// after them; a scenario with a built-in's ID replaces it.
	Scenarios []StressScenario
	// NoDefaults drops the built-in scenarios: only Scenarios run.
	NoDefaults bool
	// RateDuration turns yield changes into rate_beta shocks, in years.
	// Default 17.
	RateDuration float64
	// EWMALambda is the covariance's decay, in (0, 1). Default 0.94.
	EWMALambda float64
	// EWMAWindow is the covariance's window, in sessions. Default 252.
	EWMAWindow int
	// EWMAMinObs is the fewest sessions with every factor's return.
	// Default 30.
	EWMAMinObs int
}

// withDefaults returns a copy with defaults, or what to fix.
func (c StressConfig) withDefaults() (StressConfig, error) {
	o := c
	if o.RateDuration == 0 {
		o.RateDuration = DefaultRateDuration
	}
	if o.EWMALambda == 0 {
		o.EWMALambda = DefaultEWMALambda
	}
	if o.EWMAWindow == 0 {
		o.EWMAWindow = DefaultEWMAWindow
	}
	if o.EWMAMinObs == 0 {
		o.EWMAMinObs = DefaultEWMAMinObs
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("stress config: "+format, args...)) }
	if !(o.RateDuration > 0) || math.IsInf(o.RateDuration, 0) {
		bad("RateDuration %g must be a positive number of years", o.RateDuration)
	}
	if !(o.EWMALambda > 0 && o.EWMALambda < 1) {
		bad("EWMALambda %g must lie in (0, 1)", o.EWMALambda)
	}
	if o.EWMAMinObs < 2 || o.EWMAWindow < o.EWMAMinObs {
		bad("EWMAWindow %d must be at least EWMAMinObs %d ≥ 2", o.EWMAWindow, o.EWMAMinObs)
	}
	seen := map[string]bool{}
	for _, s := range o.Scenarios {
		switch {
		case s.ID == "":
			bad("a scenario has no ID")
		case seen[s.ID]:
			bad("scenario %q defined twice", s.ID)
		}
		seen[s.ID] = true
		for f, v := range s.Shocks {
			if !slices.Contains(StressFactors, f) {
				bad("scenario %q shocks unknown factor %q (one of %s)", s.ID, f, strings.Join(StressFactors, " "))
			}
			if !finite(v) || v <= -1 {
				bad("scenario %q: shock %g to %s must be a finite return > −1", s.ID, v, f)
			}
		}
		if !finite(s.YieldChange) {
			bad("scenario %q: YieldChange must be finite", s.ID)
		}
		if s.replay() && !s.ReplayTo.After(s.ReplayFrom) {
			bad("scenario %q: ReplayTo must be after ReplayFrom", s.ID)
		}
		if s.replay() && (len(s.Shocks) > 0 || s.YieldChange != 0) {
			bad("scenario %q: a replay takes its shocks from prices, not Shocks or YieldChange", s.ID)
		}
		if !s.replay() && !s.ReplayTo.IsZero() {
			bad("scenario %q: ReplayTo without ReplayFrom", s.ID)
		}
	}
	return o, errors.Join(errs...)
}

// scenarios returns the scenarios that run, in order.
func (c *StressConfig) scenarios() []StressScenario {
	if c.Disabled {
		return nil
	}
	var out []StressScenario
	if !c.NoDefaults {
		out = DefaultStressScenarios()
	}
	for _, s := range c.Scenarios {
		if i := slices.IndexFunc(out, func(d StressScenario) bool { return d.ID == s.ID }); i >= 0 {
			out[i] = s
		} else {
			out = append(out, s)
		}
	}
	return out
}

// stressProxies returns the proxy symbol of each stress factor.
func (c *AnalyticsConfig) stressProxies() []string {
	o := c.filled()
	proxy := map[string]string{FactorMarketBeta: o.Market, FactorRateBeta: o.Rates}
	for _, s := range o.Style {
		proxy[s.Name] = s.Proxy
	}
	out := make([]string, len(StressFactors))
	for i, f := range StressFactors {
		out[i] = proxy[f]
	}
	return out
}

// nStress is the number of stress factors.
const nStress = 8

// scenarioShocks is a scenario's shocks resolved for a run: the shock of
// each stress factor (NaN when not shocked), or why it cannot run.
type scenarioShocks struct {
	shock   [nStress]float64
	missing []string // replay factors without prices over the window
	reason  string   // non-empty: the scenario is NULL on every day
}

// stressPlan is what every portfolio's stress tests share in one engine:
// the scenarios, their shocks, and each day's factor moves.
type stressPlan struct {
	scenarios []StressScenario
	shocks    []scenarioShocks
	// key names the plan's moves in stress_moves: a hash of everything
	// they depend on (planKey).
	key int64
}

// stressCache computes the replays' shocks once per price generation and
// each day's covariance and scenario moves once per day, for every
// portfolio of the engine.
type stressCache struct {
	mu      sync.Mutex
	gen     int64
	replays map[string]scenarioShocks
	days    map[time.Time]*stressDay
	// plan is gen's plan, shared by every portfolio: the batched advance
	// writes the runs of one plan in one statement.
	plan *stressPlan
}

// stressDay is one day's correlated factor moves per scenario: moves[s][f],
// or reason when the covariance could not be estimated.
type stressDay struct {
	date   time.Time
	moves  [][nStress]float64
	reason string
	// stored: the moves are committed to stress_moves (storeStressMoves).
	stored atomic.Bool
}

func newStressCache() *stressCache {
	return &stressCache{gen: -1, replays: map[string]scenarioShocks{}, days: map[time.Time]*stressDay{}}
}

// reset forgets everything computed from another price generation. The
// caller holds mu.
func (c *stressCache) reset(gen int64) {
	if gen != c.gen || len(c.days) > 20_000 {
		c.gen, c.replays, c.days, c.plan = gen, map[string]scenarioShocks{}, map[time.Time]*stressDay{}, nil
	}
}

// stressPlan resolves the scenarios' shocks (replays from stored prices)
// once per price generation.
func (e *Engine) stressPlan(ctx context.Context, gen int64) (*stressPlan, error) {
	c := e.stress
	c.mu.Lock()
	c.reset(gen)
	p := c.plan
	c.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := e.newStressPlan(ctx, gen)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.plan = p
	}
	c.mu.Unlock()
	return p, nil
}

func (e *Engine) newStressPlan(ctx context.Context, gen int64) (*stressPlan, error) {
	cfg := &e.cfg.Analytics.Stress
	p := &stressPlan{scenarios: cfg.scenarios()}
	proxies := e.cfg.Analytics.stressProxies()
	for _, s := range p.scenarios {
		var sh scenarioShocks
		for f := range sh.shock {
			sh.shock[f] = math.NaN()
		}
		switch {
		case s.replay():
			var err error
			if sh, err = e.replayShocks(ctx, gen, s, proxies); err != nil {
				return nil, err
			}
		default:
			for f, name := range StressFactors {
				if v, ok := s.Shocks[name]; ok {
					sh.shock[f] = v
				}
			}
			if s.YieldChange != 0 {
				sh.shock[nStress-1] = -cfg.RateDuration * s.YieldChange
			}
		}
		p.shocks = append(p.shocks, sh)
	}
	p.key = planKey(gen, cfg, proxies, p)
	return p, nil
}

// keyOrNil is the plan's key, nil without a plan.
func (p *stressPlan) keyOrNil() *int64 {
	if p == nil {
		return nil
	}
	return &p.key
}

// planKey hashes what a plan's moves depend on: the price generation, the
// covariance's proxies, window, decay and minimum, and each scenario's id
// and shocks (or why it cannot run).
func planKey(gen int64, cfg *StressConfig, proxies []string, p *stressPlan) int64 {
	h := fnv.New64a()
	buf := binary.BigEndian.AppendUint64(nil, uint64(gen))
	buf = binary.BigEndian.AppendUint64(buf, uint64(cfg.EWMAWindow))
	buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(cfg.EWMALambda))
	buf = binary.BigEndian.AppendUint64(buf, uint64(cfg.EWMAMinObs))
	for _, s := range proxies {
		buf = append(append(buf, s...), 0)
	}
	for i, sc := range p.scenarios {
		buf = append(append(buf, sc.ID...), 0)
		for _, v := range p.shocks[i].shock {
			buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(v))
		}
		buf = append(append(buf, p.shocks[i].reason...), 0)
	}
	h.Write(buf)
	return int64(h.Sum64())
}

// replayShocks is a replay's shocks: each proxy's return from the close
// on ReplayFrom to the close on ReplayTo (both days must have a close).
func (e *Engine) replayShocks(ctx context.Context, gen int64, s StressScenario, proxies []string) (scenarioShocks, error) {
	key := s.ID + "|" + s.ReplayFrom.Format(time.DateOnly) + "|" + s.ReplayTo.Format(time.DateOnly)
	c := e.stress
	c.mu.Lock()
	c.reset(gen)
	sh, ok := c.replays[key]
	c.mu.Unlock()
	if ok {
		return sh, nil
	}
	closes, err := e.cfg.Prices.Closes(ctx, proxies, s.ReplayFrom, s.ReplayTo)
	if err != nil {
		return sh, fmt.Errorf("replay %s: %w", s.ID, err)
	}
	from, to := dateOf(s.ReplayFrom), dateOf(s.ReplayTo)
	on := func(cs []Close, d time.Time) (float64, bool) {
		i := sort.Search(len(cs), func(k int) bool { return !cs[k].Date.Before(d) })
		if i < len(cs) && cs[i].Date.Equal(d) && cs[i].Value > 0 {
			return cs[i].Value, true
		}
		return 0, false
	}
	for f := range sh.shock {
		a, okA := on(closes[proxies[f]], from)
		b, okB := on(closes[proxies[f]], to)
		if okA && okB {
			sh.shock[f] = b/a - 1
		} else {
			sh.shock[f] = math.NaN()
			sh.missing = append(sh.missing, StressFactors[f])
		}
	}
	if math.IsNaN(sh.shock[0]) {
		sh.reason = fmt.Sprintf("no %s closes on %s and %s", proxies[0], from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	c.mu.Lock()
	c.replays[key] = sh
	c.mu.Unlock()
	return sh, nil
}

// day returns the scenario moves of axis session d, computing them once
// per engine: the shocked factors move by their shock, the others by their
// conditional mean given the shocked ones under the day's EWMA covariance.
func (e *Engine) stressDay(gen int64, p *stressPlan, ax *axis, d int, proxies []*series) *stressDay {
	c := e.stress
	date := ax.days[d]
	c.mu.Lock()
	c.reset(gen)
	sd, ok := c.days[date]
	c.mu.Unlock()
	if ok && (sd.reason != "" || len(sd.moves) == len(p.scenarios)) {
		return sd
	}
	cfg := &e.cfg.Analytics.Stress
	sd = &stressDay{date: date}
	cov, n := ewmaCovariance(proxies, d, cfg.EWMAWindow, cfg.EWMALambda)
	if n < cfg.EWMAMinObs {
		sd.reason = fmt.Sprintf("too few sessions with every factor's return for the covariance (%d < %d)", n, cfg.EWMAMinObs)
	} else {
		sd.moves = make([][nStress]float64, len(p.scenarios))
		for s := range p.scenarios {
			sd.moves[s] = conditionalMoves(cov, p.shocks[s].shock)
		}
	}
	c.mu.Lock()
	c.days[date] = sd
	c.mu.Unlock()
	return sd
}

// ewmaCovariance is the RiskMetrics covariance of the series' daily simple
// returns over the window sessions ending d: zero mean, weight λ^k on the
// k-th most recent session where every series has a return (k = 0, 1, …),
// the weights normalised to sum 1. It returns the matrix and the number of
// sessions used. A nil series (a proxy without prices) is left out: its
// row and column are 0, so it moves only when shocked.
func ewmaCovariance(ss []*series, d, window int, lambda float64) (*mat.SymDense, int) {
	k := len(ss)
	cov := mat.NewSymDense(k, nil)
	var sum [nStress * nStress]float64
	r := make([]float64, k)
	w, wsum, n := 1.0, 0.0, 0
	for i := d; i > d-window && i >= 1; i-- {
		all := true
		for j, s := range ss {
			if s == nil {
				r[j] = 0
				continue
			}
			if !s.isReal(i) || !s.isReal(i-1) || !(s.value[i-1] > 0) {
				all = false
				break
			}
			r[j] = s.value[i]/s.value[i-1] - 1
		}
		if !all {
			continue
		}
		for a := range k {
			for b := a; b < k; b++ {
				sum[a*k+b] += w * r[a] * r[b]
			}
		}
		wsum += w
		w *= lambda
		n++
	}
	if n == 0 {
		return cov, 0
	}
	for a := range k {
		for b := a; b < k; b++ {
			cov.SetSym(a, b, sum[a*k+b]/wsum)
		}
	}
	return cov, n
}

// conditionalMoves returns every factor's move in a scenario: a shocked
// factor (shock not NaN) moves by its shock, an unshocked one by its
// conditional mean given the shocks s, r_U = Σ_US Σ_SS⁺ s, with Σ_SS⁺ the
// Moore–Penrose pseudo-inverse (the inverse when Σ_SS is regular).
func conditionalMoves(cov *mat.SymDense, shock [nStress]float64) [nStress]float64 {
	var out [nStress]float64
	var S, U []int
	for f, v := range shock {
		if math.IsNaN(v) {
			U = append(U, f)
		} else {
			S = append(S, f)
			out[f] = v
		}
	}
	if len(S) == 0 || len(U) == 0 {
		return out
	}
	sss := mat.NewSymDense(len(S), nil)
	for i, a := range S {
		for j := i; j < len(S); j++ {
			sss.SetSym(i, j, cov.At(a, S[j]))
		}
	}
	s := make([]float64, len(S))
	for i, a := range S {
		s[i] = shock[a]
	}
	z := pinvSymApply(sss, s)
	for _, u := range U {
		var m float64
		for i, a := range S {
			m += cov.At(u, a) * z[i]
		}
		out[u] = m
	}
	return out
}

// pinvSymApply returns A⁺x for a symmetric A through its eigen
// decomposition, eigenvalues at most n·ε·max|λ| treated as zero.
func pinvSymApply(a *mat.SymDense, x []float64) []float64 {
	n := a.SymmetricDim()
	var eig mat.EigenSym
	out := make([]float64, n)
	if !eig.Factorize(a, true) {
		return out
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	var top float64
	for _, v := range vals {
		top = math.Max(top, math.Abs(v))
	}
	tol := float64(n) * 0x1p-52 * top
	for k, l := range vals {
		if math.Abs(l) <= tol || l == 0 {
			continue
		}
		var c float64
		for i := range n {
			c += vecs.At(i, k) * x[i]
		}
		c /= l
		for i := range n {
			out[i] += c * vecs.At(i, k)
		}
	}
	return out
}

// stressColumns returns each day's scenario moves (from the engine's cache)
// and warns of the days and scenarios without a correlated P&L. The view
// stress_test_results computes the P&L from the day's stored exposures:
// the direct one Σ_f exposure dollars_f × shock_f with the run's shocks
// (runColumns), the correlated one Σ_f exposure dollars_f × move_f with
// the day's moves (stress_moves, stored before the days: storeStressMoves).
func (e *Engine) stressColumns(gen int64, p *stressPlan, lay *layer, first int, days []day, w *warnings) []*stressDay {
	if p == nil || len(p.scenarios) == 0 {
		return nil
	}
	proxySyms := e.cfg.Analytics.stressProxies()
	proxies := make([]*series, nStress)
	for f, s := range proxySyms {
		proxies[f] = lay.of(s)
	}
	for s, sh := range p.shocks {
		if sh.reason != "" {
			w.add(WarnStressUnavailable, "", p.scenarios[s].ID+": "+sh.reason, days[0].date)
			w.add(WarnStressUnavailable, "", p.scenarios[s].ID+": "+sh.reason, days[len(days)-1].date)
		}
	}
	out := make([]*stressDay, len(days))
	for k := range days {
		sd := e.stressDay(gen, p, lay.ax, first+k, proxies)
		out[k] = sd
		if sd.reason != "" {
			w.add(WarnStressUnavailable, "", "correlated_pnl: "+reasonClass(sd.reason), days[k].date)
		}
	}
	return out
}

// movesText is a day's moves under p as the text of a stress_moves.moves
// array: scenario-major, one per stress factor, NULL for a scenario that
// cannot run (or whose moves are not finite); nil when the day has none.
func movesText(p *stressPlan, sd *stressDay) *string {
	if sd == nil || sd.reason != "" || len(sd.moves) != len(p.scenarios) {
		return nil
	}
	buf := make([]byte, 0, len(sd.moves)*nStress*20)
	buf = append(buf, '{')
	for s, mv := range sd.moves {
		ok := p.shocks[s].reason == ""
		for _, v := range mv {
			ok = ok && !math.IsNaN(v) && !math.IsInf(v, 0)
		}
		for f, v := range mv {
			if s > 0 || f > 0 {
				buf = append(buf, ',')
			}
			if ok {
				buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
			} else {
				buf = append(buf, "NULL"...)
			}
		}
	}
	t := string(append(buf, '}'))
	return &t
}

// storeStressMoves stores the days' moves under p that the engine has not
// stored yet (each day's once: the days come from the engine's cache), in
// a statement of its own that commits before the snapshot rows naming them
// are written: a peer storing the same rows meanwhile then waits for that
// statement alone (the rows are the same; ON CONFLICT keeps the first).
func (e *Engine) storeStressMoves(ctx context.Context, p *stressPlan, sds []*stressDay) error {
	if p == nil {
		return nil
	}
	var todo []*stressDay
	for _, sd := range sds {
		if !sd.stored.Load() {
			todo = append(todo, sd)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	// In date order: peers inserting the same days meet in one order and
	// never deadlock.
	slices.SortFunc(todo, func(a, b *stressDay) int { return a.date.Compare(b.date) })
	dates, texts := make([]time.Time, len(todo)), make([]*string, len(todo))
	for i, sd := range todo {
		dates[i], texts[i] = sd.date, movesText(p, sd)
	}
	if _, err := e.pool.Exec(ctx, e.sql(`
		INSERT INTO {schema}.stress_moves (plan, as_of_date, moves)
		SELECT $1, d, m::float8[] FROM unnest($2::date[], $3::text[]) AS u (d, m)
		ON CONFLICT (plan, as_of_date) DO NOTHING`), p.key, dates, texts); err != nil {
		return fmt.Errorf("store stress moves: %w", err)
	}
	for _, sd := range todo {
		sd.stored.Store(true)
	}
	return nil
}

// WarnStressUnavailable: a stress test's P&L could not be computed.
const WarnStressUnavailable = "stress_unavailable"

// runColumns are the run's scenario ids, categories, the replays' missing
// factors, the stress factors and the shocks (scenario-major, NaN where
// not shocked or the scenario cannot run), in the order of the snapshots'
// stress arrays.
func (p *stressPlan) runColumns() (ids, cats, missing, factors []string, shocks []*float64) {
	ids, cats, missing, factors, shocks = []string{}, []string{}, []string{}, []string{}, []*float64{}
	if p == nil {
		return
	}
	factors = StressFactors
	for s, sc := range p.scenarios {
		ids = append(ids, sc.ID)
		cats = append(cats, sc.Category)
		missing = append(missing, strings.Join(p.shocks[s].missing, ","))
		for _, v := range p.shocks[s].shock {
			if math.IsNaN(v) || p.shocks[s].reason != "" {
				shocks = append(shocks, nil)
			} else {
				shocks = append(shocks, &v)
			}
		}
	}
	return
}
