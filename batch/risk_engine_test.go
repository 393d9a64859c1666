package batch

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// checkRiskEveryDay checks the forecast, trend, percentile, correlation
// and stress columns of a one-year backfill from its first day (day k has
// k returns): each present from the day its window fills, and NULL with a
// warning covering the day before.
func checkRiskEveryDay(t *testing.T, f *fixture, id uuid.UUID, res *Result) {
	t.Helper()
	ctx := context.Background()
	type row struct {
		d                        time.Time
		forecast, slope, r2, pct *float64
		avg, div, eff            *float64
		holdings                 *int
	}
	r, err := f.db.Pool.Query(ctx, `SELECT snapshot_date, volatility_forecast_21d, volatility_trend_slope,
		volatility_trend_r2, volatility_percentile, avg_abs_correlation, diversification_score,
		correlation_effective_positions, correlation_holdings
		FROM backfill.portfolio_snapshots WHERE portfolio_id = $1 ORDER BY snapshot_date`, id)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pgx.CollectRows(r, func(cr pgx.CollectableRow) (row, error) {
		var x row
		return x, cr.Scan(&x.d, &x.forecast, &x.slope, &x.r2, &x.pct, &x.avg, &x.div, &x.eff, &x.holdings)
	})
	if err != nil {
		t.Fatal(err)
	}
	explained := func(k int, prefix string) bool { return covered(res.Warnings, WarnRiskUnavailable, prefix, rows[k].d) }
	for k, x := range rows {
		switch {
		case k >= 102 && x.forecast == nil && !explained(k, "volatility_forecast_21d: non-positive"):
			t.Errorf("day %d: no forecast", k)
		case k < 102 && x.forecast != nil:
			t.Errorf("day %d: a forecast before 60 HAR pairs", k)
		case x.forecast == nil && !explained(k, "volatility_forecast_21d"):
			t.Errorf("day %d: forecast NULL without a reason", k)
		case x.forecast != nil && !(*x.forecast > 0 && *x.forecast < 5):
			t.Errorf("day %d: forecast %g", k, *x.forecast)
		}
		if (x.slope != nil) != (k >= 41) || (x.r2 != nil) != (k >= 41) {
			t.Errorf("day %d: trend %v %v", k, deref(x.slope), deref(x.r2))
		}
		if x.slope == nil && !explained(k, "volatility_trend") {
			t.Errorf("day %d: trend NULL without a reason", k)
		}
		if x.r2 != nil && (*x.r2 < 0 || *x.r2 > 1) {
			t.Errorf("day %d: R² %g", k, *x.r2)
		}
		if (x.pct != nil) != (k >= 21+126) {
			t.Errorf("day %d: percentile %v", k, deref(x.pct))
		}
		if x.pct == nil && !explained(k, "volatility_percentile") {
			t.Errorf("day %d: percentile NULL without a reason", k)
		}
		if x.pct != nil && (*x.pct < 0 || *x.pct > 1) {
			t.Errorf("day %d: percentile %g", k, *x.pct)
		}
		// XBETA long and OTHER short are the set; the rest is option,
		// private or unpriced.
		if x.holdings == nil || *x.holdings != 2 || x.avg == nil || x.div == nil || x.eff == nil {
			t.Errorf("day %d: correlations holdings %v avg %v div %v eff %v", k, x.holdings, deref(x.avg), deref(x.div), deref(x.eff))
		} else if math.Abs(*x.avg-*x.div) > 1e-12 {
			t.Errorf("day %d: one pair: avg |ρ| %g must equal the diversification %g", k, *x.avg, *x.div)
		}
	}
	// Stress: every scenario every day; the built-in replays have no
	// prices in the fixture and are NULL with a reason.
	var n, nullDirect, nullCorr, days int
	f.db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE direct_pnl IS NULL),
		count(*) FILTER (WHERE correlated_pnl IS NULL), count(DISTINCT result_date)
		FROM backfill.stress_test_results WHERE portfolio_id = $1`, id).Scan(&n, &nullDirect, &nullCorr, &days)
	if days != len(rows) || n != 22*len(rows) || nullDirect != 3*len(rows) || nullCorr != 3*len(rows) {
		t.Errorf("stress rows %d over %d days, %d/%d NULL; want 22 × %d, 3 replays NULL", n, days, nullDirect, nullCorr, len(rows))
	}
	r, _ = f.db.Pool.Query(ctx, `SELECT scenario, result_date FROM backfill.stress_test_results
		WHERE portfolio_id = $1 AND (direct_pnl IS NULL OR correlated_pnl IS NULL)`, id)
	type gap struct {
		s string
		d time.Time
	}
	gaps, _ := pgx.CollectRows(r, func(cr pgx.CollectableRow) (gap, error) {
		var g gap
		return g, cr.Scan(&g.s, &g.d)
	})
	for _, g := range gaps {
		if !covered(res.Warnings, WarnStressUnavailable, g.s+": no SPY closes", g.d) {
			t.Errorf("%s %s: NULL stress P&L without a reason", g.s, g.d.Format(time.DateOnly))
		}
	}
	// The latest day's matrix and clusters.
	var pairs, clusterRows int
	f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM backfill.correlation_matrices WHERE portfolio_id = $1 AND as_of_date = $2`,
		id, rows[len(rows)-1].d).Scan(&pairs)
	f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM backfill.correlation_clusters WHERE portfolio_id = $1 AND as_of_date = $2`,
		id, rows[len(rows)-1].d).Scan(&clusterRows)
	if pairs != 4 || clusterRows != 2 {
		t.Errorf("latest matrix %d entries, %d cluster rows; want 2 × 2 and 2", pairs, clusterRows)
	}
}

// Stress P&L from the stored exposures: direct = Σ exposure dollars ×
// shock, per scenario; a replay over a window of the fixture's prices with
// USMV missing on its last day names low_volatility in factors_missing
// and leaves it out of the direct P&L.
func TestStressReplayMissingFactor(t *testing.T) {
	t.Parallel()
	f, _ := analyticsFixture(t)
	if _, err := f.db.Pool.Exec(context.Background(), `DELETE FROM backfill.market_prices WHERE symbol = 'USMV' AND price_date = '2024-04-01'`); err != nil {
		t.Fatal(err)
	}
	replay := StressScenario{ID: "spring_2024", Category: StressHistorical, ReplayFrom: date("2024-03-01"), ReplayTo: date("2024-04-01")}
	e, err := NewEngine(f.db.Pool, &Config{Now: f.engine.cfg.Now, Analytics: AnalyticsConfig{Stress: StressConfig{
		NoDefaults: true, Scenarios: []StressScenario{replay,
			{ID: "market_down_10", Category: StressMarket, Shocks: map[string]float64{FactorMarketBeta: -0.10}},
			{ID: "rates_up_100bp", Category: StressRates, YieldChange: 0.01}}}}})
	if err != nil {
		t.Fatal(err)
	}
	f.engine = e
	id := f.onboard("100000", "XBETA,100,50,2024-01-02,,,,,,,,", "OTHER,-200,30,2024-01-02,,,,,,,,")
	f.backfill(id, &BackfillOpts{Through: date("2024-06-28")})
	ctx := context.Background()
	shock := map[string]float64{}
	proxies := e.cfg.Analytics.stressProxies()
	for i, fac := range StressFactors {
		if fac == FactorLowVolatility {
			continue
		}
		shock[fac] = closeOn(t, f, proxies[i], date("2024-04-01"))/closeOn(t, f, proxies[i], date("2024-03-01")) - 1
	}
	day := date("2024-06-28")
	expo := map[string]float64{}
	r, _ := f.db.Pool.Query(ctx, `SELECT factor, exposure_dollar FROM backfill.factor_exposures
		WHERE portfolio_id = $1 AND exposure_date = $2 AND exposure_dollar IS NOT NULL`, id, day)
	var fac string
	var dollars float64
	pgx.ForEachRow(r, []any{&fac, &dollars}, func() error { expo[fac] = dollars; return nil })
	var want float64
	for fac, s := range shock {
		want += expo[fac] * s
	}
	var direct, corr, nav float64
	var missing *string
	var directRet float64
	err = f.db.Pool.QueryRow(ctx, `SELECT direct_pnl, correlated_pnl, factors_missing, direct_return, s.nav::float8
		FROM backfill.stress_test_results t JOIN backfill.portfolio_snapshots s
		  ON s.portfolio_id = t.portfolio_id AND s.snapshot_date = t.result_date
		WHERE t.portfolio_id = $1 AND result_date = $2 AND scenario = 'spring_2024'`, id, day).
		Scan(&direct, &corr, &missing, &directRet, &nav)
	if err != nil {
		t.Fatal(err)
	}
	// Exposure dollars are stored to 4 decimals; the P&L is rounded to 4.
	if math.Abs(direct-want) > 1e-3 || missing == nil || *missing != FactorLowVolatility {
		t.Errorf("replay direct %g (want %g), factors_missing %v", direct, want, missing)
	}
	if math.Abs(directRet-direct/nav) > 1e-15 {
		t.Errorf("direct_return %g, want %g / %g", directRet, direct, nav)
	}
	var down, rates float64
	f.db.Pool.QueryRow(ctx, `SELECT direct_pnl FROM backfill.stress_test_results WHERE portfolio_id = $1 AND result_date = $2 AND scenario = 'market_down_10'`, id, day).Scan(&down)
	f.db.Pool.QueryRow(ctx, `SELECT direct_pnl FROM backfill.stress_test_results WHERE portfolio_id = $1 AND result_date = $2 AND scenario = 'rates_up_100bp'`, id, day).Scan(&rates)
	if math.Abs(down-(-0.10*expo[FactorMarketBeta])) > 1e-3 || math.Abs(rates-(-0.17*expo[FactorRateBeta])) > 1e-3 {
		t.Errorf("market_down_10 %g (want %g), rates_up_100bp %g (want %g)", down, -0.10*expo[FactorMarketBeta], rates, -0.17*expo[FactorRateBeta])
	}
	// The correlated P&L: Σ over the stress factors of exposure dollars ×
	// the day's move, the moves stored once for the day under the run's
	// plan; a shocked factor moves by its shock.
	var moves []*float64
	var scenarios []string
	if err := f.db.Pool.QueryRow(ctx, `SELECT m.moves, r.stress_scenarios FROM backfill.portfolio_snapshots s
		JOIN backfill.batch_runs r ON r.portfolio_id = s.portfolio_id AND r.id = s.batch_run_id
		JOIN backfill.stress_moves m ON m.plan = r.stress_plan AND m.as_of_date = s.snapshot_date
		WHERE s.portfolio_id = $1 AND s.snapshot_date = $2`, id, day).Scan(&moves, &scenarios); err != nil {
		t.Fatal(err)
	}
	if len(moves) != len(scenarios)*nStress {
		t.Fatalf("%d moves for %d scenarios", len(moves), len(scenarios))
	}
	for n, sc := range scenarios {
		var got *float64
		f.db.Pool.QueryRow(ctx, `SELECT correlated_pnl FROM backfill.stress_test_results WHERE portfolio_id = $1 AND result_date = $2 AND scenario = $3`,
			id, day, sc).Scan(&got)
		var want float64
		for k, fac := range StressFactors {
			m := moves[n*nStress+k]
			if m == nil {
				t.Fatalf("%s: no move for %s", sc, fac)
			}
			want += expo[fac] * *m
		}
		if got == nil || math.Abs(*got-want) > 1e-3 {
			t.Errorf("%s correlated P&L %v, want %g", sc, got, want)
		}
	}
	if m := moves[1*nStress+0]; math.Abs(*m-(-0.10)) > 1e-15 {
		t.Errorf("market_down_10 moves the market by %g", *m)
	}
	_ = corr
}

// Every new column, the stress view and the latest matrix are the same
// whether a year is backfilled in one pass, in uneven steps ending day by
// day, or recomputed from a day in the middle (a rewind).
func TestRiskColumnsOnePassEqualsStepwise(t *testing.T) {
	t.Parallel()
	f, sessions := analyticsFixture(t)
	rows := []string{"XBETA,100,50,2024-01-02,,,,,,,,", "OTHER,-200,30,2024-01-02,,,,,,,,",
		"VTV,40,150,2024-03-04,,,,,,,,", "MTUM,25,180,2024-01-02,,,,,,,2024-09-03,200"}
	once := f.onboard("100000", rows...)
	steps := f.onboard("100000", rows...)
	rewound := f.onboard("100000", rows...)
	f.backfill(once, nil)
	f.backfill(rewound, nil)
	f.backfill(rewound, &BackfillOpts{From: date("2024-08-15")})
	last := sessions[len(sessions)-1]
	var through []time.Time
	for d := date("2024-01-02"); d.Before(date("2024-12-02")); {
		for range 37 {
			d = NextSession(f.cal, d)
		}
		through = append(through, d)
	}
	for d := date("2024-12-02"); !d.After(last); d = NextSession(f.cal, d) {
		through = append(through, d)
	}
	for _, d := range through {
		f.backfill(steps, &BackfillOpts{Through: d})
	}
	want := f.rowsText(once)
	if l := want[len(want)-1]; strings.Contains(l, `"volatility_percentile": null`) || strings.Contains(l, `"volatility_forecast_21d": null`) ||
		strings.Contains(l, `"avg_abs_correlation": null`) {
		t.Fatalf("last row lacks the new columns: %s", want[len(want)-1])
	}
	var corrLast int
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM backfill.stress_test_results
		WHERE portfolio_id = $1 AND result_date = $2 AND correlated_pnl IS NOT NULL`, once, last).Scan(&corrLast); err != nil || corrLast == 0 {
		t.Fatalf("no correlated stress P&L on the last day (%v)", err)
	}
	for name, id := range map[string]uuid.UUID{"stepwise": steps, "rewound": rewound} {
		got := f.rowsText(id)
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows, want %d", name, len(got), len(want))
		}
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("%s: row %d differs:\n got %s\nwant %s", name, k, got[k], want[k])
				break
			}
		}
		if a, b := f.stressText(id), f.stressText(once); a != b {
			t.Errorf("%s: stress results differ", name)
		}
		if a, b := f.matrixText(id, last), f.matrixText(once, last); a != b || a == "" {
			t.Errorf("%s: latest matrix differs:\n%s\n%s", name, a, b)
		}
	}
	// The library call computes the same matrix for the latest day, and
	// any past day's on demand.
	cm, err := f.engine.Correlations(context.Background(), once, last, nil)
	if err != nil {
		t.Fatal(err)
	}
	mrows, err := f.db.Pool.Query(context.Background(), `
		SELECT symbol_a, symbol_b, coalesce(correlation, 'NaN') FROM backfill.correlation_matrices
		WHERE portfolio_id = $1 AND as_of_date = $2`, once, last)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[[2]string]float64{}
	var pair [2]string
	var rho float64
	if _, err := pgx.ForEachRow(mrows, []any{&pair[0], &pair[1], &rho}, func() error { stored[pair] = rho; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(cm.Symbols)*len(cm.Symbols) {
		t.Fatalf("correlation_matrices: %d rows of %d symbols", len(stored), len(cm.Symbols))
	}
	for i, a := range cm.Symbols {
		for j, b := range cm.Symbols {
			if v, want := stored[[2]string{a, b}], cm.Correlation[i][j]; v != want && !(math.IsNaN(v) && math.IsNaN(want)) {
				t.Fatalf("library ρ[%d][%d] = %g, stored %g", i, j, want, v)
			}
		}
	}
	past := date("2024-06-14")
	if _, err := f.engine.Correlations(context.Background(), once, past, &CorrelationOpts{Store: true}); err != nil {
		t.Fatal(err)
	}
	if a, b := f.matrixText(once, past), f.matrixText(steps, past); a == "" || b != "" {
		t.Errorf("stored past matrix %q; the stepwise portfolio has none stored for that day: %q", a, b)
	}
}

func (f *fixture) stressText(id uuid.UUID) string {
	f.t.Helper()
	var s string
	err := f.db.Pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(concat_ws('|', result_date, scenario, category,
		direct_pnl, correlated_pnl, direct_return, correlated_return, factors_missing), E'\n' ORDER BY result_date, scenario), '')
		FROM backfill.stress_test_results WHERE portfolio_id = $1`, id).Scan(&s)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) matrixText(id uuid.UUID, d time.Time) string {
	f.t.Helper()
	var s string
	err := f.db.Pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(concat_ws('|', m.symbol_a, m.symbol_b, m.correlation,
		m.observations, c.cluster), E'\n' ORDER BY m.symbol_a, m.symbol_b), '')
		FROM backfill.correlation_matrices m JOIN backfill.correlation_clusters c
		  ON c.portfolio_id = m.portfolio_id AND c.as_of_date = m.as_of_date AND c.symbol = m.symbol_a
		WHERE m.portfolio_id = $1 AND m.as_of_date = $2`, id, d).Scan(&s)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}
