package batch

import (
	"context"
	"math"
	"strings"
	"testing"
)

// A hand-computed book of four holdings (AAPL in two lots, a short XOM,
// SPY, and ZZZ without reference data) and cash, on one day with starting
// equity 100,000 and every entry at the day's close (NAV 100,000):
//
//	AAPL  60 + 40 × 200 = 20,000  Information Technology, beta 1.2
//	XOM   −50 × 100     = −5,000  Energy, beta 0.8
//	SPY   10 × 500      =  5,000  ETF without a sector, beta 1.0
//	ZZZ   100 × 50      =  5,000  no reference row: Unclassified
//	CASH_USD 10,000               excluded
//
// Gross over the sectors 35,000; snapshot gross 45,000 (cash included).
func TestCompositionHandComputed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, "2024-03-02T12:00:00Z", nil)
	const d = "2024-03-01"
	f.prices("AAPL", "2024-02-29", 200, 200)
	f.prices("XOM", d, 100)
	f.prices("SPY", d, 500)
	f.prices("ZZZ", d, 50)
	_, err := ImportSymbols(ctx, f.db.Pool, strings.NewReader(`symbol,asset_type,sector,beta
aapl,stock,Technology,1.2
XOM,stock,Energy,0.8
SPY,etf,,1.0
CASH_USD,cash,,
`), "refs.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := f.onboard("100000",
		"AAPL,60,200,"+d+",PUBLIC,STOCK,,,,,,",
		"AAPL,40,200,2024-02-29,PUBLIC,STOCK,,,,,,",
		"XOM,-50,100,"+d+",PUBLIC,STOCK,,,,,,",
		"SPY,10,500,"+d+",PUBLIC,ETF,,,,,,",
		"ZZZ,100,50,"+d+",PUBLIC,STOCK,,,,,,",
		"CASH_USD,10000,1,"+d+",,,,,,,,",
	)
	f.backfill(id, nil)

	type sectorRow struct {
		long, short, net, grossW, netW float64
	}
	want := map[string]sectorRow{
		"Information Technology": {20000, 0, 20000, 20000.0 / 35000, 0.2},
		"Energy":                 {0, -5000, -5000, 5000.0 / 35000, -0.05},
		"ETF":                    {5000, 0, 5000, 5000.0 / 35000, 0.05},
		"Unclassified":           {5000, 0, 5000, 5000.0 / 35000, 0.05},
	}
	rows, err := f.db.Pool.Query(ctx, `SELECT exposure_date::text, sector, long_value, short_value, net_value, gross_weight, net_weight
		FROM backfill.sector_exposures WHERE portfolio_id = $1 AND exposure_date = $2`, id, date(d))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]sectorRow{}
	var sumGross float64
	for rows.Next() {
		var day, sector string
		var r sectorRow
		if err := rows.Scan(&day, &sector, &r.long, &r.short, &r.net, &r.grossW, &r.netW); err != nil {
			t.Fatal(err)
		}
		if day != d {
			t.Errorf("sector row dated %s", day)
		}
		got[sector] = r
		sumGross += r.grossW
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("sectors = %v, want %v", got, want)
	}
	for s, w := range want {
		g := got[s]
		if g.long != w.long || g.short != w.short || g.net != w.net || !exactly(g.grossW, w.grossW) || !exactly(g.netW, w.netW) {
			t.Errorf("%s = %+v, want %+v", s, g, w)
		}
	}
	if !exactly(sumGross, 1) {
		t.Errorf("gross weights sum to %v, want 1", sumGross)
	}

	var hhi, eff, top1, top3, top10, pb, pbCov float64
	err = f.db.Pool.QueryRow(ctx, `SELECT hhi, effective_positions, top1_weight, top3_weight, top10_weight,
		provider_beta, provider_beta_coverage FROM backfill.portfolio_snapshots WHERE portfolio_id = $1 AND snapshot_date = $2`, id, date(d)).
		Scan(&hhi, &eff, &top1, &top3, &top10, &pb, &pbCov)
	if err != nil {
		t.Fatal(err)
	}
	// w = 20/35, 5/35, 5/35, 5/35: Σw² = 475/1225.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"hhi", hhi, 10000 * 475.0 / 1225},
		{"effective_positions", eff, 1225.0 / 475},
		{"top1_weight", top1, 20.0 / 35},
		{"top3_weight", top3, 30.0 / 35},
		{"top10_weight", top10, 1},
		{"provider_beta", pb, (20000*1.2 - 5000*0.8 + 5000*1.0) / 100000},
		{"provider_beta_coverage", pbCov, 30000.0 / 45000},
	} {
		if !exactly(c.got, c.want) {
			t.Errorf("%s = %.15g, want %.15g", c.name, c.got, c.want)
		}
	}
}

