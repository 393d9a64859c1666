package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// brokerFixture is a broker export from the portfolio package's fixtures.
func brokerFixture(name string) string {
	return filepath.Join("..", "..", "..", "portfolio", "testdata", "broker", name)
}

// rowCounts counts the rows of every table onboarding writes.
func rowCounts(t *testing.T, db *portfoliotest.DB) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, table := range []string{"portfolios", "positions", "capital_flows", "batch_runs", "backfill_state"} {
		counts[table] = queryInt(t, db, `SELECT count(*) FROM backfill.`+table)
	}
	return counts
}

func TestOnboardDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	env := map[string]string{"DATABASE_URL": db.ConnString, "BACKFILL_NOW": "2024-02-01T12:00:00Z", "BACKFILL_LOG_LEVEL": "warn"}
	backfilld(t, env, "", onboardArgs("Existing", "testdata/onboard/valid.csv")...).want(t, exitOK)
	before := rowCounts(t, db)

	r := backfilld(t, env, "", onboardArgs("Schwab", "--dry-run", brokerFixture("schwab_older.csv"))...)
	r.want(t, exitOK, "Dry run: nothing was written", "Format: schwab (detected by", "As of: 2024-01-12",
		"AAPL250117C00260000", "3.5025", "CASH_USD", "line 11: Account Total row", "Market value: 220791.00 per the export, 220791.00 as quantity × price (6 of 6 rows agree)")
	// Without the request flags, and as JSON.
	r = backfilld(t, env, "", "onboard", "--dry-run", "--json", brokerFixture("robinhood_activity.csv"))
	r.want(t, exitOK)
	var got struct {
		DryRun    bool             `json:"dry_run"`
		Format    portfolio.Format `json:"format"`
		Positions []struct {
			Line       int         `json:"line"`
			Symbol     string      `json:"symbol"`
			Quantity   json.Number `json:"quantity"`
			EntryPrice json.Number `json:"entry_price"`
			EntryDate  string      `json:"entry_date"`
			Expiration string      `json:"expiration_date"`
		} `json:"positions"`
		Flows []struct {
			Date   string `json:"flow_date"`
			Amount string `json:"amount"`
		} `json:"flows"`
		Skipped []portfolio.SkippedRow `json:"skipped"`
	}
	r.decode(t, &got)
	if !got.DryRun || got.Format != portfolio.FormatRobinhood || len(got.Positions) != 3 || len(got.Skipped) != 5 ||
		len(got.Flows) != 1 || got.Flows[0].Date != "2024-01-11" || got.Flows[0].Amount != "-500.00" {
		t.Fatalf("dry run JSON: %+v", got)
	}
	if p := got.Positions[0]; p.Symbol != "AAPL240216C00200000" || p.Quantity != "2" || p.EntryPrice != "2.5000" ||
		p.EntryDate != "2024-01-08" || p.Expiration != "2024-02-16" || p.Line != 9 {
		t.Errorf("first position %+v", p)
	}
	// A rejected file in a dry run: the error envelope, exit status 2.
	backfilld(t, env, "", "onboard", "--dry-run", brokerFixture("vanguard_download.csv")).
		want(t, exitInvalid, "ERR_POS_012", "--entry-date", "nothing was written")
	backfilld(t, env, "", "onboard", "--dry-run", "--entry-date", "2024-01-02", "--format", "vanguard", brokerFixture("vanguard_download.csv")).
		want(t, exitOK, "Format: vanguard (as asked)", "Capital flows (3)", "no cost basis in the export")
	backfilld(t, env, "", "onboard", "--dry-run", "--format", "quicken", brokerFixture("vanguard_download.csv")).
		want(t, exitInvalid, `--format "quicken"`, "robinhood")
	backfilld(t, env, "", "onboard", "--dry-run", "--entry-date", "2024-13-01", brokerFixture("vanguard_download.csv")).
		want(t, exitInvalid, "--entry-date")

	after := rowCounts(t, db)
	for table, n := range before {
		if after[table] != n {
			t.Errorf("%s: %d rows before the dry runs, %d after", table, n, after[table])
		}
	}
	if before["portfolios"] != 1 {
		t.Errorf("%d portfolios before the dry runs, want 1", before["portfolios"])
	}

	// The same file for real: positions and flows written.
	backfilld(t, env, "", onboardArgs("Robinhood", brokerFixture("robinhood_activity.csv"))...).want(t, exitOK, "positions imported:")
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.capital_flows`); n != 1 {
		t.Errorf("%d capital flows after onboarding the Robinhood report, want 1", n)
	}
}
