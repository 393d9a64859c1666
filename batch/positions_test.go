package batch

import (
	"context"
	"math"
	"testing"
	"time"
)

// Position exposures add up to the portfolio's on every day of a one-year
// backfill, for every factor; position values add up to the net exposure.
func TestPositionExposuresSumToPortfolio(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, "2024-07-01T12:00:00Z", nil)
	betaWorld(f, "2022-06-01", 523, "AAA", "BBB", "CCC", "EEE")
	id := f.onboard("500000",
		"AAA,100,50,2023-06-01,PUBLIC,STOCK,,,,,,",
		"AAA,50,55,2023-09-01,PUBLIC,STOCK,,,,,,",
		"BBB,-80,60,2023-06-01,PUBLIC,STOCK,,,,,,",
		"CCC,200,40,2023-07-03,PUBLIC,STOCK,,,,2024-02-01,45",
		"EEE,30,70,2024-01-02,PUBLIC,STOCK,,,,,,",
		"DDD,10,20,2023-06-01,PUBLIC,STOCK,,,,,,",
		",2,5,2023-06-01,OPTIONS,,SPY,100,2024-12-20,CALL,,",
		"CASH_USD,10000,1,2023-06-01,,,,,,,,",
	)
	res := f.backfill(id, nil)
	if res.DaysWritten < 250 {
		t.Fatalf("backfilled %d days, want a year", res.DaysWritten)
	}
	// A cold engine: the betas come from the store, the values are the
	// same.
	e, err := NewEngine(f.db.Pool, &Config{Now: f.engine.cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	expo, err := e.PositionFactorExposures(ctx, id, &PositionOpts{From: res.From, Through: res.Through})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		day    time.Time
		factor string
	}
	sum := map[key]float64{}
	symbols := map[string]bool{}
	for _, x := range expo {
		if x.ExposureDollar != x.MarketValue*x.Beta {
			t.Fatalf("%+v: exposure_dollar is not market value × beta", x)
		}
		sum[key{x.ExposureDate, x.Factor}] += x.ExposureDollar
		symbols[x.Symbol] = true
	}
	if symbols["DDD"] || symbols["CASH_USD"] || symbols["SPY_C100_20241220"] || !symbols["CCC"] || !symbols["EEE"] {
		t.Errorf("symbols with exposures: %v (unpriced, cash and options have none)", symbols)
	}
	rows, err := f.db.Pool.Query(ctx, `SELECT exposure_date, factor, exposure_dollar FROM backfill.factor_exposures
		WHERE portfolio_id = $1 ORDER BY 1, 2`, id)
	if err != nil {
		t.Fatal(err)
	}
	var n, covered int
	days := map[time.Time]bool{}
	for rows.Next() {
		var k key
		var dollars *float64
		if err := rows.Scan(&k.day, &k.factor, &dollars); err != nil {
			t.Fatal(err)
		}
		n++
		days[k.day] = true
		s, ok := sum[k]
		switch {
		case dollars == nil && ok:
			t.Errorf("%s %s: no portfolio exposure, positions sum to %v", k.day.Format(time.DateOnly), k.factor, s)
		case dollars != nil && round4(s) != *dollars:
			t.Errorf("%s %s: positions sum to %.6f, portfolio exposure_dollar %.6f", k.day.Format(time.DateOnly), k.factor, s, *dollars)
		case dollars != nil:
			covered++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(days) != res.DaysWritten || n != res.DaysWritten*12 || covered < res.DaysWritten*10 {
		t.Errorf("compared %d days, %d factor rows, %d with exposures; backfilled %d days", len(days), n, covered, res.DaysWritten)
	}

	values, err := e.PositionValues(ctx, id, &PositionOpts{From: res.From, Through: res.Through})
	if err != nil {
		t.Fatal(err)
	}
	net := map[time.Time]float64{}
	for _, v := range values {
		net[v.Date] += v.MarketValue
		if v.Symbol == "AAA" && v.Date.Equal(date("2024-03-01")) {
			var c float64
			if err := f.db.Pool.QueryRow(ctx, `SELECT close::float8 FROM backfill.market_prices WHERE symbol = 'AAA' AND price_date = '2024-03-01'`).Scan(&c); err != nil {
				t.Fatal(err)
			}
			want := 100 * (c - 50)
			if v.Quantity == 50 {
				want = 50 * (c - 55)
			}
			if v.Price != c || math.Abs(v.UnrealizedPnL-want) > 1e-9 {
				t.Errorf("AAA lot on 2024-03-01 = %+v, want price %v, unrealized %v", v, c, want)
			}
		}
		if v.Symbol == "CCC" && !v.Date.Before(date("2024-02-01")) {
			t.Errorf("CCC valued on %s, after its exit", v.Date.Format(time.DateOnly))
		}
		if v.Symbol == "DDD" && (!v.Unpriced || v.MarketValue != 200) {
			t.Errorf("DDD = %+v, want unpriced at cost", v)
		}
	}
	rows, err = f.db.Pool.Query(ctx, `SELECT snapshot_date, net_exposure::float8 FROM backfill.portfolio_snapshots WHERE portfolio_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for rows.Next() {
		var d time.Time
		var want float64
		if err := rows.Scan(&d, &want); err != nil {
			t.Fatal(err)
		}
		if math.Abs(net[d]-want) > 1e-6 {
			t.Errorf("%s: position values sum to %.4f, net exposure %.4f", d.Format(time.DateOnly), net[d], want)
		}
		checked++
	}
	if checked != res.DaysWritten {
		t.Errorf("checked %d days", checked)
	}
}
