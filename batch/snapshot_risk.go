package batch

import (
	"math"
	"strconv"
)

// dayRisk holds a day's volatility forecast, trend and percentile and its
// correlation scores, each with whether it is set. (The stress P&L is
// computed by the view stress_test_results from the day's exposures and
// the stress plan's moves of the day, stress_moves.)
type dayRisk struct {
	volForecast, volSlope, volR2, volPercentile         float64
	hasVolForecast, hasVolTrend, hasVolPercentile       bool
	avgAbsCorr, diversification, corrEffective          float64
	hasAvgAbsCorr, hasDiversification, hasCorrEffective bool
	corrHoldings                                        int
	hasCorr                                             bool
}

// riskSnapshotColumns follow snapshotColumns in the COPY.
var riskSnapshotColumns = []string{
	"volatility_forecast_21d", "volatility_trend_slope", "volatility_trend_r2", "volatility_percentile",
	"avg_abs_correlation", "diversification_score", "correlation_effective_positions", "correlation_holdings",
}

// appendRiskColumns appends the day's riskSnapshotColumns.
func appendRiskColumns(w *copyRows, r *dayRisk) {
	w.optFloat8(r.volForecast, r.hasVolForecast)
	w.optFloat8(r.volSlope, r.hasVolTrend)
	w.optFloat8(r.volR2, r.hasVolTrend)
	w.optFloat8(r.volPercentile, r.hasVolPercentile)
	w.optFloat8(r.avgAbsCorr, r.hasAvgAbsCorr)
	w.optFloat8(r.diversification, r.hasDiversification)
	w.optFloat8(r.corrEffective, r.hasCorrEffective)
	if r.hasCorr {
		w.int4(r.corrHoldings)
	} else {
		w.null()
	}
}

// appendMoney appends x, rounded to 4 decimals, as fixed-point text:
// cheaper than the shortest float form, and exact for money.
func appendMoney(buf []byte, x float64) []byte {
	u := math.Round(x * 1e4)
	if math.Abs(u) >= 1<<53 {
		return strconv.AppendFloat(buf, x, 'f', 4, 64)
	}
	n := int64(u)
	if n < 0 {
		buf = append(buf, '-')
		n = -n
	}
	buf = strconv.AppendInt(buf, n/10000, 10)
	if f := n % 10000; f != 0 {
		digits := [4]byte{byte('0' + f/1000), byte('0' + f/100%10), byte('0' + f/10%10), byte('0' + f%10)}
		k := 4
		for digits[k-1] == '0' {
			k--
		}
		buf = append(buf, '.')
		buf = append(buf, digits[:k]...)
	}
	return buf
}
