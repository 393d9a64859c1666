package batch

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// riskSeries lays prices on consecutive sessions through newSeries, as the
// engine does; NaN marks a session without a close, whose price is carried
// forward.
func riskSeries(prices []float64) *series {
	days := make([]time.Time, len(prices))
	d0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var closes []Close
	for i, p := range prices {
		days[i] = d0.AddDate(0, 0, i)
		if !math.IsNaN(p) {
			closes = append(closes, Close{Date: days[i], Value: p})
		}
	}
	return newSeries(&axis{days: days}, closes)
}

// riskPrices compounds daily returns from 100: prices[i] = prices[i−1] ×
// (1 + r[i]); r[0] is ignored.
func riskPrices(r []float64) []float64 {
	p := make([]float64, len(r))
	p[0] = 100
	for i := 1; i < len(r); i++ {
		p[i] = p[i-1] * (1 + r[i])
	}
	return p
}

// riskNoise returns n normal daily returns with standard deviation sd.
func riskNoise(rng *rand.Rand, n int, sd float64) []float64 {
	r := make([]float64, n)
	for i := range r {
		r[i] = sd * rng.NormFloat64()
	}
	return r
}

// riskWorld is a full set of proxies over n sessions with independent
// random returns, and their returns.
func riskWorld(rng *rand.Rand, n int) (map[string]*series, map[string][]float64) {
	proxies := map[string]*series{}
	rets := map[string][]float64{}
	for _, s := range (*AnalyticsConfig)(nil).Proxies() {
		r := riskNoise(rng, n, 0.01)
		rets[s] = r
		proxies[s] = riskSeries(riskPrices(r))
	}
	return proxies, rets
}

// riskFactorIndex returns factor name's index in the default order.
func riskFactorIndex(t testing.TB, name string) int {
	for k, f := range (*AnalyticsConfig)(nil).Factors() {
		if f == name {
			return k
		}
	}
	t.Fatalf("no factor %q", name)
	return -1
}

func TestAnalyticsConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := (*AnalyticsConfig)(nil).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := AnalyticsConfig{
		Market: "SPY", Rates: "TLT", Style: DefaultStyleFactors(), Spreads: DefaultSpreadFactors(),
		BetaWindow: 90, BetaMinObs: 30, BetaCap: 5,
		StyleWindow: 90, StyleMinObs: 30, RidgeAlpha: 1,
		SpreadWindow: 180, SpreadMinObs: 60, SpreadCap: 5,
		VolShortWindow: 21, VolLongWindow: 63,
		RealizedBetaWindow: 90, RealizedBetaMinObs: 30,
		Stress: StressConfig{RateDuration: 17, EWMALambda: 0.94, EWMAWindow: 252, EWMAMinObs: 30},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	factors := []string{
		FactorMarketBeta, FactorRateBeta,
		FactorValue, FactorGrowth, FactorMomentum, FactorQuality, FactorSize, FactorLowVolatility,
		FactorGrowthValueSpread, FactorMomentumSpread, FactorSizeSpread, FactorQualitySpread,
	}
	if got := c.Factors(); !reflect.DeepEqual(got, factors) {
		t.Errorf("Factors() = %v", got)
	}
	proxies := []string{"SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"}
	if got := c.Proxies(); !reflect.DeepEqual(got, proxies) {
		t.Errorf("Proxies() = %v", got)
	}
	if got := c.Lookback(); got != 181 {
		t.Errorf("Lookback() = %d, want 181", got)
	}
	// WithDefaults works on a copy.
	var zero AnalyticsConfig
	if _, err := zero.withDefaults(); err != nil || zero.Market != "" {
		t.Errorf("WithDefaults changed its receiver or failed: %v", err)
	}
	custom := &AnalyticsConfig{
		Market: "VOO", Style: []StyleFactor{{"tech", "XLK"}},
		Spreads: []SpreadFactor{{"tech_spread", "XLK", "VOO"}}, BetaWindow: 60, SpreadWindow: 250,
	}
	if got := custom.Factors(); !reflect.DeepEqual(got, []string{FactorMarketBeta, FactorRateBeta, "tech", "tech_spread"}) {
		t.Errorf("custom Factors() = %v", got)
	}
	if got := custom.Proxies(); !reflect.DeepEqual(got, []string{"VOO", "TLT", "XLK"}) {
		t.Errorf("custom Proxies() = %v", got)
	}
	if got := custom.Lookback(); got != 251 {
		t.Errorf("custom Lookback() = %d, want 251", got)
	}
}

func TestAnalyticsConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  AnalyticsConfig
		want string // substring of the error
	}{
		{"window below minimum", AnalyticsConfig{BetaWindow: 20}, "BetaWindow 20 must be at least BetaMinObs (30)"},
		{"minimum below 2", AnalyticsConfig{SpreadMinObs: 1}, "SpreadMinObs 1 must be at least 2"},
		{"negative window", AnalyticsConfig{StyleWindow: -5}, "StyleWindow -5"},
		{"negative cap", AnalyticsConfig{BetaCap: -1}, "BetaCap -1 must be a positive number"},
		{"NaN cap", AnalyticsConfig{SpreadCap: math.NaN()}, "SpreadCap NaN"},
		{"negative alpha", AnalyticsConfig{RidgeAlpha: -0.5}, "RidgeAlpha -0.5"},
		{"vol window", AnalyticsConfig{VolShortWindow: 1}, "VolShortWindow 1"},
		{"realized beta", AnalyticsConfig{RealizedBetaMinObs: 100}, "RealizedBetaWindow 90 must be at least RealizedBetaMinObs (100)"},
		{"duplicate name", AnalyticsConfig{Style: []StyleFactor{{"value", "VTV"}, {"value", "IWD"}}}, `factor name "value" used twice`},
		{"name clash with beta", AnalyticsConfig{Spreads: []SpreadFactor{{FactorMarketBeta, "VUG", "VTV"}}}, `factor name "market_beta" used twice`},
		{"empty name", AnalyticsConfig{Style: []StyleFactor{{"", "VTV"}}}, "a factor has no Name"},
		{"no proxy", AnalyticsConfig{Style: []StyleFactor{{"value", ""}}}, `style factor "value" needs a Proxy`},
		{"same legs", AnalyticsConfig{Spreads: []SpreadFactor{{"x", "SPY", "SPY"}}}, "Long and Short are both SPY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	ok := AnalyticsConfig{BetaWindow: 30, BetaMinObs: 30, RidgeAlpha: 0.5, SpreadMinObs: 2, SpreadWindow: 2}
	if _, err := ok.withDefaults(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

// TestBetaClosedForm: returns exactly 1.5 × the market's give a market
// beta of 1.5, and 8 × the market's a beta capped at 5.
func TestBetaClosedForm(t *testing.T) {
	t.Parallel()
	const n = 300
	rng := rand.New(rand.NewPCG(1, 5))
	proxies, rets := riskWorld(rng, n)
	mkt := riskFactorIndex(t, FactorMarketBeta)
	for _, tt := range []struct {
		mult, want float64
		capped     bool
	}{{1.5, 1.5, false}, {-0.7, -0.7, false}, {8, 5, true}, {-8, -5, true}, {4.9, 4.9, false}} {
		r := make([]float64, n)
		for i := range r {
			r[i] = tt.mult * rets["SPY"][i]
		}
		b := computeSymbolBetas(nil, riskSeries(riskPrices(r)), proxies, 200, n-1)
		for d := 200; d < n; d++ {
			v := b.at(d)[mkt]
			if !v.ok || v.obs != 90 || v.capped != tt.capped || math.Abs(v.value-tt.want) > 1e-12 {
				t.Fatalf("×%v day %d: %+v, want %v capped %v over 90 observations", tt.mult, d, v, tt.want, tt.capped)
			}
		}
	}
}

func TestBetaNotOK(t *testing.T) {
	t.Parallel()
	const n = 300
	rng := rand.New(rand.NewPCG(2, 5))
	proxies, _ := riskWorld(rng, n)
	sym := riskSeries(riskPrices(riskNoise(rng, n, 0.01)))
	k := func(name string) int { return riskFactorIndex(t, name) }

	t.Run("flat benchmark", func(t *testing.T) {
		ps := map[string]*series{}
		for s, v := range proxies {
			ps[s] = v
		}
		flat := make([]float64, n)
		for i := range flat {
			flat[i] = 412.5
		}
		ps["SPY"] = riskSeries(flat)
		v := computeSymbolBetas(nil, sym, ps, 250, 250).at(250)
		if m := v[k(FactorMarketBeta)]; m.ok || m.reason != "zero variance" || m.obs != 90 || m.value != 0 {
			t.Errorf("market beta on a flat SPY: %+v", m)
		}
		// The spreads against SPY are then just their long legs: fine.
		if s := v[k(FactorSizeSpread)]; !s.ok {
			t.Errorf("size spread: %+v", s)
		}
	})

	t.Run("too few observations", func(t *testing.T) {
		// The symbol trades only on the last 13 sessions: 12 returns.
		p := riskPrices(riskNoise(rng, n, 0.01))
		for i := range n - 13 {
			p[i] = math.NaN()
		}
		v := computeSymbolBetas(nil, riskSeries(p), proxies, n-1, n-1).at(n - 1)
		for name, want := range map[string]string{
			FactorMarketBeta:        "too few observations (12 < 30)",
			FactorRateBeta:          "too few observations (12 < 30)",
			FactorQuality:           "too few observations (12 < 30)",
			FactorGrowthValueSpread: "too few observations (12 < 60)",
		} {
			if b := v[k(name)]; b.ok || b.reason != want || b.obs != 12 {
				t.Errorf("%s: %+v, want reason %q", name, b, want)
			}
		}
	})

	t.Run("missing proxies", func(t *testing.T) {
		ps := map[string]*series{}
		for s, v := range proxies {
			ps[s] = v
		}
		delete(ps, "TLT")
		ps["VTV"] = nil
		v := computeSymbolBetas(nil, sym, ps, 250, 250).at(250)
		for name, want := range map[string]string{
			FactorRateBeta:          "no prices for proxy TLT",
			FactorValue:             "no prices for proxy VTV",
			FactorGrowthValueSpread: "no prices for proxy VTV",
		} {
			if b := v[k(name)]; b.ok || b.reason != want {
				t.Errorf("%s: %+v, want reason %q", name, b, want)
			}
		}
		// The other style factors are fitted on the proxies that remain.
		for _, name := range []string{FactorMarketBeta, FactorGrowth, FactorLowVolatility, FactorMomentumSpread} {
			if b := v[k(name)]; !b.ok {
				t.Errorf("%s: %+v, want ok", name, b)
			}
		}
		none := computeSymbolBetas(nil, sym, nil, 250, 250).at(250)
		if b := none[k(FactorMomentum)]; b.ok || b.reason != "no prices for proxy MTUM" {
			t.Errorf("no proxies at all: %+v", b)
		}
	})

	t.Run("no symbol prices", func(t *testing.T) {
		v := computeSymbolBetas(nil, nil, proxies, 250, 250).at(250)
		for k, b := range v {
			if b.ok || b.obs != 0 || !strings.HasPrefix(b.reason, "too few observations (0 < ") {
				t.Errorf("factor %d: %+v", k, b)
			}
		}
	})
}

// TestBetaWindowSemantics pins down which sessions a window holds: the
// returns on D−W+1…D, each needing real closes on its session and the one
// before, so a carried-forward price removes two returns.
func TestBetaWindowSemantics(t *testing.T) {
	t.Parallel()
	const n, d = 300, 250
	rng := rand.New(rand.NewPCG(3, 5))
	proxies, rets := riskWorld(rng, n)
	symRet := make([]float64, n)
	for i := range symRet {
		symRet[i] = 0.9*rets["SPY"][i] + 0.006*rng.NormFloat64()
	}
	mkt := riskFactorIndex(t, FactorMarketBeta)
	// want fits the returns on sessions [from, d] except skip.
	want := func(from int, skip ...int) (float64, int) {
		var xs, ys []float64
	next:
		for i := from; i <= d; i++ {
			for _, s := range skip {
				if i == s {
					continue next
				}
			}
			xs, ys = append(xs, rets["SPY"][i]), append(ys, symRet[i])
		}
		f, err := fitLine(xs, ys)
		if err != nil {
			t.Fatal(err)
		}
		return f.slope, len(xs)
	}
	tests := []struct {
		name    string
		gap     int   // session without the symbol's close, -1 for none
		spyGap  int   // session without SPY's close, -1 for none
		skipped []int // returns left out
	}{
		{"full window", -1, -1, nil},
		{"gap inside", 200, -1, []int{200, 201}},
		{"gap on the window's last day", d, -1, []int{d}},
		{"gap on the first return's base", d - 90, -1, []int{d - 89}},
		{"gap just outside", d - 91, -1, nil},
		{"gap in the benchmark", -1, 180, []int{180, 181}},
		{"gaps in both", 200, 230, []int{200, 201, 230, 231}},
		{"day after the window", d + 1, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := riskPrices(symRet)
			ps := map[string]*series{}
			for s, v := range proxies {
				ps[s] = v
			}
			if tt.gap >= 0 {
				p[tt.gap] = math.NaN()
			}
			if tt.spyGap >= 0 {
				spy := riskPrices(rets["SPY"])
				spy[tt.spyGap] = math.NaN()
				ps["SPY"] = riskSeries(spy)
			}
			got := computeSymbolBetas(nil, riskSeries(p), ps, d, d).at(d)[mkt]
			wantV, wantN := want(d-89, tt.skipped...)
			if !got.ok || got.obs != wantN || math.Abs(got.value-wantV) > 1e-13 {
				t.Errorf("%+v, want %.15g over %d observations", got, wantV, wantN)
			}
		})
	}

	// Using the carried-forward price instead would give another value:
	// the test above can tell the difference.
	p := riskPrices(symRet)
	carried := append([]float64(nil), symRet...)
	carried[200], carried[201] = 0, p[201]/p[199]-1
	var xs, ys []float64
	for i := d - 89; i <= d; i++ {
		xs, ys = append(xs, rets["SPY"][i]), append(ys, carried[i])
	}
	f, _ := fitLine(xs, ys)
	if wantV, _ := want(d-89, 200, 201); math.Abs(f.slope-wantV) < 1e-6 {
		t.Errorf("carried-forward and real-price betas agree (%v): the gap test is blind", f.slope)
	}

	// A window reaching before the axis uses what there is.
	early := computeSymbolBetas(nil, riskSeries(riskPrices(symRet)), proxies, 40, 40).at(40)[mkt]
	if !early.ok || early.obs != 40 {
		t.Errorf("day 40: %+v, want 40 observations (sessions 1…40)", early)
	}
}

// riskRefReturn is the daily return on session i, computed directly from
// the series.
func riskRefReturn(s *series, i int) (float64, bool) {
	if s == nil || !s.isReal(i) || !s.isReal(i-1) || !(s.value[i-1] > 0) {
		return 0, false
	}
	return s.value[i]/s.value[i-1] - 1, true
}

// riskRefBetas computes one day's betas from scratch, directly from the
// series and by other solvers (QR for the lines, augmented QR for the
// ridge), as the reference the analytics must match.
func riskRefBetas(t *testing.T, cfg *AnalyticsConfig, sym *series, ps map[string]*series, d int) []betaValue {
	t.Helper()
	c, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]betaValue, len(c.Factors()))
	line := func(k int, x func(i int) (float64, bool), w, minObs int, limit float64) {
		var xs, ys []float64
		for i := d - w + 1; i <= d; i++ {
			xv, okx := x(i)
			yv, oky := riskRefReturn(sym, i)
			if okx && oky {
				xs, ys = append(xs, xv), append(ys, yv)
			}
		}
		if len(xs) < minObs {
			out[k] = betaValue{obs: len(xs), reason: tooFew(len(xs), minObs)}
			return
		}
		flat := true
		for _, v := range xs {
			flat = flat && v == xs[0]
		}
		if flat {
			out[k] = betaValue{obs: len(xs), reason: "zero variance"}
			return
		}
		b, err := fitOLS([][]float64{xs}, ys)
		if err != nil {
			out[k] = betaValue{obs: len(xs), reason: "zero variance"}
			return
		}
		v := betaValue{value: b[1], ok: true, obs: len(xs)}
		if math.Abs(v.value) > limit {
			v.value, v.capped = math.Copysign(limit, v.value), true
		}
		out[k] = v
	}
	of := func(s string) func(int) (float64, bool) {
		return func(i int) (float64, bool) { return riskRefReturn(ps[s], i) }
	}
	line(0, of(c.Market), c.BetaWindow, c.BetaMinObs, c.BetaCap)
	line(1, of(c.Rates), c.BetaWindow, c.BetaMinObs, c.BetaCap)
	for j, s := range c.Spreads {
		line(2+len(c.Style)+j, func(i int) (float64, bool) {
			l, okl := riskRefReturn(ps[s.Long], i)
			r, oks := riskRefReturn(ps[s.Short], i)
			return l - r, okl && oks
		}, c.SpreadWindow, c.SpreadMinObs, c.SpreadCap)
	}
	cols := make([][]float64, len(c.Style))
	var ys []float64
rows:
	for i := d - c.StyleWindow + 1; i <= d; i++ {
		yv, ok := riskRefReturn(sym, i)
		if !ok {
			continue
		}
		row := make([]float64, len(c.Style))
		for j, s := range c.Style {
			if row[j], ok = riskRefReturn(ps[s.Proxy], i); !ok {
				continue rows
			}
		}
		ys = append(ys, yv)
		for j := range cols {
			cols[j] = append(cols[j], row[j])
		}
	}
	if len(ys) < c.StyleMinObs {
		for j := range c.Style {
			out[2+j] = betaValue{obs: len(ys), reason: tooFew(len(ys), c.StyleMinObs)}
		}
		return out
	}
	// A proxy whose returns are all equal is left out as zero variance.
	var varying [][]float64
	var ks []int
	for j, col := range cols {
		flat := true
		for _, v := range col {
			flat = flat && v == col[0]
		}
		if flat {
			out[2+j] = betaValue{obs: len(ys), reason: "zero variance"}
			continue
		}
		varying, ks = append(varying, col), append(ks, 2+j)
	}
	if len(varying) > 0 {
		for a, b := range riskRidgeReference(t, varying, ys, c.RidgeAlpha) {
			out[ks[a]] = betaValue{value: b, ok: true, obs: len(ys)}
		}
	}
	return out
}

