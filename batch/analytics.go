package batch

import (
	"errors"
	"fmt"
	"math"
)

// Factor names, in the order stored with the default configuration.
const (
	FactorMarketBeta        = "market_beta"
	FactorRateBeta          = "rate_beta"
	FactorValue             = "value"
	FactorGrowth            = "growth"
	FactorMomentum          = "momentum"
	FactorQuality           = "quality"
	FactorSize              = "size"
	FactorLowVolatility     = "low_volatility"
	FactorGrowthValueSpread = "growth_value_spread"
	FactorMomentumSpread    = "momentum_spread"
	FactorSizeSpread        = "size_spread"
	FactorQualitySpread     = "quality_spread"
)

// Defaults of AnalyticsConfig. Windows and minimums count sessions (one
// daily return per session).
const (
	DefaultMarketProxy        = "SPY"
	DefaultRatesProxy         = "TLT"
	DefaultBetaWindow         = 90
	DefaultBetaMinObs         = 30
	DefaultBetaCap            = 5.0
	DefaultStyleWindow        = 90
	DefaultStyleMinObs        = 30
	DefaultRidgeAlpha         = 1.0
	DefaultSpreadWindow       = 180
	DefaultSpreadMinObs       = 60
	DefaultSpreadCap          = 5.0
	DefaultVolShortWindow     = 21
	DefaultVolLongWindow      = 63
	DefaultRealizedBetaWindow = 90
	DefaultRealizedBetaMinObs = 30
)

// StyleFactor is a style factor: its name and the symbol whose returns
// proxy it.
type StyleFactor struct {
	Name  string
	Proxy string
}

// SpreadFactor is a long–short factor whose daily return is the long
// symbol's return minus the short symbol's.
type SpreadFactor struct {
	Name        string
	Long, Short string
}

// DefaultStyleFactors returns the default style factors: value VTV,
// growth VUG, momentum MTUM, quality QUAL, size IWM, low volatility USMV.
func DefaultStyleFactors() []StyleFactor {
	return []StyleFactor{
		{FactorValue, "VTV"},
		{FactorGrowth, "VUG"},
		{FactorMomentum, "MTUM"},
		{FactorQuality, "QUAL"},
		{FactorSize, "IWM"},
		{FactorLowVolatility, "USMV"},
	}
}

// DefaultSpreadFactors returns the default spread factors: VUG−VTV,
// MTUM−SPY, IWM−SPY, QUAL−SPY.
func DefaultSpreadFactors() []SpreadFactor {
	return []SpreadFactor{
		{FactorGrowthValueSpread, "VUG", "VTV"},
		{FactorMomentumSpread, "MTUM", "SPY"},
		{FactorSizeSpread, "IWM", "SPY"},
		{FactorQualitySpread, "QUAL", "SPY"},
	}
}

// AnalyticsConfig configures the risk analytics. nil or zero fields mean
// the defaults. Windows count sessions ending at the computed day,
// inclusive; a day's daily simple return exists only when it and the
// session before it both have real (not carried-forward) closes.
type AnalyticsConfig struct {
	// Disabled turns the analytics off.
	Disabled bool
	// EphemeralBetas keeps symbol betas in the engine's memory only:
	// they are neither read from nor written to symbol_factor_betas.
	// Default false: with prices from the database, betas are persisted
	// and read back by any engine while the prices under them are
	// unchanged.
	EphemeralBetas bool
	// Market is the market beta's benchmark symbol. Default "SPY".
	Market string
	// Rates is the rate beta's proxy symbol. Default "TLT".
	Rates string
	// Style lists the style factors, fitted together by ridge
	// regression. Default DefaultStyleFactors(); an empty slice means the
	// default too.
	Style []StyleFactor
	// Spreads lists the spread factors, each fitted alone by OLS.
	// Default DefaultSpreadFactors(); an empty slice means the default too.
	Spreads []SpreadFactor
	// BetaWindow is the market and rate betas' window, in sessions.
	// Default 90.
	BetaWindow int
	// BetaMinObs is the fewest observations (sessions where both returns
	// exist) for a market or rate beta. Default 30.
	BetaMinObs int
	// BetaCap bounds market and rate betas to ±BetaCap. Default 5.
	BetaCap float64
	// StyleWindow is the style regression's window, in sessions. Default 90.
	StyleWindow int
	// StyleMinObs is the fewest observations (sessions where the symbol
	// and every style proxy have a return) for the style regression.
	// Default 30.
	StyleMinObs int
	// RidgeAlpha is the style regression's ridge penalty on standardized
	// regressors (scikit-learn's Ridge alpha). Default 1; 0 also means the
	// default, so pass a tiny positive value for a near-OLS fit.
	RidgeAlpha float64
	// SpreadWindow is the spread factors' window, in sessions. Default 180.
	SpreadWindow int
	// SpreadMinObs is the fewest observations for a spread beta. Default 60.
	SpreadMinObs int
	// SpreadCap bounds spread betas to ±SpreadCap. Default 5.
	SpreadCap float64
	// VolShortWindow is the short portfolio volatility's window, in daily
	// returns. Default 21.
	VolShortWindow int
	// VolLongWindow is the long portfolio volatility's window, in daily
	// returns. Default 63.
	VolLongWindow int
	// RealizedBetaWindow is the window of the portfolio's realized beta
	// against Market, in sessions. Default 90.
	RealizedBetaWindow int
	// RealizedBetaMinObs is the fewest observations for the realized
	// beta. Default 30.
	RealizedBetaMinObs int
	// Stress configures the stress tests: user scenarios, the rate
	// duration, the EWMA covariance. Defaults as StressConfig documents.
	Stress StressConfig
}

