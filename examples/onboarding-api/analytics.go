package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

// analyticsPrefix roots the old system's analytics routes.
const analyticsPrefix = "/api/v1/analytics/portfolio/{id}/"

// analyticsNames are the analytics routes under analyticsPrefix.
var analyticsNames = []string{
	"overview", "factor-exposures", "positions/factor-exposures", "stress-test", "correlation-matrix",
	"diversification-score", "sector-exposure", "concentration", "volatility", "market-beta",
	"beta-calculated-90d", "spread-factors",
}

// Reasons of an answer with available: false, in metadata.reason; the
// sentence is in metadata.error, as the old system wrote it.
const (
	// reasonNotComputed: the day has no snapshot yet (before the first
	// backfill, a day not computed yet, or not a trading day).
	reasonNotComputed = "not_computed"
	// reasonNotInSchema: this version does not compute the analytic.
	reasonNotInSchema = "not_in_schema"
	// reasonInsufficientData: the day is computed but the analytic's
	// window was not full (or nothing was covered).
	reasonInsufficientData = "insufficient_data"
)

// analyticsHandler answers one analytics route for a portfolio and day.
type analyticsHandler func(ctx context.Context, a *analyticsRequest) (any, error)

// analyticsRequest is the portfolio and day an analytics route reads.
type analyticsRequest struct {
	id   uuid.UUID
	r    *http.Request
	snap *portfolio.Snapshot
}

// unavailable is an answer with available: false.
type unavailable struct {
	Available   bool              `json:"available"`
	PortfolioID uuid.UUID         `json:"portfolio_id"`
	AsOf        *string           `json:"calculation_date"`
	Metadata    map[string]string `json:"metadata"`
}

// errUnavailable carries the reason of an available: false answer.
type errUnavailable struct{ reason, message string }

func (e *errUnavailable) Error() string { return e.message }

func (s *server) analyticsRoutes() {
	handlers := map[string]analyticsHandler{
		"overview":                   s.overview,
		"factor-exposures":           s.portfolioFactors,
		"positions/factor-exposures": s.positionFactors,
		"stress-test":                s.stressTest,
		"correlation-matrix":         s.correlationMatrix,
		"diversification-score":      s.diversification,
		"sector-exposure":            s.sectorExposure,
		"concentration":              s.concentration,
		"volatility":                 s.volatility,
		"market-beta":                s.marketBeta,
		"beta-calculated-90d":        s.betaCalculated90d,
		"spread-factors":             s.spreadFactors,
	}
	for _, name := range analyticsNames {
		s.route("GET", analyticsPrefix+name, s.analytics(handlers[name]))
	}
	s.route("GET", analyticsPrefix+"{$}", s.analyticsIndex)
}

// analyticsIndex lists the analytics routes of a portfolio.
func (s *server) analyticsIndex(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	links := map[string]string{}
	for _, name := range analyticsNames {
		links[name] = strings.Replace(analyticsPrefix, "{id}", id.String(), 1) + name
	}
	writeJSON(w, http.StatusOK, map[string]any{"portfolio_id": id, "routes": links})
}

// analytics wraps h: owner check, ?as_of= (default the latest day
// written), the day's snapshot, and available: false answers.
func (s *server) analytics(h analyticsHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.ownedPortfolio(w, r)
		if !ok {
			return
		}
		asOf, ok := s.queryDate(w, r, "as_of")
		if !ok {
			return
		}
		day := time.Time{}
		if asOf != nil {
			day = *asOf
		}
		a := &analyticsRequest{id: id, r: r}
		snap, err := s.client.SnapshotGet(r.Context(), id, day)
		switch {
		case errors.Is(err, portfolio.ErrNotComputed):
			msg := "No analytics yet: the portfolio's first backfill has not written a day"
			if asOf != nil {
				msg = fmt.Sprintf("No analytics for %s: the day is not computed yet, or is not a trading day", asOf.Format(time.DateOnly))
			}
			writeJSON(w, http.StatusOK, unavailable{PortfolioID: id, AsOf: dateString(asOf),
				Metadata: map[string]string{"reason": reasonNotComputed, "error": msg}})
			return
		case err != nil:
			s.internal(w, r, err)
			return
		}
		a.snap = snap
		out, err := h(r.Context(), a)
		var ua *errUnavailable
		var lib *portfolio.UnavailableError
		switch {
		case errors.As(err, &ua):
			writeJSON(w, http.StatusOK, unavailable{PortfolioID: id, AsOf: dateString(&snap.Date),
				Metadata: map[string]string{"reason": ua.reason, "error": ua.message}})
		case errors.As(err, &lib):
			writeJSON(w, http.StatusOK, unavailable{PortfolioID: id, AsOf: dateString(&snap.Date),
				Metadata: map[string]string{"reason": reasonNotInSchema, "error": lib.Reason}})
		case err != nil:
			s.internal(w, r, err)
		default:
			writeJSON(w, http.StatusOK, out)
		}
	}
}

