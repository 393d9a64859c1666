package batch

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// analyticsFixture loads 400 sessions of closes ending 2024-12-31 for the
// factor proxies and for XBETA, whose daily returns are exactly 1.5 × SPY's,
// and onboards a portfolio at 2024-01-02 closes.
func analyticsFixture(t *testing.T) (*fixture, []time.Time) {
	f := newFixture(t, "2025-01-02T12:00:00Z", nil)
	last := date("2024-12-31")
	sessions := SessionsEnding(f.cal, last, 400)
	rng := rand.New(rand.NewPCG(3, 4))
	spy, x := 400.0, 50.0
	var syms []string
	var dates []time.Time
	var closes []float64
	add := func(s string, d time.Time, c float64) {
		syms, dates, closes = append(syms, s), append(dates, d), append(closes, c)
	}
	walks := map[string]float64{"TLT": 90, "VTV": 150, "VUG": 300, "MTUM": 180, "QUAL": 160, "IWM": 200, "USMV": 80, "OTHER": 30}
	for _, d := range sessions {
		r := 0.01 * rng.NormFloat64()
		spy *= 1 + r
		x *= 1 + 1.5*r
		add("SPY", d, spy)
		add("XBETA", d, x)
		for s, p := range walks {
			p *= 1 + 0.5*r + 0.01*rng.NormFloat64()
			walks[s] = p
			add(s, d, p)
		}
	}
	if _, err := f.db.Pool.Exec(context.Background(), `INSERT INTO backfill.market_prices (symbol, price_date, close)
		SELECT * FROM unnest($1::text[], $2::date[], $3::float8[])`, syms, dates, closes); err != nil {
		t.Fatal(err)
	}
	return f, sessions
}