// TestBetaRollingMatchesFromScratch: on random series with random gaps,
// every day of a multi-day computation (rolling co-moments) matches the
// same day computed alone (from scratch by two passes) and an independent
// from-scratch reference on its window: the same ok, obs, reason and
// capped, and values within rollingTol relative (with an absolute floor of
// 1, riskClose). The cases include long runs (many syncs), a volatile
// stretch followed by a calm one (the variance falling far below what
// went through the rolling sums), and proxies that go flat (zero variance
// and the dropped ridge column decided on rolling values).
func TestBetaRollingMatchesFromScratch(t *testing.T) {
	t.Parallel()
	// The observed differences are below 1e-13 (logged); the tolerance
	// leaves room for other seeds.
	const rollingTol = 1e-10
	for _, tt := range []struct {
		name    string
		cfg     *AnalyticsConfig
		n       int
		gapProb float64
		mixed   bool // some values ok, some not
		regime  bool // volatility ×10 on sessions [200, 300), then calm
		flat    bool // some proxies flat on some stretches
	}{
		{"defaults, 5% gaps", nil, 400, 0.05, false, false, false},
		{"defaults, 10% gaps", nil, 400, 0.10, true, false, false},
		{"short windows, 5% gaps", &AnalyticsConfig{BetaWindow: 20, BetaMinObs: 10, StyleWindow: 25, StyleMinObs: 10,
			SpreadWindow: 30, SpreadMinObs: 20, RidgeAlpha: 3}, 400, 0.05, true, false, false},
		{"long run, 3% gaps", nil, 1500, 0.03, false, false, false},
		{"volatility regimes", nil, 900, 0.05, false, true, false},
		{"flat proxies", nil, 900, 0.05, true, false, true},
		{"short windows, regimes and flat", &AnalyticsConfig{BetaWindow: 20, BetaMinObs: 10, StyleWindow: 25,
			StyleMinObs: 10, SpreadWindow: 30, SpreadMinObs: 20}, 900, 0.08, true, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(42, uint64(tt.gapProb*100)+uint64(tt.n)))
			n := tt.n
			scale := func(r []float64) {
				if tt.regime {
					for i := 200; i < 300 && i < n; i++ {
						r[i] *= 10
					}
				}
			}
			gappy := func(r []float64) *series {
				p := riskPrices(r)
				for i := range p {
					if rng.Float64() < tt.gapProb {
						p[i] = math.NaN()
					}
				}
				return riskSeries(p)
			}
			ps := map[string]*series{}
			var mkt []float64
			for j, s := range tt.cfg.Proxies() {
				r := riskNoise(rng, n, 0.01)
				scale(r)
				if s == "SPY" {
					mkt = r
				}
				if tt.flat && s != "SPY" && j%2 == 1 {
					// Flat for a stretch longer than every window: the
					// factors using it go to zero variance and back.
					a := 250 + 60*j
					for i := a; i < a+200 && i < n; i++ {
						r[i] = 0
					}
				}
				ps[s] = gappy(r)
			}
			symRet := make([]float64, n)
			for i := range symRet {
				symRet[i] = 1.1*mkt[i] + 0.01*rng.NormFloat64()
			}
			sym := gappy(symRet)
			first, last := 181, n-1
			all := computeSymbolBetas(tt.cfg, sym, ps, first, last)
			notOK := 0
			var maxAlone, maxRef float64
			tooFewN, zeroVar := 0, 0
			for d := first; d <= last; d++ {
				got := all.at(d)
				alone := computeSymbolBetas(tt.cfg, sym, ps, d, d).at(d)
				want := riskRefBetas(t, tt.cfg, sym, ps, d)
				for k := range want {
					g, a, w := got[k], alone[k], want[k]
					if g.ok != a.ok || g.obs != a.obs || g.reason != a.reason || g.capped != a.capped ||
						!riskClose(g.value, a.value, rollingTol) {
						t.Fatalf("day %d factor %d: in a range %+v, alone %+v", d, k, g, a)
					}
					if g.ok != w.ok || g.obs != w.obs || g.reason != w.reason || g.capped != w.capped ||
						!riskClose(g.value, w.value, rollingTol) {
						t.Fatalf("day %d factor %d: got %+v, reference %+v", d, k, g, w)
					}
					rel := func(b float64) float64 {
						return math.Abs(g.value-b) / math.Max(1, math.Max(math.Abs(g.value), math.Abs(b)))
					}
					maxAlone, maxRef = max(maxAlone, rel(a.value)), max(maxRef, rel(w.value))
					if !g.ok {
						notOK++
						if g.reason == "zero variance" {
							zeroVar++
						} else {
							tooFewN++
						}
					}
				}
			}
			total := (last - first + 1) * len(tt.cfg.Factors())
			t.Logf("%d day-factors, %d not ok (%d too few, %d zero variance); max relative difference %.3g vs alone, %.3g vs reference",
				total, notOK, tooFewN, zeroVar, maxAlone, maxRef)
			if tt.mixed && (notOK == 0 || notOK == total) {
				t.Errorf("%d of %d not ok: the case should mix both", notOK, total)
			}
			if tt.flat && zeroVar == 0 {
				t.Errorf("no zero-variance values: the case should have some")
			}
		})
	}
}