// head is the start of every available answer.
type head struct {
	Available       bool      `json:"available"`
	PortfolioID     uuid.UUID `json:"portfolio_id"`
	CalculationDate string    `json:"calculation_date"`
}

func (a *analyticsRequest) head() head {
	return head{Available: true, PortfolioID: a.id, CalculationDate: a.snap.Date.Format(time.DateOnly)}
}

// pct is part/whole in percent, 0 for a zero whole.
func pct(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	return part / whole * 100
}

// overview: the old PortfolioOverviewResponse for the day.
func (s *server) overview(ctx context.Context, a *analyticsRequest) (any, error) {
	x := a.snap
	realized, err := s.client.RealizedPnLThrough(ctx, a.id, x.Date)
	if err != nil {
		return nil, err
	}
	positions, err := s.client.PositionList(ctx, a.id)
	if err != nil {
		return nil, err
	}
	options := 0
	for _, p := range positions {
		if p.Class == string(portfolio.ClassOptions) && p.HeldOn(x.Date) {
			options++
		}
	}
	return struct {
		head
		TotalValue  float64        `json:"total_value"`
		CashBalance float64        `json:"cash_balance"`
		Exposures   map[string]any `json:"exposures"`
		PnL         map[string]any `json:"pnl"`
		Count       map[string]int `json:"position_count"`
		LastUpdated string         `json:"last_updated"`
	}{
		head: a.head(), TotalValue: x.NAV, CashBalance: x.Cash,
		Exposures: map[string]any{
			"long_exposure": x.LongValue, "short_exposure": x.ShortValue,
			"gross_exposure": x.GrossExposure, "net_exposure": x.NetExposure,
			"long_percentage": pct(x.LongValue, x.NAV), "short_percentage": pct(x.ShortValue, x.NAV),
			"gross_percentage": pct(x.GrossExposure, x.NAV), "net_percentage": pct(x.NetExposure, x.NAV),
		},
		PnL: map[string]any{"total_pnl": x.CumulativePnL, "realized_pnl": realized, "unrealized_pnl": x.CumulativePnL - realized},
		Count: map[string]int{"total_positions": x.NumPositions, "long_count": x.NumLong, "short_count": x.NumShort,
			"option_count": options},
		LastUpdated: x.ComputedAt.UTC().Format(time.RFC3339),
	}, nil
}

// factorItem is one factor as the old system named it.
type factorItem struct {
	Name           string   `json:"name"`
	Beta           float64  `json:"beta"`
	ExposureDollar *float64 `json:"exposure_dollar"`
}

// isSpread reports whether a factor is one of the spread factors.
func isSpread(name string) bool { return strings.HasSuffix(name, "_spread") }

func (s *server) factors(ctx context.Context, a *analyticsRequest, spread bool) ([]factorItem, error) {
	list, err := s.client.FactorExposureList(ctx, a.id, a.snap.Date)
	if err != nil {
		return nil, err
	}
	out := []factorItem{}
	for _, f := range list {
		if isSpread(f.Factor) != spread || f.Exposure == nil {
			continue
		}
		out = append(out, factorItem{Name: f.Factor, Beta: *f.Exposure, ExposureDollar: f.ExposureDollar})
	}
	if len(out) == 0 {
		return nil, &errUnavailable{reasonInsufficientData, "No factor betas for this day: no holding had enough price history"}
	}
	return out, nil
}

// portfolioFactors: PortfolioFactorExposuresResponse (style factors and
// the market and rate betas; spread factors have their own route).
func (s *server) portfolioFactors(ctx context.Context, a *analyticsRequest) (any, error) {
	fs, err := s.factors(ctx, a, false)
	if err != nil {
		return nil, err
	}
	return struct {
		head
		Factors  []factorItem      `json:"factors"`
		Metadata map[string]string `json:"metadata"`
	}{a.head(), fs, map[string]string{"factor_model": "market, rate and six style factors",
		"calculation_method": "ETF-proxy regression, beta-weighted by market value / NAV"}}, nil
}

