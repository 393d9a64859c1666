package main

import (
	"github.com/sigmasight/backfill/daemon"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
)

func TestExplainCurrent(t *testing.T) {
	t.Parallel()
	w := newStatusWorld(t)
	id := w.current.String()

	r := backfilld(t, w.env, "", "explain", id)
	r.want(t, exitOK, "Portfolio "+id+": current", "current through the target 2024-01-05",
		"2024-01-05 (snapshots complete through)", "2024-01-05 (latest closed session with SPY's close; last closed session 2024-01-05)",
		"Latest runs (newest first):", "Prices on the last closed session 2024-01-05:")
	for _, re := range []string{
		`lag:\s+0 trading days\n`, `lease:\s+none\n`, `requested:\s+no\n`,
		`onboarding\s+completed\s+\S+\s+\S+\s+2024-01-02 … 2024-01-05\s+4/4\s+-\n`,
		`SPY \(benchmark\)\s+2024-01-05\s+467.92\s+yes\n`, `AAPL\s+2024-01-05\s+181.18\s+yes\n`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("explain lacks %s:\n%s", re, r.stdout)
		}
	}

	var ex daemon.Explanation
	r = backfilld(t, w.env, "", "explain", "--json", id)
	r.want(t, exitOK)
	r.decode(t, &ex)
	if ex.PortfolioID != w.current || ex.State != "current" || ex.Watermark.Format(time.DateOnly) != "2024-01-05" ||
		ex.Target.Format(time.DateOnly) != "2024-01-05" || ex.LagDays != 0 || ex.Attempts != 0 || ex.Requested ||
		ex.LeaseOwner != "" || ex.AccountName != "Current" {
		t.Errorf("explain --json = %+v", ex)
	}
	if len(ex.Runs) != 1 || ex.Runs[0].Status != "completed" || ex.Runs[0].Trigger != "onboarding" || ex.Runs[0].DaysWritten != 4 {
		t.Errorf("runs = %+v", ex.Runs)
	}
	b := ex.Benchmark
	if b.Symbol != "SPY" || b.LatestClose == nil || !b.LatestClose.Equal(*ex.Target) || !b.HasClose || !b.Needed ||
		len(ex.Prices) != 1 || ex.Prices[0].Symbol != "AAPL" || !ex.Prices[0].HasClose || !ex.Prices[0].Needed {
		t.Errorf("prices = %+v, benchmark %+v", ex.Prices, ex.Benchmark)
	}
}

func TestExplainBehind(t *testing.T) {
	t.Parallel()
	w := newStatusWorld(t)

	// Failing: two days behind, with its error and backoff.
	r := backfilld(t, w.env, "", "explain", w.failing.String())
	r.want(t, exitOK, ": failing", "failing: 3 failed attempts in a row, next attempt at",
		"Last error: load prices: connection reset", "2024-01-03 (snapshots complete through)")
	for _, re := range []string{`lag:\s+2 trading days\n`, `attempts:\s+3 failed in a row\n`, `last error:\s+load prices: connection reset\n`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("explain lacks %s:\n%s", re, r.stdout)
		}
	}
	var ex daemon.Explanation
	backfilld(t, w.env, "", "explain", "--json", w.failing.String()).decode(t, &ex)
	if ex.State != "failing" || ex.LagDays != 2 || ex.Attempts != 3 || ex.LastError != "load prices: connection reset" || ex.Due {
		t.Errorf("failing: %+v", ex)
	}

	// Quarantined: says how to get out.
	backfilld(t, w.env, "", "explain", w.quarantined.String()).want(t, exitOK,
		"quarantined after 8 failed attempts in a row; fix the cause, then `backfilld retry "+w.quarantined.String()+"`",
		"none until `backfilld retry`")

	// Never snapshotted, no run requested: every session since inception is
	// missing.
	r = backfilld(t, w.env, "", "explain", w.never.String())
	r.want(t, exitOK, ": pending", "none (never snapshotted)",
		"never snapshotted: 4 trading days to compute through 2024-01-05; due: a running reconciler claims it on its next sweep")
	if !regexp.MustCompile(`Latest runs \(newest first\):\n  none\n`).MatchString(r.stdout) {
		t.Errorf("runs of a portfolio never run:\n%s", r.stdout)
	}
	ex = daemon.Explanation{}
	backfilld(t, w.env, "", "explain", "--json", w.never.String()).decode(t, &ex)
	if ex.Watermark != nil || ex.LagDays != 4 || !ex.Due || ex.Runs == nil || len(ex.Runs) != 0 {
		t.Errorf("never snapshotted: %+v", ex)
	}

	// A live lease, then one its dead owner left to expire.
	execSQL(t, w.db, `UPDATE backfill.backfill_state SET status = 'running', lease_owner = 'other:2', lease_token = gen_random_uuid(),
		lease_expires_at = now() + interval '1 hour' WHERE portfolio_id = $1`, w.never)
	backfilld(t, w.env, "", "explain", w.never.String()).want(t, exitOK, "being backfilled now by other:2 (lease until")
	execSQL(t, w.db, `UPDATE backfill.backfill_state SET lease_owner = 'dead:1', lease_expires_at = now() - interval '1 minute'
		WHERE portfolio_id = $1`, w.never)
	r = backfilld(t, w.env, "", "explain", w.never.String())
	r.want(t, exitOK, "its lease held by dead:1 expired at", "the next sweep of any replica takes it over")
	if !regexp.MustCompile(`lease:\s+dead:1, expired `).MatchString(r.stdout) {
		t.Errorf("expired lease:\n%s", r.stdout)
	}
}