// filled returns a copy of c with the defaults filled in, unvalidated.
func (c *AnalyticsConfig) filled() AnalyticsConfig {
	var o AnalyticsConfig
	if c != nil {
		o = *c
	}
	str := func(p *string, d string) {
		if *p == "" {
			*p = d
		}
	}
	num := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	flt := func(p *float64, d float64) {
		if *p == 0 {
			*p = d
		}
	}
	str(&o.Market, DefaultMarketProxy)
	str(&o.Rates, DefaultRatesProxy)
	if len(o.Style) == 0 {
		o.Style = DefaultStyleFactors()
	}
	if len(o.Spreads) == 0 {
		o.Spreads = DefaultSpreadFactors()
	}
	num(&o.BetaWindow, DefaultBetaWindow)
	num(&o.BetaMinObs, DefaultBetaMinObs)
	flt(&o.BetaCap, DefaultBetaCap)
	num(&o.StyleWindow, DefaultStyleWindow)
	num(&o.StyleMinObs, DefaultStyleMinObs)
	flt(&o.RidgeAlpha, DefaultRidgeAlpha)
	num(&o.SpreadWindow, DefaultSpreadWindow)
	num(&o.SpreadMinObs, DefaultSpreadMinObs)
	flt(&o.SpreadCap, DefaultSpreadCap)
	num(&o.VolShortWindow, DefaultVolShortWindow)
	num(&o.VolLongWindow, DefaultVolLongWindow)
	num(&o.RealizedBetaWindow, DefaultRealizedBetaWindow)
	num(&o.RealizedBetaMinObs, DefaultRealizedBetaMinObs)
	return o
}

// withDefaults returns a copy of c (nil: all defaults) with the defaults
// filled in, or an error saying what to change: every window must be at
// least its minimum number of observations, every minimum at least 2, the
// caps positive, the ridge penalty not negative, and factor names unique.
// NewEngine applies it to Config.Analytics.
func (c *AnalyticsConfig) withDefaults() (AnalyticsConfig, error) {
	o := c.filled()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("analytics config: "+format, args...))
	}
	windows := []struct {
		name           string
		window, minObs int
	}{
		{"Beta", o.BetaWindow, o.BetaMinObs},
		{"Style", o.StyleWindow, o.StyleMinObs},
		{"Spread", o.SpreadWindow, o.SpreadMinObs},
		{"RealizedBeta", o.RealizedBetaWindow, o.RealizedBetaMinObs},
	}
	for _, w := range windows {
		if w.minObs < 2 {
			bad("%sMinObs %d must be at least 2", w.name, w.minObs)
		}
		if w.window < w.minObs {
			bad("%sWindow %d must be at least %sMinObs (%d)", w.name, w.window, w.name, w.minObs)
		}
	}
	if o.VolShortWindow < 2 {
		bad("VolShortWindow %d must be at least 2", o.VolShortWindow)
	}
	if o.VolLongWindow < 2 {
		bad("VolLongWindow %d must be at least 2", o.VolLongWindow)
	}
	if !(o.BetaCap > 0) || math.IsInf(o.BetaCap, 0) {
		bad("BetaCap %g must be a positive number", o.BetaCap)
	}
	if !(o.SpreadCap > 0) || math.IsInf(o.SpreadCap, 0) {
		bad("SpreadCap %g must be a positive number", o.SpreadCap)
	}
	if !(o.RidgeAlpha >= 0) || math.IsInf(o.RidgeAlpha, 0) {
		bad("RidgeAlpha %g must be a finite number ≥ 0", o.RidgeAlpha)
	}
	for _, s := range o.Style {
		if s.Proxy == "" {
			bad("style factor %q needs a Proxy symbol", s.Name)
		}
	}
	for _, s := range o.Spreads {
		if s.Long == "" || s.Short == "" {
			bad("spread factor %q needs Long and Short symbols", s.Name)
		} else if s.Long == s.Short {
			bad("spread factor %q: Long and Short are both %s", s.Name, s.Long)
		}
	}
	var err error
	if o.Stress, err = o.Stress.withDefaults(); err != nil {
		errs = append(errs, fmt.Errorf("analytics config: %w", err))
	}
	seen := map[string]bool{}
	for _, name := range o.Factors() {
		switch {
		case name == "":
			bad("a factor has no Name")
		case seen[name]:
			bad("factor name %q used twice: names must be unique", name)
		}
		seen[name] = true
	}
	return o, errors.Join(errs...)
}

