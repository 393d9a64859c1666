package batch

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The volatility forecast, trend and percentile. Their windows count
// values, not sessions: days without a daily return (or without a
// volatility_21d) are skipped, never zero-filled.
const (
	// HARPairs is how many (regressors, target) pairs the HAR fit uses at
	// most, and HARMinPairs the fewest it accepts.
	HARPairs    = 252
	HARMinPairs = 60
	// harWeek and harMonth are the HAR regressors' windows, harHorizon
	// the target's: 5, 22 and 21 returns.
	harWeek    = 5
	harMonth   = 22
	harHorizon = 21
	// harReturns is how many returns the fit reads: the 22 ending the
	// oldest pair's day, and the 21 after the newest pair's.
	harReturns = HARPairs + harMonth + harHorizon - 1
	// VolTrendValues is how many volatility_21d values the trend fits.
	VolTrendValues = 21
	// VolPercentileValues is how many earlier volatility_21d values the
	// percentile compares with at most, VolPercentileMinValues the fewest.
	VolPercentileValues    = 252
	VolPercentileMinValues = 126
)

// harForecast is the HAR model's forecast (Corsi 2009) of the annualized
// volatility over the next 21 returns, from the daily returns r ending on
// the forecast day (only the last harReturns are read). On the daily
// variances v_t = r_t² it regresses y_t = mean(v_{t+1..t+21}) on x_t = [1,
// v_t, mean(v_{t−4..t}), mean(v_{t−21..t})] by OLS (Householder QR on
// centred columns) over the most recent HARPairs pairs whose target lies
// within r, and returns sqrt(252 × x_D·β̂). It is not ok, with a reason,
// below HARMinPairs pairs or when the forecast variance is not positive.
func harForecast(r []float64) (float64, string) {
	var h harSolver
	return h.forecast(r)
}

// harSolver holds the buffers of HAR fits, reused from day to day.
type harSolver struct {
	v    []float64
	cols [3][]float64
	y    []float64
}

func (h *harSolver) forecast(r []float64) (float64, string) {
	if len(r) > harReturns {
		r = r[len(r)-harReturns:]
	}
	pairs := len(r) - harMonth - harHorizon + 1
	if pairs < HARMinPairs {
		return 0, fmt.Sprintf("too few HAR pairs (%d < %d)", max(pairs, 0), HARMinPairs)
	}
	h.v = h.v[:0]
	for _, x := range r {
		h.v = append(h.v, x*x)
	}
	beta, err := h.fit(h.v)
	if err != nil {
		return 0, "HAR fit: " + err.Error()
	}
	x := harRegressors(h.v, len(h.v)-1)
	f := beta[0] + beta[1]*x[0] + beta[2]*x[1] + beta[3]*x[2]
	if !(f > 0) || math.IsInf(f, 0) {
		return 0, "non-positive HAR variance forecast"
	}
	return math.Sqrt(252 * f), ""
}

// harRegressors returns [v_t, mean of the 5 ending t, mean of the 22
// ending t]; t ≥ 21.
func harRegressors(v []float64, t int) [3]float64 {
	var s5, s22 float64
	for i := t - harMonth + 1; i <= t; i++ {
		s22 += v[i]
		if i > t-harWeek {
			s5 += v[i]
		}
	}
	return [3]float64{v[t], s5 / harWeek, s22 / harMonth}
}

// pairs fills the regressors (three columns) and targets of every pair in
// v: days t with 22 values ending t and 21 after it.
func (h *harSolver) pairs(v []float64) {
	for j := range h.cols {
		h.cols[j] = h.cols[j][:0]
	}
	h.y = h.y[:0]
	// The window sums slide along v; a fit always starts from the same
	// values, so its sums do not depend on what came before.
	var s5, s22, sy float64
	t0 := harMonth - 1
	for i := 0; i <= t0; i++ {
		s22 += v[i]
		if i > t0-harWeek {
			s5 += v[i]
		}
	}
	for i := t0 + 1; i <= t0+harHorizon && i < len(v); i++ {
		sy += v[i]
	}
	for t := t0; t+harHorizon < len(v); t++ {
		if t > t0 {
			s22 += v[t] - v[t-harMonth]
			s5 += v[t] - v[t-harWeek]
			sy += v[t+harHorizon] - v[t]
		}
		h.cols[0] = append(h.cols[0], v[t])
		h.cols[1] = append(h.cols[1], s5/harWeek)
		h.cols[2] = append(h.cols[2], s22/harMonth)
		h.y = append(h.y, sy/harHorizon)
	}
}

