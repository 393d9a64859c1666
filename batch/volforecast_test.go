package batch

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The HAR pairs of v = 1, 2, …, 50, by hand: the first pair's day is the
// 22nd value (t = 21), its regressors 22, mean(18…22) = 20 and mean(1…22)
// = 11.5, its target mean(23…43) = 33; the last pair's day is the 29th
// value, whose target ends on the 50th; 50 − 42 = 8 pairs.
func TestHARPairsByHand(t *testing.T) {
	t.Parallel()
	v := make([]float64, 50)
	for i := range v {
		v[i] = float64(i + 1)
	}
	cols, y := harPairs(v)
	if len(y) != 8 || len(cols[0]) != 8 {
		t.Fatalf("%d pairs, want 8", len(y))
	}
	if cols[0][0] != 22 || cols[1][0] != 20 || cols[2][0] != 11.5 || y[0] != 33 {
		t.Errorf("first pair x = [%g %g %g] y = %g, want [22 20 11.5] 33", cols[0][0], cols[1][0], cols[2][0], y[0])
	}
	if cols[0][7] != 29 || y[7] != 40 {
		t.Errorf("last pair v_t = %g y = %g, want 29 and mean(30…50) = 40", cols[0][7], y[7])
	}
}

// The HAR regression recovers known coefficients to 1e-9: targets built as
// x_t·β exactly from a series' own regressors.
func TestHARRecoversKnownCoefficients(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 12))
	v := make([]float64, harReturns)
	for i := range v {
		r := 0.01 * rng.NormFloat64() * (1 + 0.5*math.Sin(float64(i)/9))
		v[i] = r * r
	}
	beta := []float64{2e-5, 0.35, 0.28, 0.22}
	var h harSolver
	h.pairs(v)
	if len(h.y) != HARPairs {
		t.Fatalf("%d pairs from %d returns, want %d", len(h.y), harReturns, HARPairs)
	}
	// The real targets: the fit agrees with the general QR fitter.
	ref, err := fitOLS(h.cols[:], h.y)
	if err != nil {
		t.Fatal(err)
	}
	cols := [3][]float64{slices.Clone(h.cols[0]), slices.Clone(h.cols[1]), slices.Clone(h.cols[2])}
	got, err := olsQR3(&cols, slices.Clone(h.y))
	if err != nil {
		t.Fatal(err)
	}
	for j := range 4 {
		if math.Abs(got[j]-ref[j]) > 1e-10*math.Max(1e-3, math.Abs(ref[j])) {
			t.Errorf("β[%d] = %.15g, fitOLS %.15g", j, got[j], ref[j])
		}
	}
	// Targets built as x_t·β exactly: β is recovered.
	for i := range h.y {
		h.y[i] = beta[0] + beta[1]*h.cols[0][i] + beta[2]*h.cols[1][i] + beta[3]*h.cols[2][i]
	}
	got, err = olsQR3(&h.cols, h.y)
	if err != nil {
		t.Fatal(err)
	}
	for j := range beta {
		if math.Abs(got[j]-beta[j]) > 1e-9*math.Max(1, math.Abs(beta[j])) {
			t.Errorf("β[%d] = %.15g, want %g", j, got[j], beta[j])
		}
	}
}

// The forecast: NULL below 60 pairs, the square root of 252 × a positive
// variance forecast otherwise, and NULL (never a NaN) when the fitted
// variance is not positive.
func TestHARForecast(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	r := make([]float64, 400)
	for i := range r {
		r[i] = 0.012 * rng.NormFloat64()
	}
	if _, why := harForecast(r[:101]); !strings.HasPrefix(why, "too few HAR pairs (59 < 60)") {
		t.Errorf("101 returns: %q, want too few pairs", why)
	}
	v, why := harForecast(r[:102])
	if why != "" || !(v > 0) {
		t.Errorf("102 returns: %g %q, want a forecast", v, why)
	}
	// Only the last 294 returns count.
	a, _ := harForecast(r)
	b, _ := harForecast(r[len(r)-harReturns:])
	if a != b || !(a > 0.05 && a < 0.5) {
		t.Errorf("forecast %g vs %g on the tail; want equal and near 0.012·√252 ≈ 0.19", a, b)
	}
	// A variance that decays fast to zero after a burst extrapolates
	// below zero.
	down := make([]float64, 150)
	for i := range down {
		down[i] = 0.05 * math.Pow(0.9, float64(i%75)) * (1 + 0.1*float64(i%3))
	}
	down[len(down)-1] = 0
	if v, why := harForecast(down); why == "" && !(v > 0) {
		t.Errorf("forecast %g without a reason", v)
	}
}