// Prices are listed for every symbol positions are valued by, and missing
// closes are flagged for the positions still open.
func TestExplainPrices(t *testing.T) {
	t.Parallel()
	db, env := dbWithEnv(t)
	const positions = `Symbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype,Underlying Symbol,Strike Price,Expiration Date,Option Type,Exit Date,Exit Price Per Share
AAPL,10,185.00,2024-01-02,PUBLIC,STOCK,,,,,,
MSFT_C400_20240119,1,5.00,2024-01-02,OPTIONS,,MSFT,400,2024-01-19,CALL,,
INTC,5,48.00,2024-01-02,PUBLIC,STOCK,,,,,2024-01-03,47.00
FARM_LP,1,25000,2024-01-02,PRIVATE,REAL_ESTATE,,,,,,
CASH_USD,1000,1,2024-01-02,,,,,,,,
`
	var res portfolio.OnboardResult
	r := backfilld(t, env, positions, onboardArgs("Options", "--json", "-")...)
	r.want(t, exitOK)
	r.decode(t, &res)
	id := res.PortfolioID.String()

	// No prices at all: nothing is ready.
	r = backfilld(t, env, "", "explain", id)
	r.want(t, exitOK, "waiting for prices: the benchmark SPY has no close up to 2024-01-05; `backfilld prices import` them",
		"none (SPY has no close up to the last closed session 2024-01-05)", "Without SPY's close the day is not ready")
	if !regexp.MustCompile(`SPY \(benchmark\)\s+none\s+-\s+MISSING\n`).MatchString(r.stdout) {
		t.Errorf("benchmark without prices:\n%s", r.stdout)
	}

	backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv").want(t, exitOK)
	execSQL(t, db, `DELETE FROM backfill.market_prices WHERE symbol = 'AAPL' AND price_date = '2024-01-05'`)
	r = backfilld(t, env, "", "explain", id)
	r.want(t, exitOK, "Missing closes of held symbols (AAPL, MSFT, MSFT_C400_20240119) do not hold the backfill back")
	for _, re := range []string{
		`SPY \(benchmark\)\s+2024-01-05\s+467.92\s+yes\n`,
		`\n  AAPL\s+2024-01-04\s+181.91\s+MISSING\n`,
		`\n  INTC\s+none\s+-\s+missing \(no open position\)\n`,
		`\n  MSFT\s+none\s+-\s+MISSING\n`,
		`\n  MSFT_C400_20240119\s+none\s+-\s+MISSING\n`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("explain lacks %s:\n%s", re, r.stdout)
		}
	}
	for _, s := range []string{"FARM_LP", "CASH_USD"} {
		if strings.Contains(r.stdout, s) {
			t.Errorf("%s needs no price, but is listed:\n%s", s, r.stdout)
		}
	}
	var ex daemon.Explanation
	backfilld(t, env, "", "explain", "--json", id).decode(t, &ex)
	var symbols []string
	for _, p := range ex.Prices {
		symbols = append(symbols, p.Symbol)
	}
	if strings.Join(symbols, " ") != "AAPL INTC MSFT MSFT_C400_20240119" || ex.Prices[1].Needed || !ex.Prices[2].Needed {
		t.Errorf("prices = %+v", ex.Prices)
	}
}

func TestExplainErrors(t *testing.T) {
	t.Parallel()
	_, env := dbWithEnv(t)
	unknown := uuid.Must(uuid.NewV7()).String()
	backfilld(t, env, "", "explain", unknown).want(t, exitFailure, "portfolio "+unknown+" not found")
	backfilld(t, env, "", "explain", "--json", unknown).want(t, exitFailure, "not found")
	backfilld(t, env, "", "explain", "nope").want(t, exitInvalid, `invalid portfolio id "nope"`)
	backfilld(t, env, "", "explain").want(t, exitInvalid, "missing PORTFOLIO_ID")
	backfilld(t, env, "", "explain", unknown, unknown).want(t, exitInvalid, "unexpected argument")
}