// spreadItem is a spread factor with the old system's interpretation.
type spreadItem struct {
	factorItem
	Direction   string `json:"direction"`
	Magnitude   string `json:"magnitude"`
	RiskLevel   string `json:"risk_level"`
	Explanation string `json:"explanation"`
}

// spreadSides names the long and short leg of each spread factor.
var spreadSides = map[string][2]string{
	batch.FactorGrowthValueSpread: {"Growth", "Value"},
	batch.FactorMomentumSpread:    {"Momentum", "Contrarian"},
	batch.FactorSizeSpread:        {"Small Cap", "Large Cap"},
	batch.FactorQualitySpread:     {"Quality", "Low Quality"},
}

// spreadFactors: SpreadFactorsResponse. Magnitude: |beta| > 0.5 strong,
// 0.2–0.5 moderate, below weak (the old thresholds).
func (s *server) spreadFactors(ctx context.Context, a *analyticsRequest) (any, error) {
	fs, err := s.factors(ctx, a, true)
	if err != nil {
		return nil, err
	}
	items := make([]spreadItem, len(fs))
	for i, f := range fs {
		sides, ok := spreadSides[f.Name]
		if !ok {
			sides = [2]string{"Long", "Short"}
		}
		dir := sides[0]
		if f.Beta < 0 {
			dir = sides[1]
		}
		mag, risk := "Weak", "low"
		switch abs := math.Abs(f.Beta); {
		case abs > 0.5:
			mag, risk = "Strong", "high"
		case abs >= 0.2:
			mag, risk = "Moderate", "medium"
		}
		items[i] = spreadItem{factorItem: f, Direction: dir, Magnitude: mag, RiskLevel: risk,
			Explanation: fmt.Sprintf("%s tilt toward %s (beta %.2f)", mag, dir, f.Beta)}
	}
	return struct {
		head
		Factors  []spreadItem   `json:"factors"`
		Metadata map[string]any `json:"metadata"`
	}{a.head(), items, map[string]any{"calculation_method": "OLS_SPREAD", "regression_window_days": batch.DefaultSpreadWindow,
		"factors_calculated": len(items), "expected_factors": len(batch.DefaultSpreadFactors())}}, nil
}

// factorValue returns the day's exposure to one factor.
func (s *server) factorValue(ctx context.Context, a *analyticsRequest, factor string) (*portfolio.FactorExposure, error) {
	list, err := s.client.FactorExposureList(ctx, a.id, a.snap.Date)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Factor == factor && list[i].Exposure != nil {
			return &list[i], nil
		}
	}
	return nil, &errUnavailable{reasonInsufficientData, "No market beta for this day: no holding had enough price history"}
}

// marketBeta: SingleFactorMarketBetaResponse. market_beta_weighted is the
// market-value-weighted sum of the holdings' 90-day betas;
// market_beta_direct the regression of the portfolio's own returns.
func (s *server) marketBeta(ctx context.Context, a *analyticsRequest) (any, error) {
	f, err := s.factorValue(ctx, a, batch.FactorMarketBeta)
	if err != nil {
		return nil, err
	}
	return struct {
		head
		Data     map[string]any    `json:"data"`
		Metadata map[string]string `json:"metadata"`
	}{a.head(), withExtras(a, map[string]any{"market_beta_weighted": *f.Exposure, "market_beta_r_squared": nil,
		"market_beta_observations": nil, "market_beta_direct": a.snap.BetaRealized90d,
		"holdings_covered": f.HoldingsCovered, "gross_coverage": f.GrossCoverage},
		map[string]string{"beta_provider_1y": "provider_beta", "provider_beta_coverage": "provider_beta_coverage"}),
		map[string]string{"calculation_method": "equity_weighted_average", "model_type": "single_factor_ols"}}, nil
}

// betaCalculated90d: CalculatedBeta90dResponse.
func (s *server) betaCalculated90d(ctx context.Context, a *analyticsRequest) (any, error) {
	f, err := s.factorValue(ctx, a, batch.FactorMarketBeta)
	if err != nil {
		return nil, err
	}
	return struct {
		head
		Data     map[string]any `json:"data"`
		Metadata map[string]any `json:"metadata"`
	}{a.head(), map[string]any{"beta_calculated_90d": *f.Exposure, "beta_calculated_90d_r_squared": nil,
		"beta_calculated_90d_observations": nil},
		map[string]any{"calculation_method": "equity_weighted_average_of_position_betas", "model_type": "single_factor_ols",
			"window_days": batch.DefaultBetaWindow}}, nil
}