// Factors returns the factor names in the order stored: market_beta,
// rate_beta, the style factors, then the spread factors.
func (c *AnalyticsConfig) Factors() []string {
	o := c.filled()
	out := make([]string, 0, 2+len(o.Style)+len(o.Spreads))
	out = append(out, FactorMarketBeta, FactorRateBeta)
	for _, s := range o.Style {
		out = append(out, s.Name)
	}
	for _, s := range o.Spreads {
		out = append(out, s.Name)
	}
	return out
}

// Proxies returns every symbol whose prices the analytics need, each once:
// Market, Rates, the style proxies, then the spreads' legs.
func (c *AnalyticsConfig) Proxies() []string {
	o := c.filled()
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(o.Market)
	add(o.Rates)
	for _, s := range o.Style {
		add(s.Proxy)
	}
	for _, s := range o.Spreads {
		add(s.Long)
		add(s.Short)
	}
	return out
}

// Lookback returns how many sessions of price history the analytics need
// before the first computed day: the longest price window (the symbol
// betas' and the realized beta's, whose benchmark returns precede the
// first day too) plus one. A window of W sessions ending on the first day
// uses the returns on first−W+1…first, whose bases reach back to the close
// on first−W, W sessions before; the extra session is slack.
func (c *AnalyticsConfig) Lookback() int {
	o := c.filled()
	return max(o.BetaWindow, o.StyleWindow, o.SpreadWindow, o.RealizedBetaWindow) + 1
}

// betaValue is one factor beta of one symbol on one day.
type betaValue struct {
	value  float64
	ok     bool
	obs    int    // observations in the window
	reason string // "" when ok, else why not, e.g. "too few observations (12 < 30)"
	capped bool   // value was clamped to ±cap
}

// symbolBetas holds every factor's beta of one symbol on sessions [first,
// last] of an axis: vals[d-first][k] for factor k in Factors() order.
type symbolBetas struct {
	first int
	vals  [][]betaValue
}

// at returns the betas on session d, nil outside [first, last].
func (b *symbolBetas) at(d int) []betaValue {
	if b == nil || d < b.first || d-b.first >= len(b.vals) {
		return nil
	}
	return b.vals[d-b.first]
}

// dailyReturns returns the daily simple returns of s on sessions [lo, hi],
// indexed by session (entries below lo unset): p_i/p_{i−1} − 1 when both
// sessions i and i−1 have real closes and p_{i−1} > 0, else NaN, which
// marks "no return" inside the analytics and never leaves them.
func dailyReturns(s *series, lo, hi int) []float64 {
	r := make([]float64, hi+1)
	for i := range r {
		r[i] = math.NaN()
	}
	for i := max(lo, 1); i <= hi; i++ {
		if s.isReal(i) && s.isReal(i-1) && s.value[i-1] > 0 {
			r[i] = s.value[i]/s.value[i-1] - 1
		}
	}
	return r
}

