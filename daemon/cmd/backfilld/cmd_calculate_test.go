package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// onboard creates a portfolio from testdata/onboard/valid.csv and returns
// its id.
func onboard(t *testing.T, env map[string]string, account string, extra ...string) uuid.UUID {
	t.Helper()
	var res portfolio.OnboardResult
	r := backfilld(t, env, "", onboardArgs(account, append(extra, "--json", "testdata/onboard/valid.csv")...)...)
	r.want(t, exitOK)
	r.decode(t, &res)
	return res.PortfolioID
}

func TestCalculateRequest(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	id := onboard(t, env, "Schwab IRA", "--no-calculate")

	var run portfolio.Run
	r := backfilld(t, env, "", "calculate", "--json", id.String())
	r.want(t, exitOK)
	r.decode(t, &run)
	if !run.Created || run.Status != portfolio.RunPending || run.PortfolioID != id || run.Trigger != portfolio.TriggerCalculate {
		t.Errorf("calculate --json = %+v", run)
	}

	r = backfilld(t, env, "", "calculate", id.String())
	r.want(t, exitOK, "already pending", run.ID.String(), "(pending")
}

func TestCalculateWait(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	id := onboard(t, env, "Schwab IRA")
	backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv").want(t, exitOK)

	// Flags after the argument work too.
	r := backfilld(t, env, "", "calculate", id.String(), "--wait")
	r.want(t, exitOK, "Backfill of portfolio "+id.String()+": completed", "2024-01-02 … 2024-01-05", "timings:")
	if !regexp.MustCompile(`days written:\s+4 of 4\n`).MatchString(r.stdout) {
		t.Errorf("not 4 days written:\n%s", r.stdout)
	}

	// Up to date: a new run that has nothing to compute.
	var res batch.Result
	r = backfilld(t, env, "", "calculate", "--wait", "--json", id.String())
	r.want(t, exitOK)
	r.decode(t, &res)
	if res.Status != portfolio.RunCompleted || res.DaysWritten != 0 || !res.Watermark.Equal(time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("second calculate --wait = %+v", res)
	}
}

func TestCalculateWaitThrough(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	id := onboard(t, env, "Schwab IRA")
	backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv").want(t, exitOK)

	var res batch.Result
	r := backfilld(t, env, "", "calculate", "--wait", "--through", "2024-01-03", "--json", id.String())
	r.want(t, exitOK)
	r.decode(t, &res)
	if res.Status != portfolio.RunCompleted || res.DaysWritten != 2 || res.Through.Format(time.DateOnly) != "2024-01-03" {
		t.Errorf("calculate --through 2024-01-03 = %+v", res)
	}
}

func TestCalculateWaitingForPrices(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	id := onboard(t, env, "Schwab IRA")
	r := backfilld(t, env, "", "calculate", "--wait", id.String())
	r.want(t, exitOK, ": waiting_for_prices", "Waiting for prices: SPY has no close", "backfilld prices import")
}

func TestCalculateLeaseHeld(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	env := map[string]string{"DATABASE_URL": db.ConnString, "BACKFILL_NOW": "2024-01-06T12:00:00Z", "BACKFILL_LOG_LEVEL": "warn"}
	id := onboard(t, env, "Schwab IRA")
	_, err := db.Pool.Exec(t.Context(), `UPDATE backfill.backfill_state
		SET lease_owner = 'elsewhere:1', lease_token = $2, lease_expires_at = now() + interval '1 hour'
		WHERE portfolio_id = $1`, id, uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	backfilld(t, env, "", "calculate", "--wait", id.String()).
		want(t, exitFailure, "another worker is backfilling this portfolio; try again or drop --wait")
	// A request alone still works.
	backfilld(t, env, "", "calculate", id.String()).want(t, exitOK, "already pending")
}

func TestCalculateErrors(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	unknown := "01923f4e-7b3c-7d2a-9c1e-5f6a7b8c9d0e"
	backfilld(t, env, "", "calculate", unknown).want(t, exitFailure, "portfolio "+unknown+" not found")
	backfilld(t, env, "", "calculate", "--wait", unknown).want(t, exitFailure, "not found")

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"not-a-uuid"}, `invalid portfolio id "not-a-uuid"`},
		{[]string{"--wait", "42"}, `invalid portfolio id "42"`},
		{nil, "missing PORTFOLIO_ID"},
		{[]string{"--through", "2024-01-03", unknown}, "--through needs --wait"},
		{[]string{"--wait", "--through", "Jan 3", unknown}, `invalid --through "Jan 3"`},
	}
	for _, tt := range tests {
		backfilld(t, env, "", append([]string{"calculate"}, tt.args...)...).want(t, exitInvalid, tt.want)
	}
}

// calculate --from recomputes a current portfolio from a date; --all
// --symbol --from rewinds every holder; a corrected close alone is enough
// for calculate --wait to recompute.
func TestCalculateFrom(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	id := onboard(t, env, "Schwab IRA")
	backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv").want(t, exitOK)
	backfilld(t, env, "", "calculate", "--wait", id.String()).want(t, exitOK, "2024-01-02 … 2024-01-05")

	var res batch.Result
	r := backfilld(t, env, "", "calculate", "--wait", "--from", "2024-01-04", "--json", id.String())
	r.want(t, exitOK)
	r.decode(t, &res)
	if res.Status != portfolio.RunCompleted || res.DaysWritten != 2 || res.From.Format(time.DateOnly) != "2024-01-04" {
		t.Errorf("calculate --from 2024-01-04 = %+v", res)
	}

	backfilld(t, env, "", "calculate", "--all", "--symbol", "aapl", "--from", "2024-01-03").want(t, exitOK, "Rewound 1 portfolio(s) holding AAPL")
	backfilld(t, env, "", "calculate", "--wait", id.String()).want(t, exitOK, "2024-01-03 … 2024-01-05")
	backfilld(t, env, "", "calculate", "--all", "--symbol", "AAPL").want(t, exitInvalid, "--all --from DATE")
	backfilld(t, env, "", "calculate", "--all", "--from", "2024-01-05").want(t, exitOK, "Rewound 1 portfolio(s) with days on or after it")
	backfilld(t, env, "", "calculate", "--wait", id.String()).want(t, exitOK, "2024-01-05 … 2024-01-05")
	backfilld(t, env, "", "calculate", "--all", "--symbol", "AAPL", "--from", "2024-01-03", "--wait").want(t, exitInvalid, "cannot --wait")
	backfilld(t, env, "", "calculate", "--from", "yesterday", id.String()).want(t, exitInvalid, "from")

	// A corrected close: the next calculate --wait recomputes from its day.
	backfilld(t, env, "", "prices", "import", "testdata/prices/correction.csv").want(t, exitOK, "1 portfolio(s) rewound")
	var st struct {
		ByState map[string]int `json:"by_state"`
	}
	r = backfilld(t, env, "", "status", "--json")
	r.want(t, exitOK)
	r.decode(t, &st)
	if st.ByState["current"] != 0 || st.ByState["pending"] != 1 {
		t.Errorf("status after a correction: %+v, want the holder pending, not current", st.ByState)
	}
	r = backfilld(t, env, "", "calculate", "--wait", "--json", id.String())
	r.want(t, exitOK)
	r.decode(t, &res)
	if res.From.Format(time.DateOnly) != "2024-01-04" || res.DaysWritten != 2 {
		t.Errorf("calculate --wait after a correction of 2024-01-04 = %+v", res)
	}
}