// withExtras adds to data the snapshot columns a later schema adds, by
// response key, when the schema has them.
func withExtras(a *analyticsRequest, data map[string]any, columns map[string]string) map[string]any {
	for key, col := range columns {
		if v, ok := a.snap.ExtraFloat(col); ok {
			data[key] = v
		}
	}
	return data
}

// extra reads snapshot columns a later schema adds: unavailable when the
// schema lacks them, insufficient data when the first is NULL.
func extra(a *analyticsRequest, what string, names ...string) (map[string]*float64, error) {
	out := map[string]*float64{}
	for _, n := range names {
		if !a.snap.HasExtra(n) {
			return nil, &errUnavailable{reasonNotInSchema, fmt.Sprintf("%s is not computed by this version (no column %s)", what, n)}
		}
		if v, ok := a.snap.ExtraFloat(n); ok {
			out[n] = &v
		} else {
			out[n] = nil
		}
	}
	if out[names[0]] == nil {
		return nil, &errUnavailable{reasonInsufficientData, fmt.Sprintf("No %s for this day: not enough history", what)}
	}
	return out, nil
}

// volatility: VolatilityMetricsResponse. The realized windows are this
// version's; the forecast, trend and percentile need a later schema and
// are null until then.
func (s *server) volatility(_ context.Context, a *analyticsRequest) (any, error) {
	x := a.snap
	if x.Volatility21d == nil {
		return nil, &errUnavailable{reasonInsufficientData, "No volatility for this day: fewer than 21 daily returns"}
	}
	data := withExtras(a, map[string]any{"realized_volatility_21d": x.Volatility21d, "realized_volatility_63d": x.Volatility63d,
		"expected_volatility_21d": nil, "volatility_trend": nil, "volatility_percentile": nil},
		map[string]string{"expected_volatility_21d": "volatility_forecast_21d", "volatility_trend_slope": "volatility_trend_slope",
			"volatility_trend_r2": "volatility_trend_r2", "volatility_percentile": "volatility_percentile"})
	if v, ok := data["volatility_trend_slope"].(float64); ok {
		data["volatility_trend"] = map[bool]string{true: "increasing", false: "decreasing"}[v > 0]
	}
	return struct {
		head
		Data     map[string]any    `json:"data"`
		Metadata map[string]string `json:"metadata"`
	}{a.head(), data, map[string]string{"trading_day_windows": "21d, 63d", "annualization": "sample SD (n-1) × √252"}}, nil
}

// concentration: ConcentrationMetricsResponse from the day's snapshot.
func (s *server) concentration(_ context.Context, a *analyticsRequest) (any, error) {
	v, err := extra(a, "concentration", "hhi", "effective_positions", "top3_weight", "top10_weight")
	if err != nil {
		return nil, err
	}
	data := map[string]any{"hhi": v["hhi"], "effective_num_positions": v["effective_positions"],
		"top_3_concentration": v["top3_weight"], "top_10_concentration": v["top10_weight"],
		"total_positions": a.snap.NumPositions, "position_weights": nil}
	withExtras(a, data, map[string]string{"top_1_concentration": "top1_weight"})
	return struct {
		head
		Data     map[string]any    `json:"data"`
		Metadata map[string]string `json:"metadata"`
	}{a.head(), data, map[string]string{"calculation_method": "market_value_weighted"}}, nil
}

// diversification: DiversificationScoreResponse from the day's snapshot.
func (s *server) diversification(_ context.Context, a *analyticsRequest) (any, error) {
	v, err := extra(a, "diversification score", "avg_abs_correlation", "diversification_score", "correlation_holdings")
	if err != nil {
		return nil, err
	}
	var symbols *int
	if h := v["correlation_holdings"]; h != nil {
		n := int(*h)
		symbols = &n
	}
	return struct {
		head
		PortfolioCorrelation *float64       `json:"portfolio_correlation"`
		DiversificationScore *float64       `json:"diversification_score"`
		DurationDays         int            `json:"duration_days"`
		SymbolsIncluded      *int           `json:"symbols_included"`
		Metadata             map[string]any `json:"metadata"`
	}{a.head(), v["avg_abs_correlation"], v["diversification_score"], batch.DefaultBetaWindow, symbols,
		withExtras(a, map[string]any{"selection_method": "full_calculation_set"},
			map[string]string{"effective_positions": "correlation_effective_positions"})}, nil
}

