package batch

import (
	"math"
	"strconv"
)

// dayRisk holds a day's volatility forecast, trend and percentile, its
// correlation scores and its stress P&L, each with whether it is set.
type dayRisk struct {
	volForecast, volSlope, volR2, volPercentile         float64
	hasVolForecast, hasVolTrend, hasVolPercentile       bool
	avgAbsCorr, diversification, corrEffective          float64
	hasAvgAbsCorr, hasDiversification, hasCorrEffective bool
	corrHoldings                                        int
	hasCorr                                             bool
	// stress holds the correlated P&L per scenario; stressOK says which
	// are set. nil when the stress tests are off.
	stress   []float64
	stressOK []bool
}

// riskSnapshotColumns follow snapshotColumns in the COPY.
var riskSnapshotColumns = []string{
	"volatility_forecast_21d", "volatility_trend_slope", "volatility_trend_r2", "volatility_percentile",
	"avg_abs_correlation", "diversification_score", "correlation_effective_positions", "correlation_holdings",
	"stress_correlated_pnl",
}

// appendRiskColumns appends the day's riskSnapshotColumns, each after a tab.
func appendRiskColumns(buf []byte, r *dayRisk) []byte {
	buf = appendOptFloat(buf, r.volForecast, r.hasVolForecast)
	buf = appendOptFloat(buf, r.volSlope, r.hasVolTrend)
	buf = appendOptFloat(buf, r.volR2, r.hasVolTrend)
	buf = appendOptFloat(buf, r.volPercentile, r.hasVolPercentile)
	buf = appendOptFloat(buf, r.avgAbsCorr, r.hasAvgAbsCorr)
	buf = appendOptFloat(buf, r.diversification, r.hasDiversification)
	buf = appendOptFloat(buf, r.corrEffective, r.hasCorrEffective)
	buf = append(buf, '\t')
	if r.hasCorr {
		buf = strconv.AppendInt(buf, int64(r.corrHoldings), 10)
	} else {
		buf = append(buf, `\N`...)
	}
	buf = append(buf, '\t')
	if r.stress == nil {
		return append(buf, `\N`...)
	}
	buf = append(buf, '{')
	for s, v := range r.stress {
		if s > 0 {
			buf = append(buf, ',')
		}
		if !r.stressOK[s] || math.IsNaN(v) || math.IsInf(v, 0) {
			buf = append(buf, "NULL"...)
		} else {
			buf = appendMoney(buf, v)
		}
	}
	buf = append(buf, '}')
	return buf
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