// TestBetaStyle fits the style factors on a symbol built from them and
// checks the zero-variance rule for a proxy that did not move.
func TestBetaStyle(t *testing.T) {
	t.Parallel()
	const n, d = 300, 260
	rng := rand.New(rand.NewPCG(6, 5))
	proxies, rets := riskWorld(rng, n)
	loadings := map[string]float64{"VTV": 0.6, "VUG": 0.4, "MTUM": -0.2, "QUAL": 0.3, "IWM": 0.5, "USMV": -0.1}
	r := make([]float64, n)
	for i := range r {
		r[i] = 0.004 * rng.NormFloat64()
		for s, l := range loadings {
			r[i] += l * rets[s][i]
		}
	}
	sym := riskSeries(riskPrices(r))
	v := computeSymbolBetas(nil, sym, proxies, d, d).at(d)
	for j, s := range DefaultStyleFactors() {
		b := v[2+j]
		if !b.ok || b.obs != 90 || b.capped {
			t.Fatalf("%s: %+v", s.Name, b)
		}
		// Ridge shrinks, but with 90 observations and α = 1 only a
		// little: the fitted loadings are near the true ones.
		if math.Abs(b.value-loadings[s.Proxy]) > 0.1 {
			t.Errorf("%s = %v, loading %v", s.Name, b.value, loadings[s.Proxy])
		}
	}

	// USMV flat over the window: dropped, the others fitted without it.
	usmv := riskPrices(rets["USMV"])
	for i := d - 100; i <= d; i++ {
		usmv[i] = 50
	}
	ps := map[string]*series{}
	for s, v := range proxies {
		ps[s] = v
	}
	ps["USMV"] = riskSeries(usmv)
	v = computeSymbolBetas(nil, sym, ps, d, d).at(d)
	low := riskFactorIndex(t, FactorLowVolatility)
	if b := v[low]; b.ok || b.reason != "zero variance" || b.obs != 90 {
		t.Errorf("low volatility on a flat USMV: %+v", b)
	}
	var cols [][]float64
	var ys []float64
	for i := d - 89; i <= d; i++ {
		ys = append(ys, r[i])
	}
	for _, s := range DefaultStyleFactors()[:5] {
		cols = append(cols, rets[s.Proxy][d-89:d+1])
	}
	ref := riskRidgeReference(t, cols, ys, 1)
	for j := range 5 {
		if b := v[2+j]; !b.ok || !riskClose(b.value, ref[j], 1e-10) {
			t.Errorf("factor %d without USMV: %+v, want %v", 2+j, b, ref[j])
		}
	}
}

