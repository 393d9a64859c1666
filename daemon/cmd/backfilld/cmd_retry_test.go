package main

import (
	"github.com/sigmasight/backfill/daemon"
	"testing"

	"github.com/google/uuid"
)

func TestRetry(t *testing.T) {
	t.Parallel()
	w := newStatusWorld(t)

	r := backfilld(t, w.env, "", "retry", w.quarantined.String())
	r.want(t, exitOK, "Retried portfolio "+w.quarantined.String()+": it was quarantined after 8 failed attempts; now pending, attempts reset, due now.",
		"last error: panic: index out of range", "A running reconciler was notified")
	if n := queryInt(t, w.db, `SELECT count(*) FROM backfill.backfill_state WHERE portfolio_id = $1 AND status = 'pending'
		AND attempts = 0 AND requested_at IS NOT NULL AND next_attempt_at <= now()`, w.quarantined); n != 1 {
		t.Errorf("quarantined portfolio not pending and due after retry")
	}

	var out daemon.Retried
	r = backfilld(t, w.env, "", "retry", "--json", w.failing.String())
	r.want(t, exitOK)
	r.decode(t, &out)
	if out != (daemon.Retried{PortfolioID: w.failing, PreviousState: "failing", PreviousAttempts: 3, LastError: "load prices: connection reset", State: "pending"}) {
		t.Errorf("retry --json = %+v", out)
	}

	// A portfolio that is not failing is requested again.
	backfilld(t, w.env, "", "retry", w.current.String()).want(t, exitOK, "it was current (not failing); it stays current and is due now")

	// The next sweep brings them all up to date.
	backfilld(t, w.env, "", "run", "--once").want(t, exitOK, "4 completed")
	if n := queryInt(t, w.db, `SELECT count(*) FROM backfill.backfill_state WHERE status = 'current' AND snapshot_through = '2024-01-05'`); n != 4 {
		t.Errorf("%d of 4 portfolios current after retries and a sweep", n)
	}
}

func TestRetryQuarantined(t *testing.T) {
	t.Parallel()
	db, env, ids := onboardedWithPrices(t, "A", "B", "C")
	backfilld(t, env, "", "retry", "--quarantined").want(t, exitOK, "No quarantined portfolio: nothing to retry.")

	execSQL(t, db, `UPDATE backfill.backfill_state SET status = 'quarantined', attempts = 8, last_error = 'boom'
		WHERE portfolio_id = ANY($1)`, ids[:2])
	var out daemon.RetriedQuarantined
	r := backfilld(t, env, "", "retry", "--quarantined", "--json")
	r.want(t, exitOK)
	r.decode(t, &out)
	want := map[uuid.UUID]bool{ids[0]: true, ids[1]: true}
	if out.Retried != 2 || len(out.PortfolioIDs) != 2 || !want[out.PortfolioIDs[0]] || !want[out.PortfolioIDs[1]] {
		t.Errorf("retry --quarantined --json = %+v, want %s and %s", out, ids[0], ids[1])
	}
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.backfill_state WHERE status = 'quarantined'`); n != 0 {
		t.Errorf("%d portfolios still quarantined", n)
	}

	execSQL(t, db, `UPDATE backfill.backfill_state SET status = 'quarantined' WHERE portfolio_id = $1`, ids[2])
	backfilld(t, env, "", "retry", "--quarantined").want(t, exitOK, "Retried 1 quarantined portfolios", ids[2].String())
}

func TestRetryErrors(t *testing.T) {
	t.Parallel()
	_, env := dbWithEnv(t)
	id := uuid.Must(uuid.NewV7()).String()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "missing PORTFOLIO_ID, or --quarantined"},
		{[]string{"--json"}, "missing PORTFOLIO_ID, or --quarantined"},
		{[]string{"--quarantined", id}, "give a portfolio id or --quarantined, not both"},
		{[]string{id, "--quarantined"}, "give a portfolio id or --quarantined, not both"},
		{[]string{id, id}, "retry takes one portfolio id"},
		{[]string{"12"}, `invalid portfolio id "12"`},
	}
	for _, tt := range tests {
		backfilld(t, env, "", append([]string{"retry"}, tt.args...)...).want(t, exitInvalid, tt.want)
	}
	backfilld(t, env, "", "retry", id).want(t, exitFailure, "portfolio "+id+" not found")
}