// rowsFor reads one of the relations a later schema adds for the day.
func (s *server) rowsFor(ctx context.Context, a *analyticsRequest, relation string) ([]portfolio.Row, error) {
	return s.client.AnalyticsRows(ctx, relation, a.id, a.snap.Date)
}

// stressItem is a scenario as the old StressScenarioItem: the correlated
// impact (stress_test_results.correlated_pnl) and the direct one.
type stressItem struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Category   *string     `json:"category"`
	ImpactType string      `json:"impact_type"`
	Impact     stressValue `json:"impact"`
	Direct     *float64    `json:"direct_impact"`
}

type stressValue struct {
	DollarImpact      float64 `json:"dollar_impact"`
	PercentageImpact  float64 `json:"percentage_impact"`
	NewPortfolioValue float64 `json:"new_portfolio_value"`
}

// rowString and rowFloat read a column of a stored row.
func rowString(r portfolio.Row, col string) *string {
	var v *string
	json.Unmarshal(r[col], &v) //nolint:errcheck // absent or null: nil
	return v
}

func rowFloat(r portfolio.Row, col string) *float64 {
	var v *float64
	json.Unmarshal(r[col], &v) //nolint:errcheck // absent or null: nil
	return v
}

// stressTest: StressTestResponse; ?scenarios=a,b keeps those scenarios.
func (s *server) stressTest(ctx context.Context, a *analyticsRequest) (any, error) {
	rows, err := s.rowsFor(ctx, a, portfolio.RelationStressTests)
	if err != nil {
		return nil, err
	}
	var wanted []string
	for _, sc := range strings.Split(a.r.URL.Query().Get("scenarios"), ",") {
		if sc = strings.TrimSpace(sc); sc != "" {
			wanted = append(wanted, sc)
		}
	}
	items := []stressItem{}
	for _, row := range rows {
		id := rowString(row, "scenario")
		pnl := rowFloat(row, "correlated_pnl")
		if id == nil || pnl == nil || (len(wanted) > 0 && !slices.Contains(wanted, *id)) {
			continue
		}
		items = append(items, stressItem{ID: *id, Name: *id, Category: rowString(row, "category"), ImpactType: "correlated",
			Impact: stressValue{DollarImpact: *pnl, PercentageImpact: pct(*pnl, a.snap.NAV), NewPortfolioValue: a.snap.NAV + *pnl},
			Direct: rowFloat(row, "direct_pnl")})
	}
	if len(items) == 0 {
		return nil, &errUnavailable{reasonInsufficientData, "No stress test results for this day (or none of the scenarios asked)"}
	}
	if wanted == nil {
		wanted = []string{}
	}
	return struct {
		head
		Data     map[string]any `json:"data"`
		Metadata map[string]any `json:"metadata"`
	}{a.head(), map[string]any{"scenarios": items, "portfolio_value": a.snap.NAV, "calculation_date": a.snap.Date.Format(time.DateOnly)},
		map[string]any{"scenarios_requested": wanted}}, nil
}

// correlationMatrix: CorrelationMatrixResponse, the matrix as
// {symbol: {symbol: correlation}} (null where a pair has too few common
// returns), with the day's clusters.
func (s *server) correlationMatrix(ctx context.Context, a *analyticsRequest) (any, error) {
	rows, err := s.rowsFor(ctx, a, portfolio.RelationCorrelationMatrices)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, &errUnavailable{reasonInsufficientData, "No correlation matrix for this day"}
	}
	matrix := map[string]map[string]*float64{}
	for _, r := range rows {
		sa, sb := rowString(r, "symbol_a"), rowString(r, "symbol_b")
		if sa == nil || sb == nil {
			continue
		}
		if matrix[*sa] == nil {
			matrix[*sa] = map[string]*float64{}
		}
		matrix[*sa][*sb] = rowFloat(r, "correlation")
	}
	clusterRows, err := s.rowsFor(ctx, a, portfolio.RelationCorrelationClusters)
	if err != nil {
		return nil, err
	}
	clusters := map[string]float64{}
	for _, r := range clusterRows {
		if sym, c := rowString(r, "symbol"), rowFloat(r, "cluster"); sym != nil && c != nil {
			clusters[*sym] = *c
		}
	}
	avg, _ := a.snap.ExtraFloat("avg_abs_correlation")
	return struct {
		head
		Data map[string]any `json:"data"`
	}{a.head(), map[string]any{"matrix": matrix, "average_correlation": avg, "clusters": clusters}}, nil
}