// computeSymbolBetas computes every factor's beta of one symbol on
// sessions [first, last], from its series and the proxies' series laid on
// the same axis (proxies by symbol; a missing or nil proxy makes the
// factors that use it not ok with reason "no prices for proxy X"), with
// 0 ≤ first ≤ last. cfg should have its defaults filled and be valid
// (WithDefaults); zero fields are defaulted here. A window reaching before
// the axis uses the sessions there are: the engine lays the axis
// cfg.Lookback() sessions before first for full windows.
//
// The beta on day D with window W regresses the symbol's daily returns on
// the factor's over the sessions i in [D−W+1, D] where both exist (a
// spread's return is the long leg's minus the short leg's, existing when
// both do). Market, rate and spread betas are OLS slopes with intercept,
// capped at ±cap; the style betas come from one ridge regression on the
// sessions where the symbol and every available style proxy have a return,
// constant proxies left out as "zero variance".
//
// The windows slide one session a day: each factor keeps the count, means
// and centred co-moments of its window ([x, y] for a line, [proxies…, y]
// for the ridge), adding the new session's observation and removing the
// leaving one by Welford's updates (rollingMoments), so a day costs O(1)
// per OLS factor (slope C_xy/C_xx) and O(k²) plus a k×k Cholesky for the
// ridge (built from the co-moments as fit builds it from the data). The
// first day, every symbolBetasSyncEvery sessions, and any day whose
// rolling variances cannot be trusted (rollingMoments.drifted: small
// against the rounding they carry, near the zero-variance bound, or not
// finite) are computed from scratch by the two-pass fitters, which also
// resync the co-moments; every decision (zero variance, dropped columns)
// is thus taken as the two-pass sums take it, and the values agree with a
// from-scratch computation to ~1e-13 relative.
func computeSymbolBetas(cfg *AnalyticsConfig, sym *series, proxies map[string]*series, first, last int) *symbolBetas {
	return computeSymbolBetasAt(cfg, sym, proxies, first, last, nil)
}