func closeOn(t *testing.T, f *fixture, sym string, d time.Time) float64 {
	var c float64
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT close::float8 FROM backfill.market_prices WHERE symbol = $1 AND price_date = $2`, sym, d).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// A fully invested portfolio of a stock whose returns are 1.5 × the
// market's has a market-beta exposure of 1.5 on every day.
func TestAnalyticsClosedFormExposure(t *testing.T) {
	t.Parallel()
	f, _ := analyticsFixture(t)
	entry := closeOn(t, f, "XBETA", date("2024-01-02"))
	qty := 1000.0
	id := f.onboard(formatMoney(qty*math.Round(entry*100)/100),
		"XBETA,1000,"+formatMoney(math.Round(entry*100)/100)+",2024-01-02,,,,,,,,")
	res := f.backfill(id, nil)
	if res.DaysWritten != 252 {
		t.Fatalf("wrote %d days", res.DaysWritten)
	}
	rows, err := f.db.Pool.Query(context.Background(), `
		SELECT exposure_date, exposure, exposure_dollar, holdings_covered, gross_coverage
		FROM backfill.factor_exposures WHERE portfolio_id = $1 AND factor = 'market_beta' ORDER BY exposure_date`, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var d time.Time
	var expo, dollars, coverage *float64
	var covered int
	_, err = pgx.ForEachRow(rows, []any{&d, &expo, &dollars, &covered, &coverage}, func() error {
		n++
		// NAV = market value + cash, cash ≈ entry rounding; exposure ≈ 1.5 × MV/NAV.
		if expo == nil || math.Abs(*expo-1.5) > 1e-3 || covered != 1 || coverage == nil || math.Abs(*coverage-1) > 1e-12 {
			t.Errorf("%s: exposure %v covered %d coverage %v", d.Format(time.DateOnly), deref(expo), covered, deref(coverage))
		}
		return nil
	})
	if err != nil || n != 252 {
		t.Fatalf("%d market_beta rows, err %v", n, err)
	}
	// The symbol's beta itself is 1.5 to 1e-9: exposure_dollar / MV.
	var mv, dollar float64
	f.db.Pool.QueryRow(context.Background(), `SELECT s.long_value::float8, e.exposure_dollar FROM backfill.portfolio_snapshots s
		JOIN backfill.factor_exposures e ON e.portfolio_id = s.portfolio_id AND e.exposure_date = s.snapshot_date AND e.factor = 'market_beta'
		WHERE s.portfolio_id = $1 AND s.snapshot_date = '2024-12-31'`, id).Scan(&mv, &dollar)
	if math.Abs(dollar/mv-1.5) > 1e-9 {
		t.Errorf("beta = %.15f, want 1.5", dollar/mv)
	}
}

func formatMoney(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

// Every day of a one-year backfill has all twelve factor rows, each with an
// exposure or a recorded reason, and the risk columns from the first day
// their windows are full.
func TestAnalyticsEveryDay(t *testing.T) {
	t.Parallel()
	f, _ := analyticsFixture(t)
	id := f.onboard("1000000",
		"XBETA,100,50,2024-01-02,,,,,,,,",
		"OTHER,-200,30,2024-01-02,,,,,,,,",
		"NEWLIST,10,10,2024-01-02,,,,,,,,", // no prices: unpriced, excluded
		",2,5,2024-01-02,OPTIONS,,SPY,450,2024-06-21,CALL,,",
		"PE_FUND,1,5000,2024-01-02,PRIVATE,PRIVATE_EQUITY,,,,,,")
	res := f.backfill(id, nil)
	if res.DaysWritten != 252 {
		t.Fatalf("wrote %d days", res.DaysWritten)
	}
	ctx := context.Background()
	var rows, factors, days int
	f.db.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT factor), count(DISTINCT exposure_date)
		FROM backfill.factor_exposures WHERE portfolio_id = $1`, id).Scan(&rows, &factors, &days)
	if rows != 252*12 || factors != 12 || days != 252 {
		t.Errorf("factor rows %d (%d factors × %d days), want 252 × 12", rows, factors, days)
	}
	// Empty exposures must be explained by a warning covering their day.
	type gap struct {
		factor string
		d      time.Time
	}
	r, _ := f.db.Pool.Query(ctx, `SELECT factor, exposure_date FROM backfill.factor_exposures WHERE portfolio_id = $1 AND exposure IS NULL`, id)
	gaps, err := pgx.CollectRows(r, func(row pgx.CollectableRow) (gap, error) {
		var g gap
		return g, row.Scan(&g.factor, &g.d)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gaps {
		if !covered(res.Warnings, WarnExposureUnavailable, g.factor, g.d) {
			t.Errorf("%s %s: empty exposure without a warning", g.d.Format(time.DateOnly), g.factor)
		}
	}
	// Holdings excluded by nature: the option, the private fund, the
	// unpriced listing.
	var excluded int
	f.db.Pool.QueryRow(ctx, `SELECT max(holdings_excluded) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1 AND snapshot_date < '2024-06-21'`, id).Scan(&excluded)
	if excluded != 3 {
		t.Errorf("holdings excluded = %d, want 3", excluded)
	}

	// Risk columns: empty until their windows are full, then present.
	r, _ = f.db.Pool.Query(ctx, `SELECT volatility_21d IS NOT NULL, volatility_63d IS NOT NULL,
		beta_realized_90d IS NOT NULL, max_drawdown IS NOT NULL AND max_drawdown <= 0
		FROM backfill.portfolio_snapshots WHERE portfolio_id = $1 ORDER BY snapshot_date`, id)
	type flags struct{ v21, v63, beta, dd bool }
	got, err := pgx.CollectRows(r, func(row pgx.CollectableRow) (flags, error) {
		var fl flags
		return fl, row.Scan(&fl.v21, &fl.v63, &fl.beta, &fl.dd)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Day 0 has no return; day k has k returns.
	for k, fl := range got {
		want := flags{v21: k >= 21, v63: k >= 63, beta: k >= 30, dd: true}
		if fl != want {
			t.Errorf("day %d: %+v, want %+v", k, fl, want)
		}
	}
	if !covered(res.Warnings, WarnRiskUnavailable, "volatility_63d", got0(t, f, id)) {
		t.Errorf("no warning explains the empty volatility_63d: %+v", res.Warnings)
	}
	checkRiskEveryDay(t, f, id, res)
}

func got0(t *testing.T, f *fixture, id any) time.Time {
	var d time.Time
	f.db.Pool.QueryRow(context.Background(), `SELECT min(snapshot_date) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1`, id).Scan(&d)
	return d
}

// covered reports whether a warning with code whose message starts with
// prefix spans day d.
func covered(ws []Warning, code, prefix string, d time.Time) bool {
	day := d.Format(time.DateOnly)
	for _, w := range ws {
		if w.Code == code && strings.HasPrefix(w.Message, prefix) && w.From <= day && day <= w.To {
			return true
		}
	}
	return false
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
