package main

import (
	"github.com/sigmasight/backfill/daemon"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// statusWorld is a database where, after one sweep, portfolios are in
// every interesting state: current, failing two days behind, quarantined,
// never snapshotted, and current with an expired lease of a dead worker.
type statusWorld struct {
	db  *portfoliotest.DB
	env map[string]string

	current, failing, quarantined, never uuid.UUID
}

func newStatusWorld(t *testing.T) *statusWorld {
	t.Helper()
	db, env, ids := onboardedWithPrices(t, "Current", "Failing", "Quarantined")
	backfilld(t, env, "", "run", "--once").want(t, exitOK)
	w := &statusWorld{db: db, env: env, current: ids[0], failing: ids[1], quarantined: ids[2]}
	execSQL(t, db, `UPDATE backfill.backfill_state SET status = 'failing', snapshot_through = '2024-01-03', attempts = 3,
		last_error = 'load prices: connection reset', next_attempt_at = now() + interval '1 hour' WHERE portfolio_id = $1`, w.failing)
	execSQL(t, db, `UPDATE backfill.backfill_state SET status = 'quarantined', attempts = 8,
		last_error = 'panic: index out of range' WHERE portfolio_id = $1`, w.quarantined)
	w.never = onboard(t, env, "Never", "--no-calculate")
	return w
}

func TestStatus(t *testing.T) {
	t.Parallel()
	w := newStatusWorld(t)

	r := backfilld(t, w.env, "", "status")
	r.want(t, exitOK, "Target trading day:", "2024-01-05 (latest closed session with SPY's close)",
		"Needing attention, worst first:", "'backfilld explain PORTFOLIO_ID'",
		"quarantined after 8 failed attempts in a row; fix the cause, then `backfilld retry "+w.quarantined.String()+"`. Last error: panic: index out of range",
		"failing: 3 failed attempts in a row, next attempt at", "load prices: connection reset", "never snapshotted")
	for _, re := range []string{
		`Portfolios:\s+4\n`, `\n  current\s+1\n`, `\n  pending\s+1\n`, `\n  failing\s+1\n`, `\n  quarantined\s+1\n`,
		`Behind the target:\s+1 day 0, 2-5 days 1, more than 5 days 0; never snapshotted 1\n`,
		`Largest lag:\s+2 trading days\n`, `Oldest missing snapshot:\s+2024-01-02\n`,
		// Worst first: quarantined, failing, never snapshotted.
		`(?s)` + w.quarantined.String() + `\s+quarantined\s+2024-01-05\s+0\s+8.*` + w.failing.String() +
			`\s+failing\s+2024-01-03\s+2\s+3.*` + w.never.String() + `\s+pending\s+-\s+4\s+0\s+never snapshotted: 4 trading days to compute through 2024-01-05`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("status lacks %s:\n%s", re, r.stdout)
		}
	}
	if strings.Contains(r.stdout, w.current.String()) {
		t.Errorf("a current portfolio needs no attention:\n%s", r.stdout)
	}

	var st daemon.Overview
	r = backfilld(t, w.env, "", "status", "--json")
	r.want(t, exitOK)
	r.decode(t, &st)
	if st.Target.Format(time.DateOnly) != "2024-01-05" || st.ByState["current"] != 1 || st.ByState["failing"] != 1 ||
		st.ByState["quarantined"] != 1 || st.ByState["pending"] != 1 || st.ByState["running"] != 0 ||
		st.Behind["2_5d"] != 1 || st.Behind["never"] != 1 || st.MaxLagTradingDays != 2 ||
		st.OldestMissing == nil || st.OldestMissing.Format(time.DateOnly) != "2024-01-02" {
		t.Errorf("status --json = %+v", st)
	}
	if len(st.Attention) != 3 {
		t.Fatalf("attention = %+v, want the quarantined, failing and never snapshotted portfolios", st.Attention)
	}
	q, f, n := st.Attention[0], st.Attention[1], st.Attention[2]
	if q.PortfolioID != w.quarantined || q.State != "quarantined" || q.Attempts != 8 || q.LastError != "panic: index out of range" {
		t.Errorf("attention[0] = %+v", q)
	}
	if f.PortfolioID != w.failing || f.State != "failing" || f.LagDays != 2 || f.Attempts != 3 || f.Watermark.Format(time.DateOnly) != "2024-01-03" {
		t.Errorf("attention[1] = %+v", f)
	}
	if n.PortfolioID != w.never || n.Watermark != nil || n.LagDays != 4 || !strings.HasPrefix(n.Reason, "never snapshotted: 4 trading days") {
		t.Errorf("attention[2] = %+v", n)
	}
	// One wording of "why is this behind": status says what explain says.
	for _, a := range st.Attention {
		var ex daemon.Explanation
		backfilld(t, w.env, "", "explain", "--json", a.PortfolioID.String()).decode(t, &ex)
		if ex.Reason != a.Reason {
			t.Errorf("portfolio %s: status reason %q, explain reason %q", a.PortfolioID, a.Reason, ex.Reason)
		}
	}
	for _, field := range []string{"last_sweep", "in_flight"} {
		if strings.Contains(r.stdout, field) {
			t.Errorf("status --json has the process-local %q:\n%s", field, r.stdout)
		}
	}

	// --limit caps the list and says so.
	r = backfilld(t, w.env, "", "status", "--limit", "1")
	r.want(t, exitOK, "the first 1 (--limit)", w.quarantined.String())
	if strings.Contains(r.stdout, w.failing.String()) {
		t.Errorf("--limit 1 listed more:\n%s", r.stdout)
	}
	backfilld(t, w.env, "", "status", "--limit", "-1").want(t, exitInvalid, "--limit -1")
	backfilld(t, w.env, "", "status", "extra").want(t, exitInvalid, `takes no arguments, got "extra"`)
}

func TestStatusAllCurrent(t *testing.T) {
	t.Parallel()
	_, env, _ := onboardedWithPrices(t, "IRA")
	backfilld(t, env, "", "run", "--once").want(t, exitOK)
	r := backfilld(t, env, "", "status")
	r.want(t, exitOK, "No portfolio needs attention.")
	if !regexp.MustCompile(`Oldest missing snapshot:\s+-\n`).MatchString(r.stdout) {
		t.Errorf("status:\n%s", r.stdout)
	}
	var st daemon.Overview
	r = backfilld(t, env, "", "status", "--json")
	r.decode(t, &st)
	if st.Attention == nil || len(st.Attention) != 0 || !strings.Contains(r.stdout, `"attention": []`) {
		t.Errorf("attention = %v, want []", st.Attention)
	}
	if !strings.Contains(r.stdout, `"oldest_missing": null`) {
		t.Errorf("status --json with nothing missing:\n%s\nwant \"oldest_missing\": null", r.stdout)
	}
}

func TestStatusNoPrices(t *testing.T) {
	t.Parallel()
	_, env := dbWithEnv(t)
	onboard(t, env, "IRA")
	backfilld(t, env, "", "status").want(t, exitOK, "none: SPY has no close up to the last closed session", "never snapshotted 1")
}