// harPairs returns the regressors and targets of every pair in v.
func harPairs(v []float64) (cols [][]float64, y []float64) {
	var h harSolver
	h.pairs(v)
	return h.cols[:], h.y
}

// fit is the HAR regression's [b0, b_d, b_w, b_m] on the pairs of v.
func (h *harSolver) fit(v []float64) ([4]float64, error) {
	h.pairs(v)
	return olsQR3(&h.cols, h.y)
}

// olsQR3 fits y = b0 + b1·x1 + b2·x2 + b3·x3 by least squares: the columns
// and y are centred (two passes), then factored by Householder QR, in
// place; as fitOLS, without its allocations. A column that is constant,
// or dependent on the others to rounding, fails with errSingular.
func olsQR3(cols *[3][]float64, y []float64) ([4]float64, error) {
	var out [4]float64
	n := len(y)
	if n <= 3 {
		return out, errSingular
	}
	var means [3]float64
	for j, c := range cols {
		m, ss := centre(c)
		if isConstant(m, ss, n) {
			return out, errSingular
		}
		means[j] = m
	}
	my, _ := centre(y)
	var diag [3]float64
	for j := range 3 {
		c := cols[j]
		var ss float64
		for i := j; i < n; i++ {
			ss += c[i] * c[i]
		}
		norm := math.Sqrt(ss)
		if norm == 0 {
			return out, errSingular
		}
		alpha := -math.Copysign(norm, c[j])
		c[j] -= alpha // c[j:] is now the reflector u; uᵀu = 2·norm·(norm+|x_j|)
		uu := 2 * norm * (norm + math.Abs(c[j]+alpha))
		apply := func(d []float64) {
			var dot float64
			for i := j; i < n; i++ {
				dot += c[i] * d[i]
			}
			f := 2 * dot / uu
			for i := j; i < n; i++ {
				d[i] -= f * c[i]
			}
		}
		for k := j + 1; k < 3; k++ {
			apply(cols[k])
		}
		apply(y)
		diag[j] = alpha
	}
	if math.Abs(diag[1]) <= 1e-13*math.Abs(diag[0]) || math.Abs(diag[2]) <= 1e-13*math.Abs(diag[0]) {
		return out, errSingular
	}
	// R is diag on the diagonal, cols[k][j] above it (k > j).
	var b [3]float64
	for j := 2; j >= 0; j-- {
		s := y[j]
		for k := j + 1; k < 3; k++ {
			s -= cols[k][j] * b[k]
		}
		b[j] = s / diag[j]
	}
	out[0] = my
	for j := range 3 {
		out[j+1] = b[j]
		out[0] -= b[j] * means[j]
	}
	for _, v := range out {
		if !finite(v) {
			return out, errNonFinite
		}
	}
	return out, nil
}

// trendX is 0…VolTrendValues−1, the abscissas of every trend fit.
var trendX = func() []float64 {
	x := make([]float64, VolTrendValues)
	for i := range x {
		x[i] = float64(i)
	}
	return x
}()

// trendFit is the OLS slope and R² of y against 0…len(y)−1. R² is 1 when
// y is constant (a line fits it exactly) — then the slope is 0.
func trendFit(y []float64) (slope, r2 float64) {
	x := trendX
	if len(y) != len(x) {
		x = make([]float64, len(y))
		for i := range x {
			x[i] = float64(i)
		}
	}
	f, err := fitLine(x, y)
	if err != nil {
		return 0, 0
	}
	my, syy := meanVar(y)
	if isConstant(my, syy, len(y)) {
		return 0, 1
	}
	var sse float64
	for i, v := range y {
		e := v - (f.intercept + f.slope*x[i])
		sse += e * e
	}
	return f.slope, math.Max(0, math.Min(1, 1-sse/syy))
}

