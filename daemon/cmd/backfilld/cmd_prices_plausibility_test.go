package main

import (
	"os"
	"path/filepath"
	"testing"
)

// prices import rejects implausible files with FILE:LINE and exit 2,
// writing nothing of them, takes its clock from BACKFILL_NOW / --now, and
// accepts a real jump with --allow-jumps.
func TestPricesImportPlausibility(t *testing.T) {
	t.Parallel()
	db, env := dbWithEnv(t) // the clock: Saturday 2024-01-06
	dir := t.TempDir()
	file := func(name, rows string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("date,symbol,close\n"+rows), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv").want(t, exitOK)
	stored := func() int { return queryInt(t, db, `SELECT count(*) FROM backfill.market_prices`) }
	before := stored()

	for _, tt := range []struct{ name, rows, want string }{
		{"huge.csv", "2024-01-05,MSFT,370.87\n2024-01-05,XOM,1e300\n", `huge.csv:3: close "1e300" is not a decimal number`},
		{"billion.csv", "2024-01-05,XOM,1000000000\n", `billion.csv:2: close "1000000000" is 1e9 or more`},
		{"future.csv", "2024-01-08,SPY,474.60\n", `future.csv:2: date "2024-01-08" is after the current session, 2024-01-05`},
		{"old.csv", "1969-12-31,SPY,92.06\n", `old.csv:2: date "1969-12-31" is before 1970-01-01`},
		{"jump.csv", "2024-01-05,aapl,1916.5\n", `jump.csv:2: AAPL close 1916.5 on 2024-01-05 is ×10.5 the close 181.91 on 2024-01-04 (stored)`},
		{"dup.csv", "2024-01-05,msft,370.87\n2024-01-05,MSFT,370.87\n", `dup.csv:3: duplicate price for MSFT on 2024-01-05 (first on line 2)`},
	} {
		path := file(tt.name, tt.rows)
		backfilld(t, env, "", "prices", "import", path).want(t, exitInvalid, tt.want, "nothing of "+path+" was imported")
		if n := stored(); n != before {
			t.Errorf("%s: %d closes stored, want %d", tt.name, n, before)
		}
	}

	// A later clock takes Monday's close; --allow-jumps takes a real jump.
	backfilld(t, env, "", "prices", "import", "--now", "2024-01-08T22:00:00Z", file("monday.csv", "2024-01-08,spy,474.60\n")).want(t, exitOK)
	backfilld(t, env, "", "prices", "import", "--allow-jumps", file("split.csv", "2024-01-05,AAPL,1916.5\n")).want(t, exitOK)
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.market_prices WHERE (symbol, price_date) IN (('SPY', '2024-01-08'), ('AAPL', '2024-01-05'))
		AND close IN (474.60, 1916.5)`); n != 2 {
		t.Errorf("%d of the 2 accepted closes stored", n)
	}
}