func TestAnalyticsReasonTexts(t *testing.T) {
	t.Parallel()
	if got := tooFew(12, 30); got != "too few observations (12 < 30)" {
		t.Errorf("tooFew = %q", got)
	}
	if !errors.Is(errZeroVariance, errZeroVariance) || errZeroVariance.Error() != "zero variance" {
		t.Errorf("zero variance reason %q", errZeroVariance)
	}
}

// BenchmarkSymbolBetas computes the twelve factor betas of one symbol over
// 252 days (with a full look-back), reporting the cost per symbol-day.
func BenchmarkSymbolBetas(b *testing.B) {
	riskBenchBetas(b, nil, 252)
}

// BenchmarkSymbolBetasWindows shows the cost per day nearly independent of
// the windows: the co-moments roll, and only the periodic from-scratch
// syncs (one window every symbolBetasSyncEvery days) grow with them.
func BenchmarkSymbolBetasWindows(b *testing.B) {
	for _, scale := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("windows_x%d", scale), func(b *testing.B) {
			riskBenchBetas(b, &AnalyticsConfig{
				BetaWindow: 90 * scale, StyleWindow: 90 * scale, SpreadWindow: 180 * scale,
			}, 252)
		})
	}
}

func riskBenchBetas(b *testing.B, c *AnalyticsConfig, days int) {
	cfg, err := c.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	n := cfg.Lookback() + days
	rng := rand.New(rand.NewPCG(9, 9))
	proxies, rets := riskWorld(rng, n)
	r := make([]float64, n)
	for i := range r {
		r[i] = 1.2*rets["SPY"][i] + 0.01*rng.NormFloat64()
	}
	sym := riskSeries(riskPrices(r))
	first := n - days
	for b.Loop() {
		computeSymbolBetas(&cfg, sym, proxies, first, n-1)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*days), "ns/day")
}