// computeSymbolBetasAt is computeSymbolBetas with the rolling sums
// re-synced from scratch exactly on the sessions where syncAt is true
// (and whenever they drift), starting from the last such session on or
// before first. A day's betas then depend only on the series and on its
// sync session, not on the range asked for: backfilling day by day or a
// year at once gives the same values to the last bit. With syncAt nil the
// sums are re-synced every symbolBetasSyncEvery sessions from first.
func computeSymbolBetasAt(cfg *AnalyticsConfig, sym *series, proxies map[string]*series, first, last int, syncAt func(d int) bool) *symbolBetas {
	o := cfg.filled()
	out := &symbolBetas{first: first}
	if last < first {
		return out
	}
	// d0 is where the rolling starts: the sync session on or before first.
	// The returns reach a full window before it, so that the sums synced
	// there do not depend on first.
	d0 := first
	if syncAt != nil {
		for d0 > 1 && !syncAt(d0) {
			d0--
		}
	}
	lo := max(1, d0-max(o.BetaWindow, o.StyleWindow, o.SpreadWindow)+1)
	rets := map[string][]float64{}
	retOf := func(s string) []float64 {
		if r, ok := rets[s]; ok {
			return r
		}
		var r []float64
		if ps := proxies[s]; ps != nil {
			r = dailyReturns(ps, lo, last)
		}
		rets[s] = r
		return r
	}
	noPrices := func(s string) string { return "no prices for proxy " + s }
	y := dailyReturns(sym, lo, last)

	// The single-regressor factors: market, rates, spreads.
	type lineFactor struct {
		k              int
		x              []float64
		missing        string // reason when the factor cannot be computed at all
		window, minObs int
		limit          float64
	}
	nf := 2 + len(o.Style) + len(o.Spreads)
	var lines []lineFactor
	for k, s := range []string{o.Market, o.Rates} {
		f := lineFactor{k: k, x: retOf(s), window: o.BetaWindow, minObs: o.BetaMinObs, limit: o.BetaCap}
		if f.x == nil {
			f.missing = noPrices(s)
		}
		lines = append(lines, f)
	}
	for j, s := range o.Spreads {
		f := lineFactor{k: 2 + len(o.Style) + j, window: o.SpreadWindow, minObs: o.SpreadMinObs, limit: o.SpreadCap}
		long, short := retOf(s.Long), retOf(s.Short)
		switch {
		case long == nil:
			f.missing = noPrices(s.Long)
		case short == nil:
			f.missing = noPrices(s.Short)
		default:
			f.x = make([]float64, len(long))
			for i := range long {
				f.x[i] = long[i] - short[i] // NaN when either is
			}
		}
		lines = append(lines, f)
	}

	// The style regression's columns: the proxies with prices.
	var styleCols [][]float64
	var styleK []int
	styleMissing := make([]string, len(o.Style))
	for j, s := range o.Style {
		if r := retOf(s.Proxy); r != nil {
			styleCols = append(styleCols, r)
			styleK = append(styleK, 2+j)
		} else {
			styleMissing[j] = noPrices(s.Proxy)
		}
	}
	ridge := newRidgeSolver(o.RidgeAlpha)
	maxW := max(o.BetaWindow, o.StyleWindow, o.SpreadWindow)
	xs, ys := make([]float64, 0, maxW), make([]float64, 0, maxW)
	cols := make([][]float64, len(styleCols))
	for j := range cols {
		cols[j] = make([]float64, 0, o.StyleWindow)
	}

	// gatherLine collects factor f's observations on [start, d] into xs,
	// ys; gatherStyle the style regression's rows into cols, ys.
	gatherLine := func(f *lineFactor, start, d int) {
		xs, ys = xs[:0], ys[:0]
		for i := start; i <= d; i++ {
			if !math.IsNaN(f.x[i]) && !math.IsNaN(y[i]) {
				xs, ys = append(xs, f.x[i]), append(ys, y[i])
			}
		}
	}
	// styleRow reports whether session i is a row of the style regression
	// and, if so, leaves it in row: the proxies' returns, then the symbol's.
	row := make([]float64, len(styleCols)+1)
	styleRow := func(i int) bool {
		if math.IsNaN(y[i]) {
			return false
		}
		for j, c := range styleCols {
			if math.IsNaN(c[i]) {
				return false
			}
			row[j] = c[i]
		}
		row[len(styleCols)] = y[i]
		return true
	}
	gatherStyle := func(start, d int) {
		ys = ys[:0]
		for j := range cols {
			cols[j] = cols[j][:0]
		}
		for i := start; i <= d; i++ {
			if styleRow(i) {
				ys = append(ys, y[i])
				for j := range cols {
					cols[j] = append(cols[j], row[j])
				}
			}
		}
	}
	// fitStyle is the from-scratch style fit of the gathered rows.
	fitStyle := func(vals []betaValue) {
		n := len(ys)
		if n < o.StyleMinObs {
			for _, k := range styleK {
				vals[k] = betaValue{obs: n, reason: tooFew(n, o.StyleMinObs)}
			}
			return
		}
		fit, err := ridge.fit(cols, ys)
		for j, k := range styleK {
			switch {
			case fit.dropped[j]:
				vals[k] = betaValue{obs: n, reason: errZeroVariance.Error()}
			case err != nil:
				vals[k] = betaValue{obs: n, reason: err.Error()}
			default:
				vals[k] = betaValue{value: fit.coef[j], ok: true, obs: n}
			}
		}
	}

	// The rolling co-moments: [x, y] per line factor, [style proxies…, y]
	// for the ridge, each with the session of its last from-scratch sync.
	lineMom := make([]*rollingMoments, len(lines))
	lineSynced := make([]int, len(lines))
	for li := range lines {
		lineMom[li] = newRollingMoments(2)
	}
	pair := make([][]float64, 2)
	styleMom := newRollingMoments(len(styleCols) + 1)
	styleSync := make([][]float64, len(styleCols)+1)
	styleSynced := 0
	coef := make([]float64, len(styleCols))

	// rolls reports whether day d slides the sums of a factor last synced
	// at synced, rather than syncing them.
	rolls := func(d, synced int) bool {
		if syncAt != nil {
			return d > d0 && !syncAt(d)
		}
		return d > first && d-synced < symbolBetasSyncEvery
	}
	out.vals = make([][]betaValue, last-first+1)
	flat := make([]betaValue, (last-first+1)*nf)
	scratch := make([]betaValue, nf) // the days before first, computed only to roll
	for d := d0; d <= last; d++ {
		vals := scratch
		if d >= first {
			vals = flat[(d-first)*nf : (d-first+1)*nf : (d-first+1)*nf]
			out.vals[d-first] = vals
		} else {
			clear(scratch)
		}

		for li := range lines {
			f := &lines[li]
			if f.missing != "" {
				vals[f.k] = betaValue{reason: f.missing}
				continue
			}
			mom, start := lineMom[li], max(lo, d-f.window+1)
			if rolls(d, lineSynced[li]) {
				// Slide the window one session: the session leaving it
				// was an observation if both returns existed.
				if i := d - f.window; i >= lo && !math.IsNaN(f.x[i]) && !math.IsNaN(y[i]) {
					mom.remove([]float64{f.x[i], y[i]})
				}
				if !math.IsNaN(f.x[d]) && !math.IsNaN(y[d]) {
					mom.add([]float64{f.x[d], y[d]})
				}
				if v, ok := lineBetaMoments(mom, f.minObs, f.limit); ok {
					vals[f.k] = v
					continue
				}
			}
			gatherLine(f, start, d)
			pair[0], pair[1] = xs, ys
			mom.sync(pair)
			lineSynced[li] = d
			vals[f.k] = lineBeta(xs, ys, f.minObs, f.limit)
		}

		for j, why := range styleMissing {
			if why != "" {
				vals[2+j] = betaValue{reason: why}
			}
		}
		if len(styleCols) == 0 {
			continue
		}
		if rolls(d, styleSynced) {
			if i := d - o.StyleWindow; i >= lo && styleRow(i) {
				styleMom.remove(row)
			}
			if styleRow(d) {
				styleMom.add(row)
			}
			if n := styleMom.n; n < o.StyleMinObs {
				for _, k := range styleK {
					vals[k] = betaValue{obs: n, reason: tooFew(n, o.StyleMinObs)}
				}
				continue
			}
			trusted := true
			for j := range styleMom.m {
				if styleMom.drifted(j) {
					trusted = false
					break
				}
			}
			if trusted && ridge.fitMoments(styleMom, coef) {
				for j, k := range styleK {
					vals[k] = betaValue{value: coef[j], ok: true, obs: styleMom.n}
				}
				continue
			}
		}
		gatherStyle(max(lo, d-o.StyleWindow+1), d)
		copy(styleSync, cols)
		styleSync[len(cols)] = ys
		styleMom.sync(styleSync)
		styleSynced = d
		fitStyle(vals)
	}
	return out
}