// Options go to their underlying's sector at their own market value; a
// fund names its own sector; weights sum to 1 on every day.
func TestSectorExposureOptionsAndFunds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, "2024-03-09T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 505, 510, 500, 490)
	f.prices("XLE", "2024-03-04", 90, 91, 92, 93, 94)
	f.prices("AAPL", "2024-03-04", 200, 202, 204, 206, 208)
	if _, err := ImportSymbols(ctx, f.db.Pool, strings.NewReader("symbol,asset_type,sector\nXLE,etf,Energy\nAAPL,stock,Information Technology\n"), "r.csv", nil); err != nil {
		t.Fatal(err)
	}
	id := f.onboard("100000",
		"XLE,100,90,2024-03-04,PUBLIC,ETF,,,,,,",
		"SPY,10,500,2024-03-04,PUBLIC,ETF,,,,,,",
		",2,5,2024-03-04,OPTIONS,,AAPL,210,2024-06-21,CALL,,",
	)
	f.backfill(id, nil)
	rows, err := f.db.Pool.Query(ctx, `SELECT exposure_date::text, sector, long_value, sum(gross_weight) OVER (PARTITION BY exposure_date)
		FROM backfill.sector_exposures WHERE portfolio_id = $1 ORDER BY 1, 2`, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var day, sector string
		var long, sum float64
		if err := rows.Scan(&day, &sector, &long, &sum); err != nil {
			t.Fatal(err)
		}
		n++
		if !exactly(sum, 1) {
			t.Errorf("%s: gross weights sum to %v", day, sum)
		}
		if day == "2024-03-04" {
			switch sector {
			case "Energy":
				if long != 9000 {
					t.Errorf("Energy on %s = %v, want 9000 (XLE names its sector)", day, long)
				}
			case "Information Technology":
				// The option: no price of its own, intrinsic value 0.
				if long != 0 {
					t.Errorf("the AAPL call on %s = %v, want 0 (intrinsic)", day, long)
				}
			case "Unclassified":
				// SPY has no reference row.
				if long != 5000 {
					t.Errorf("Unclassified on %s = %v, want 5000 (SPY)", day, long)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 5*3 {
		t.Errorf("%d sector rows, want 15 (Energy, Information Technology, Unclassified on five days)", n)
	}
}

// exactly compares up to float rounding.
func exactly(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// mapSymbols is a SymbolSource of a vendor, as a user would plug in.
type mapSymbols map[string]Symbol

func (m mapSymbols) Symbols(_ context.Context, symbols []string) (map[string]Symbol, error) {
	out := map[string]Symbol{}
	for _, s := range symbols {
		if r, ok := m[strings.ToUpper(s)]; ok {
			out[r.Symbol] = r
		}
	}
	return out, nil
}

// A SymbolSource other than the symbols table supplies the reference data.
func TestCompositionCustomSymbolSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	beta := 2.0
	f := newFixture(t, "2024-03-02T12:00:00Z", &Config{Symbols: mapSymbols{
		"AAPL": {Symbol: "AAPL", AssetType: AssetStock, Sector: "Information Technology", Beta: &beta},
	}})
	f.prices("AAPL", "2024-03-01", 200)
	f.prices("SPY", "2024-03-01", 500)
	id := f.onboard("100000", "AAPL,100,200,2024-03-01,PUBLIC,STOCK,,,,,,")
	f.backfill(id, nil)
	var sector string
	var weight, pb float64
	if err := f.db.Pool.QueryRow(ctx, `SELECT x.sector, x.gross_weight, s.provider_beta FROM backfill.sector_exposures x
		JOIN backfill.portfolio_snapshots s ON s.portfolio_id = x.portfolio_id AND s.snapshot_date = x.exposure_date
		WHERE x.portfolio_id = $1`, id).Scan(&sector, &weight, &pb); err != nil {
		t.Fatal(err)
	}
	if sector != "Information Technology" || weight != 1 || pb != 0.4 {
		t.Errorf("sector %s, weight %v, provider beta %v; want Information Technology, 1, 0.4", sector, weight, pb)
	}
}