// Trend: slope per session and R² of the last 21 volatilities.
func TestTrendAndPercentile(t *testing.T) {
	t.Parallel()
	y := make([]float64, 21)
	for i := range y {
		y[i] = 0.2 + 0.01*float64(i)
	}
	if s, r2 := trendFit(y); math.Abs(s-0.01) > 1e-15 || math.Abs(r2-1) > 1e-12 {
		t.Errorf("line: slope %g r2 %g, want 0.01 and 1", s, r2)
	}
	// A zig-zag around a flat line: slope 0 by symmetry... and R² 0.
	for i := range y {
		y[i] = 0.2 + 0.01*float64(1-2*(i%2))
	}
	if s, r2 := trendFit(y); math.Abs(s) > 1e-3 || r2 > 0.3 {
		t.Errorf("zig-zag: slope %g r2 %g, want stable", s, r2)
	}
	prev := []float64{0.1, 0.2, 0.3, 0.3, 0.4}
	if p := percentileBelow(prev, 0.3); p != 0.4 {
		t.Errorf("percentile = %g, want 2/5 (strictly below)", p)
	}
}

// volForecastColumns over a series: the forecast from the 102nd return,
// the trend from the 21st volatility, the percentile from the 127th, and
// a reason for every NULL; history split anywhere gives the same values.
func TestVolForecastColumnsSplit(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	n := 400
	days := make([]day, n)
	var rets []float64
	for k := range days {
		days[k].date = date("2020-01-01").AddDate(0, 0, k)
		if k > 0 {
			days[k].ret, days[k].hasRet = 0.01*rng.NormFloat64(), true
			rets = append(rets, days[k].ret)
		}
		if k >= 21 {
			vol, _ := volatility(rets[len(rets)-21:], 21)
			days[k].vol21, days[k].hasVol21 = vol, true
		}
	}
	var w warnings
	one := append([]day(nil), days...)
	volForecastColumns(one, volHistory{}, &w)
	for k, d := range one {
		wantF, wantT, wantP := k >= 102, k >= 41, k >= 21+126
		if d.hasVolForecast != wantF || d.hasVolTrend != wantT || d.hasVolPercentile != wantP {
			t.Fatalf("day %d: forecast %v trend %v percentile %v", k, d.hasVolForecast, d.hasVolTrend, d.hasVolPercentile)
		}
		if d.hasVolPercentile && (d.volPercentile < 0 || d.volPercentile > 1) {
			t.Errorf("day %d: percentile %g", k, d.volPercentile)
		}
	}
	ws := w.list()
	for _, prefix := range []string{"volatility_forecast_21d: too few HAR pairs", "volatility_trend: fewer than 21",
		"volatility_percentile: fewer than 126"} {
		if !covered(ws, WarnRiskUnavailable, prefix, days[30].date) {
			t.Errorf("no warning %q on day 30: %+v", prefix, ws)
		}
	}
	// Split at 300: the history is what the stored snapshots hold.
	split := 300
	var h volHistory
	for _, d := range days[:split] {
		if d.hasRet {
			h.returns = append(h.returns, d.ret)
		}
		if d.hasVol21 {
			h.vols = append(h.vols, d.vol21)
		}
	}
	h.returns = h.returns[len(h.returns)-harReturns:]
	h.vols = h.vols[len(h.vols)-VolPercentileValues:]
	rest := append([]day(nil), days[split:]...)
	volForecastColumns(rest, h, &warnings{})
	for k := range rest {
		a, b := rest[k].dayRisk, one[split+k].dayRisk
		if [4]float64{a.volForecast, a.volSlope, a.volR2, a.volPercentile} != [4]float64{b.volForecast, b.volSlope, b.volR2, b.volPercentile} {
			t.Fatalf("day %d differs after a split", split+k)
		}
	}
}

func TestAppendMoney(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		x    float64
		want string
	}{{0, "0"}, {1.5, "1.5"}, {-1234.56789, "-1234.5679"}, {0.0001, "0.0001"}, {-0.00004, "0"}, {12.3400, "12.34"}, {1e20, "100000000000000000000.0000"}} {
		if got := string(appendMoney(nil, c.x)); got != c.want {
			t.Errorf("appendMoney(%g) = %q, want %q", c.x, got, c.want)
		}
	}
}