// symbolBetasSyncEvery is how many sessions computeSymbolBetas slides its
// rolling co-moments before recomputing them from scratch by two passes.
// Removing a row by Welford's update is exact only in exact arithmetic:
// every update leaves its rounding (a few ε times the update) in the
// co-moments, and sliding never forgets it, so without syncs the error
// would grow with the length of the run, and a variance that fell far
// below its past would carry the absolute error of that past (and the
// running means' rounding, which each update passes on, grows with the
// number of updates). Syncing every 64 sessions bounds what the co-moments
// carry to at most 2·64 updates (an add and a remove a session) of the
// window's own size, and costs one two-pass window every 64 days, 1/64 of
// computing every day from scratch. In between, rollingMoments.drifted
// forces a sync whenever a rolling variance is not trustworthy, and a
// window whose count drops to 0 is reset exactly (rollingMoments.remove).
const symbolBetasSyncEvery = 64

// lineBetaMoments is lineBeta from rolling co-moments of [x, y]: the slope
// C_xy / C_xx. It returns false, for the caller to recompute from
// scratch, when x's or y's variance cannot be trusted to decide between a
// slope and "zero variance" or to give the slope to full accuracy
// (rollingMoments.drifted) or the slope is not finite.
func lineBetaMoments(r *rollingMoments, minObs int, limit float64) (betaValue, bool) {
	n := r.n
	if n < minObs {
		return betaValue{obs: n, reason: tooFew(n, minObs)}, true
	}
	if n < 2 || r.drifted(0) || r.drifted(1) {
		return betaValue{}, false
	}
	slope := r.c[1] / r.c[0]
	if !finite(slope) || !finite(r.mean[1]-slope*r.mean[0]) {
		return betaValue{}, false
	}
	v := betaValue{value: slope, ok: true, obs: n}
	if math.Abs(v.value) > limit {
		v.value, v.capped = math.Copysign(limit, v.value), true
	}
	return v, true
}

// lineBeta is the OLS slope of ys on xs, capped at ±limit, or not ok below
// minObs observations or when xs does not vary.
func lineBeta(xs, ys []float64, minObs int, limit float64) betaValue {
	n := len(xs)
	if n < minObs {
		return betaValue{obs: n, reason: tooFew(n, minObs)}
	}
	f, err := fitLine(xs, ys)
	if err != nil {
		return betaValue{obs: n, reason: err.Error()}
	}
	v := betaValue{value: f.slope, ok: true, obs: n}
	if math.Abs(v.value) > limit {
		v.value, v.capped = math.Copysign(limit, v.value), true
	}
	return v
}