// With monthly syncs (the engine's), a day's betas do not depend on the
// range computed: day by day and all at once agree to the last bit.
func TestSymbolBetasAnchoredRangeIndependent(t *testing.T) {
	t.Parallel()
	cal := NewNYSECalendar()
	ax := newAxis(cal, date("2023-01-03"), date("2024-12-31"))
	n := ax.len()
	rng := rand.New(rand.NewPCG(11, 12))
	walk := func(vol float64, gaps bool) *series {
		var cs []Close
		p := 100.0
		for i := range n {
			p *= 1 + vol*rng.NormFloat64()
			if gaps && rng.IntN(15) == 0 {
				continue
			}
			cs = append(cs, Close{Date: ax.days[i], Value: p})
		}
		return newSeries(ax, cs)
	}
	proxies := map[string]*series{}
	for _, p := range (&AnalyticsConfig{}).Proxies() {
		proxies[p] = walk(0.01, false)
	}
	sym := walk(0.02, true)
	cfg := &AnalyticsConfig{}
	sync := syncMonthly(ax)
	all := computeSymbolBetasAt(cfg, sym, proxies, 300, n-1, sync)
	for _, first := range []int{301, 317, 350, 420, n - 1} {
		part := computeSymbolBetasAt(cfg, sym, proxies, first, n-1, sync)
		for d := first; d < n; d++ {
			a, b := all.at(d), part.at(d)
			for k := range a {
				if a[k] != b[k] {
					t.Fatalf("day %d factor %d: all-at-once %+v, from %d %+v", d, k, a[k], first, b[k])
				}
			}
		}
	}
}