// percentileBelow is the share of prev strictly below x.
func percentileBelow(prev []float64, x float64) float64 {
	n := 0
	for _, p := range prev {
		if p < x {
			n++
		}
	}
	return float64(n) / float64(len(prev))
}

// volHistory is what the forecast, trend and percentile need of the days
// before a backfill's first: the last harReturns daily returns and the last
// VolPercentileValues volatility_21d values, oldest first.
type volHistory struct {
	returns []float64
	vols    []float64
}

// loadVolHistory reads the stored returns and volatilities before date.
func (e *Engine) loadVolHistory(ctx context.Context, id uuid.UUID, before time.Time) (volHistory, error) {
	var h volHistory
	b := &pgx.Batch{}
	scan := func(dst *[]float64) func(pgx.Rows) error {
		return func(rows pgx.Rows) error {
			var x float64
			_, err := pgx.ForEachRow(rows, []any{&x}, func() error { *dst = append(*dst, x); return nil })
			return err
		}
	}
	b.Queue(e.sql(`
		SELECT daily_return FROM {schema}.portfolio_snapshots
		WHERE portfolio_id = $1 AND snapshot_date < $2 AND daily_return IS NOT NULL
		ORDER BY snapshot_date DESC LIMIT $3`), id, before, harReturns).Query(scan(&h.returns))
	b.Queue(e.sql(`
		SELECT volatility_21d FROM {schema}.portfolio_snapshots
		WHERE portfolio_id = $1 AND snapshot_date < $2 AND volatility_21d IS NOT NULL
		ORDER BY snapshot_date DESC LIMIT $3`), id, before, VolPercentileValues).Query(scan(&h.vols))
	if err := e.pool.SendBatch(ctx, b).Close(); err != nil {
		return h, fmt.Errorf("load volatility history: %w", err)
	}
	reverse(h.returns)
	reverse(h.vols)
	return h, nil
}

func reverse(x []float64) {
	for i, j := 0, len(x)-1; i < j; i, j = i+1, j-1 {
		x[i], x[j] = x[j], x[i]
	}
}

// volForecastColumns fills the days' volatility forecast, trend and
// percentile, after riskColumns has filled their volatility_21d, from the
// history before the first day and the days' own values.
func volForecastColumns(days []day, h volHistory, w *warnings) {
	rets := append([]float64(nil), h.returns...)
	vols := append([]float64(nil), h.vols...)
	var har harSolver
	for k := range days {
		d := &days[k]
		if d.hasRet {
			rets = append(rets, d.ret)
		}
		if !d.hasRet {
			w.add(WarnRiskUnavailable, "", "volatility_forecast_21d: no daily return on the day", d.date)
		} else if v, why := har.forecast(rets); why == "" {
			d.volForecast, d.hasVolForecast = v, true
		} else {
			w.add(WarnRiskUnavailable, "", "volatility_forecast_21d: "+reasonClass(why), d.date)
		}
		if len(rets) > harReturns {
			rets = rets[len(rets)-harReturns:]
		}
		if !d.hasVol21 {
			w.add(WarnRiskUnavailable, "", "volatility_trend: no volatility_21d on the day", d.date)
			w.add(WarnRiskUnavailable, "", "volatility_percentile: no volatility_21d on the day", d.date)
			continue
		}
		if n := len(vols); n < VolPercentileMinValues {
			w.add(WarnRiskUnavailable, "", fmt.Sprintf("volatility_percentile: fewer than %d earlier volatility_21d values", VolPercentileMinValues), d.date)
		} else {
			d.volPercentile, d.hasVolPercentile = percentileBelow(vols[max(0, n-VolPercentileValues):], d.vol21), true
		}
		vols = append(vols, d.vol21)
		if n := len(vols); n < VolTrendValues {
			w.add(WarnRiskUnavailable, "", fmt.Sprintf("volatility_trend: fewer than %d volatility_21d values", VolTrendValues), d.date)
		} else {
			d.volSlope, d.volR2 = trendFit(vols[n-VolTrendValues:])
			d.hasVolTrend = true
		}
		if len(vols) > VolPercentileValues+1 {
			vols = vols[len(vols)-VolPercentileValues-1:]
		}
	}
}
