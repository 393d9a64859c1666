package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
)

// explain lists each symbol once, the benchmark too when it is held, with
// the value of its latest close, so that an absurd close shows.
func TestExplainSymbolsOnceWithCloses(t *testing.T) {
	t.Parallel()
	db, env := dbWithEnv(t)
	const positions = "Symbol,Quantity,Entry Price Per Share,Entry Date\nspy,10,470.00,2024-01-02\nAAPL,5,185.00,2024-01-02\n"
	var res portfolio.OnboardResult
	r := backfilld(t, env, positions, onboardArgs("HoldsSPY", "--json", "-")...)
	r.want(t, exitOK)
	r.decode(t, &res)
	backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv").want(t, exitOK)
	// Written past the import's checks and the table's, as a database
	// restored from elsewhere could hold it.
	execSQL(t, db, `DO $$ DECLARE c text; BEGIN
		FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'backfill.market_prices'::regclass AND contype = 'c' LOOP
			EXECUTE format('ALTER TABLE backfill.market_prices DROP CONSTRAINT %I', c);
		END LOOP; END $$`)
	execSQL(t, db, `UPDATE backfill.market_prices SET close = 1e300 WHERE symbol = 'AAPL' AND price_date = '2024-01-05'`)

	r = backfilld(t, env, "", "explain", res.PortfolioID.String())
	r.want(t, exitOK)
	if n := strings.Count(r.stdout, "\n  SPY"); n != 1 {
		t.Errorf("SPY listed %d times, want once:\n%s", n, r.stdout)
	}
	for _, re := range []string{`\n  SPY \(benchmark\)\s+2024-01-05\s+467.92\s+yes\n`, `\n  AAPL\s+2024-01-05\s+1e\+300\s+yes\n`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("explain lacks %s:\n%s", re, r.stdout)
		}
	}
	var ex daemon.Explanation
	backfilld(t, env, "", "explain", "--json", res.PortfolioID.String()).decode(t, &ex)
	if len(ex.Prices) != 1 || ex.Prices[0].Symbol != "AAPL" || ex.Prices[0].Close == nil || !strings.HasPrefix(*ex.Prices[0].Close, "1000000000") ||
		len(*ex.Prices[0].Close) != 301 || ex.Benchmark.Close == nil || *ex.Benchmark.Close != "467.92" {
		t.Errorf("explain --json prices %+v, benchmark %+v", ex.Prices, ex.Benchmark)
	}
}
