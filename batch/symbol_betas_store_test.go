package batch

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// betaWorld loads random-walk closes for the factor proxies and symbols
// on n sessions from first.
func betaWorld(f *fixture, first string, n int, symbols ...string) {
	f.t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	for _, s := range append([]string{"SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"}, symbols...) {
		p := 50 + 100*rng.Float64()
		closes := make([]float64, n)
		for i := range closes {
			p *= math.Exp(0.012 * rng.NormFloat64())
			closes[i] = math.Round(p*100) / 100
		}
		f.prices(s, first, closes...)
	}
}

// A second engine (a restarted process, another replica) backfilling
// another portfolio of the same symbols reads the stored betas instead of
// computing them, and its rows equal a computation from scratch.
func TestStoredBetasColdRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, "2024-07-01T12:00:00Z", nil)
	betaWorld(f, "2023-01-03", 375, "AAA", "BBB", "CCC")
	a := f.onboard("100000", "AAA,100,50,2024-01-02,PUBLIC,STOCK,,,,,,", "BBB,-40,50,2024-01-02,PUBLIC,STOCK,,,,,,",
		"CCC,10,50,2024-01-02,PUBLIC,STOCK,,,,,,")
	t0 := time.Now()
	ra := f.backfill(a, nil)
	first := time.Since(t0)
	days := ra.DaysWritten
	if days < 100 || ra.Betas.Computed != 3*days || ra.Betas.Stored != 3*days || ra.Betas.Loaded != 0 {
		t.Fatalf("first backfill: %d days, betas %+v", days, ra.Betas)
	}
	countRows := func() (rows, factorRows int) {
		t.Helper()
		if err := f.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM backfill.symbol_betas),
			(SELECT count(*) FROM backfill.symbol_factor_betas)`).Scan(&rows, &factorRows); err != nil {
			t.Fatal(err)
		}
		return rows, factorRows
	}
	if rows, factorRows := countRows(); rows != 3*days || factorRows != 3*days*12 {
		t.Errorf("stored %d symbol-days, %d factor rows; want %d, %d", rows, factorRows, 3*days, 3*days*12)
	}

	// The restart: a new engine, another portfolio of the same symbols.
	cold, err := NewEngine(f.db.Pool, &Config{Now: f.engine.cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	b := f.onboard("250000", "AAA,300,50,2024-01-02,PUBLIC,STOCK,,,,,,", "BBB,50,50,2024-01-02,PUBLIC,STOCK,,,,,,",
		"CCC,-20,50,2024-01-02,PUBLIC,STOCK,,,,,,")
	t1 := time.Now()
	rb, err := cold.Backfill(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	second := time.Since(t1)
	if rb.Betas.Loaded != 3*days || rb.Betas.Computed != 0 || rb.Betas.Stored != 0 {
		t.Errorf("cold engine's betas = %+v, want all %d symbol-days loaded", rb.Betas, 3*days)
	}
	t.Logf("%d symbol-days: computed and stored in a %s backfill (compute phase %s); loaded by a cold engine in %s (compute phase %s)",
		3*days, first.Round(time.Microsecond), ra.Timings.Compute.Round(time.Microsecond),
		second.Round(time.Microsecond), rb.Timings.Compute.Round(time.Microsecond))

	// The same portfolio computed from scratch writes the same exposures.
	scratch, err := NewEngine(f.db.Pool, &Config{Now: f.engine.cfg.Now, Analytics: AnalyticsConfig{EphemeralBetas: true}})
	if err != nil {
		t.Fatal(err)
	}
	c := f.onboard("250000", "AAA,300,50,2024-01-02,PUBLIC,STOCK,,,,,,", "BBB,50,50,2024-01-02,PUBLIC,STOCK,,,,,,",
		"CCC,-20,50,2024-01-02,PUBLIC,STOCK,,,,,,")
	rc, err := scratch.Backfill(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Betas.Computed != 3*days || rc.Betas.Stored != 0 {
		t.Errorf("ephemeral engine's betas = %+v", rc.Betas)
	}
	var differ int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM backfill.portfolio_snapshots b
		JOIN backfill.portfolio_snapshots c ON c.portfolio_id = $2 AND c.snapshot_date = b.snapshot_date
		WHERE b.portfolio_id = $1 AND (b.factor_exposure_dollar IS DISTINCT FROM c.factor_exposure_dollar
		   OR b.holdings_covered IS DISTINCT FROM c.holdings_covered OR b.factor_holdings_covered IS DISTINCT FROM c.factor_holdings_covered)`,
		b, c).Scan(&differ); err != nil {
		t.Fatal(err)
	}
	if differ != 0 {
		t.Errorf("%d days' exposures differ between stored and recomputed betas", differ)
	}
	var warnB, warnC string
	if err := f.db.Pool.QueryRow(ctx, `SELECT (SELECT warnings::text FROM backfill.batch_runs WHERE portfolio_id = $1),
		(SELECT warnings::text FROM backfill.batch_runs WHERE portfolio_id = $2)`, b, c).Scan(&warnB, &warnC); err != nil {
		t.Fatal(err)
	}
	if warnB != warnC {
		t.Errorf("warnings differ:\nstored   %s\nscratch  %s", warnB, warnC)
	}

	// Idempotent rows: storing the same betas again changes nothing.
	digest := func() string {
		var s string
		if err := f.db.Pool.QueryRow(ctx, `SELECT md5(string_agg(symbol || as_of_date || config || betas::text ||
			observations::text || coalesce(reasons::text, ''), ',' ORDER BY symbol, as_of_date)) FROM backfill.symbol_betas`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := digest()
	again, err := NewEngine(f.db.Pool, &Config{Now: f.engine.cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := again.prepare(ctx, a, &PositionOpts{From: ra.From, Through: ra.Through}, true)
	if err != nil {
		t.Fatal(err)
	}
	lay, hs, first0, end, gen := pr.lay, pr.hs, pr.first, pr.end, pr.p.gen
	var w warnings
	stats, err := again.attachBetas(ctx, pr.epoch, gen, lay, hs, first0, end, &w)
	if err != nil || stats.Loaded != 3*days {
		t.Fatalf("attach = %+v, %v", stats, err)
	}
	recomputed := map[string]*symbolBetas{}
	for _, h := range hs {
		recomputed[h.symbol] = computeSymbolBetasAt(&again.cfg.Analytics, h.own, proxiesOf(again, lay), first0, end, syncMonthly(lay.ax))
	}
	// Stored already: the COPY meets the rows and stores nothing.
	if n, err := again.store.save(ctx, gen, lay.ax, recomputed, nil); err != nil || n != 0 {
		t.Fatalf("save again = %d, %v; want nothing stored", n, err)
	}
	// Stored on some days (partial): the rows are replaced.
	all := map[string]bool{"AAA": true, "BBB": true, "CCC": true}
	if n, err := again.store.save(ctx, gen, lay.ax, recomputed, all); err != nil || n != 3*days {
		t.Fatalf("replace = %d, %v", n, err)
	}
	if after := digest(); after != before {
		t.Error("storing the same betas again changed the rows")
	}
	if rows, _ := countRows(); rows != 3*days {
		t.Errorf("%d rows after storing again, want %d", rows, 3*days)
	}

	// Betas computed under prices that changed since are not stored.
	f.prices("ZZZ", "2024-06-03", 10)
	if n, err := again.store.save(ctx, gen, lay.ax, recomputed, all); err != nil || n != 0 {
		t.Errorf("save under a stale generation = %d, %v; want nothing stored", n, err)
	}
	// A correction of AAA's close deletes exactly AAA's rows from its day
	// on (through the view, in the correction's transaction); one of a
	// factor instrument every symbol's.
	rowsFrom := func(sym, day string) (n int) {
		t.Helper()
		if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM backfill.symbol_betas
			WHERE ($1 = '' OR symbol = $1) AND as_of_date >= $2`, sym, date(day)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	bbbLate, total := rowsFrom("BBB", "2024-06-03"), rowsFrom("", "2000-01-01")
	if _, err := f.db.Pool.Exec(ctx, `UPDATE backfill.market_prices SET close = close + 1 WHERE symbol = 'AAA' AND price_date = '2024-06-03'`); err != nil {
		t.Fatal(err)
	}
	aaaGone := rowsFrom("AAA", "2000-01-01")
	if n := rowsFrom("AAA", "2024-06-03"); n != 0 || rowsFrom("BBB", "2024-06-03") != bbbLate || rowsFrom("", "2000-01-01") != total-(days-aaaGone) {
		t.Errorf("after AAA's correction: %d AAA rows from 2024-06-03 (want 0), BBB %d (want %d), total %d", n, rowsFrom("BBB", "2024-06-03"), bbbLate, rowsFrom("", "2000-01-01"))
	}
	if _, err := f.db.Pool.Exec(ctx, `UPDATE backfill.market_prices SET close = close + 1 WHERE symbol = 'TLT' AND price_date = '2024-05-01'`); err != nil {
		t.Fatal(err)
	}
	if n := rowsFrom("", "2024-05-01"); n != 0 || rowsFrom("", "2000-01-01") == 0 {
		t.Errorf("after TLT's correction: %d rows from 2024-05-01, want 0 (and the earlier ones kept)", n)
	}
}

// Betas that cannot be computed are stored with their reasons, and a cold
// engine reading them writes the same warnings and coverage.
func TestStoredBetasWithReasons(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, "2024-07-01T12:00:00Z", nil)
	betaWorld(f, "2023-06-01", 270, "AAA")
	rng := rand.New(rand.NewPCG(1, 1))
	young := make([]float64, 45)
	for i := range young {
		young[i] = 20 + rng.Float64()
	}
	f.prices("YNG", "2024-04-25", young...)
	rows := []string{"AAA,100,50,2024-04-01,PUBLIC,STOCK,,,,,,", "YNG,100,20,2024-05-01,PUBLIC,STOCK,,,,,,"}
	a := f.onboard("100000", rows...)
	ra := f.backfill(a, nil)
	if ra.Betas.Stored == 0 {
		t.Fatalf("nothing stored: %+v", ra.Betas)
	}
	var withReasons int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM backfill.symbol_factor_betas WHERE symbol = 'YNG' AND beta IS NULL AND reason LIKE 'too few observations%'`).Scan(&withReasons); err != nil {
		t.Fatal(err)
	}
	if withReasons == 0 {
		t.Error("no stored reasons for the young symbol's missing betas")
	}
	cold, err := NewEngine(f.db.Pool, &Config{Now: f.engine.cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	b := f.onboard("100000", rows...)
	rb, err := cold.Backfill(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Betas.Computed != 0 || rb.Betas.Loaded != ra.Betas.Computed {
		t.Errorf("cold engine's betas = %+v, want the %d stored symbol-days loaded", rb.Betas, ra.Betas.Computed)
	}
	var differ int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM backfill.portfolio_snapshots x
		JOIN backfill.portfolio_snapshots y ON y.portfolio_id = $2 AND y.snapshot_date = x.snapshot_date
		WHERE x.portfolio_id = $1 AND (x.factor_exposure_dollar IS DISTINCT FROM y.factor_exposure_dollar
		   OR x.factor_holdings_covered IS DISTINCT FROM y.factor_holdings_covered OR x.holdings_covered IS DISTINCT FROM y.holdings_covered)`,
		a, b).Scan(&differ); err != nil {
		t.Fatal(err)
	}
	if differ != 0 {
		t.Errorf("%d days differ between computed and stored betas", differ)
	}
	wa, _ := json.Marshal(ra.Warnings)
	wb, _ := json.Marshal(rb.Warnings)
	if string(wa) != string(wb) {
		t.Errorf("warnings differ:\ncomputed %s\nstored   %s", wa, wb)
	}
}