// sectorExposure: SectorExposureResponse from the sector view: weights
// of gross exposure by sector, with long, short and net values.
func (s *server) sectorExposure(ctx context.Context, a *analyticsRequest) (any, error) {
	rows, err := s.rowsFor(ctx, a, portfolio.RelationSectorExposures)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, &errUnavailable{reasonInsufficientData, "No sector exposure for this day"}
	}
	weights, net, values := map[string]float64{}, map[string]float64{}, map[string]any{}
	unclassified := 0.0
	for _, r := range rows {
		sector := rowString(r, "sector")
		if sector == nil {
			continue
		}
		if w := rowFloat(r, "gross_weight"); w != nil {
			weights[*sector] = *w
		}
		if w := rowFloat(r, "net_weight"); w != nil {
			net[*sector] = *w
		}
		values[*sector] = map[string]*float64{"long_value": rowFloat(r, "long_value"), "short_value": rowFloat(r, "short_value"),
			"net_value": rowFloat(r, "net_value")}
		if *sector == "Unclassified" {
			if v := rowFloat(r, "net_value"); v != nil {
				unclassified = *v
			}
		}
	}
	return struct {
		head
		Data     map[string]any    `json:"data"`
		Metadata map[string]string `json:"metadata"`
	}{a.head(), map[string]any{"portfolio_weights": weights, "net_weights": net, "sector_values": values,
		"total_portfolio_value": a.snap.NAV, "unclassified_value": unclassified},
		map[string]string{"weights": "share of gross exposure"}}, nil
}

// positionItem is a position's factor betas, as the old
// PositionFactorItem.
type positionItem struct {
	PositionID uuid.UUID          `json:"position_id"`
	Symbol     string             `json:"symbol"`
	Exposures  map[string]float64 `json:"exposures"`
	// ExposureDollars is market value × beta, per factor.
	ExposureDollars map[string]float64 `json:"exposure_dollars"`
}

// positionFactors: PositionFactorExposuresResponse, paged by
// ?limit=&offset=; computed by the engine from the stored prices and
// betas, exactly as the day's portfolio exposures were.
func (s *server) positionFactors(ctx context.Context, a *analyticsRequest) (any, error) {
	list, err := s.rec.Engine().PositionFactorExposures(ctx, a.id, &batch.PositionOpts{From: a.snap.Date, Through: a.snap.Date})
	if errors.Is(err, batch.ErrAnalyticsDisabled) {
		return nil, &errUnavailable{reasonNotInSchema, "Position factor exposures need the engine's analytics"}
	}
	if err != nil {
		return nil, err
	}
	var items []positionItem
	index := map[uuid.UUID]int{}
	for _, x := range list {
		i, ok := index[x.PositionID]
		if !ok {
			i = len(items)
			index[x.PositionID] = i
			items = append(items, positionItem{PositionID: x.PositionID, Symbol: x.Symbol,
				Exposures: map[string]float64{}, ExposureDollars: map[string]float64{}})
		}
		items[i].Exposures[x.Factor] = x.Beta
		items[i].ExposureDollars[x.Factor] = x.ExposureDollar
	}
	if len(items) == 0 {
		return nil, &errUnavailable{reasonInsufficientData, "No position had factor betas on this day"}
	}
	q := a.r.URL.Query()
	limit, offset := 50, 0
	fmt.Sscan(q.Get("limit"), &limit)   //nolint:errcheck // default on a bad value
	fmt.Sscan(q.Get("offset"), &offset) //nolint:errcheck // default on a bad value
	limit, offset = min(max(limit, 1), 200), max(offset, 0)
	page := items[min(offset, len(items)):min(offset+limit, len(items))]
	return struct {
		head
		Total     int            `json:"total"`
		Limit     int            `json:"limit"`
		Offset    int            `json:"offset"`
		Positions []positionItem `json:"positions"`
	}{a.head(), len(items), limit, offset, page}, nil
}
