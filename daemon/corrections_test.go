package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A close corrected with plain SQL under a running reconciler reaches every
// holder through the notification alone: one sweep later their rows equal
// those of an identical portfolio computed afterwards, and a portfolio
// without the symbol keeps its rows and runs.
func TestCorrectionBySQLUnderRunningReconciler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, 80, 4)
	r := w.reconciler(&Config{Schedule: "@every 1h"}) // notifications only
	holder := w.onboard("holder", w.symbols[0], w.symbols[1])
	other := w.onboard("other", w.symbols[2])
	if _, err := r.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	if !w.current(holder) || !w.current(other) {
		t.Fatal("not current after the first sweep")
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx)
	before := snapshotRows(t, w.db.Pool, w.sessions[79], other)[other]
	runsOf := func(id any) int {
		return w.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE portfolio_id = $1`, id)
	}
	otherRuns := runsOf(other)

	mid := w.sessions[40]
	if _, err := w.db.Pool.Exec(ctx, `UPDATE backfill.market_prices SET close = close * 1.25 WHERE symbol = $1 AND price_date = $2`,
		w.symbols[1], mid); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the holder recomputed after the correction", func() bool {
		return w.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE portfolio_id = $1 AND trigger = 'price_correction' AND status = 'completed'`, holder) == 1 &&
			w.current(holder)
	})
	if got := testutil.ToFloat64(r.metrics.priceRewinds); got != 1 {
		t.Errorf("price_rewinds_total = %v, want 1 (the holder)", got)
	}
	twin := w.onboard("twin", w.symbols[0], w.symbols[1])
	eventually(t, 20*time.Second, "the twin current", func() bool { return w.current(twin) })
	rows := snapshotRows(t, w.db.Pool, w.sessions[79], holder, twin, other)
	if d := firstDiff(rows[twin], rows[holder]); d != "" {
		t.Errorf("holder differs from a twin computed after the correction: %s", d)
	}
	if d := firstDiff(before, rows[other]); d != "" || runsOf(other) != otherRuns {
		t.Errorf("a portfolio without the symbol was touched: %s, runs %d → %d", d, otherRuns, runsOf(other))
	}
	var from time.Time
	w.db.Pool.QueryRow(ctx, `SELECT from_date FROM backfill.batch_runs WHERE portfolio_id = $1 AND trigger = 'price_correction'`, holder).Scan(&from)
	if !from.Equal(mid) {
		t.Errorf("the correction's run started at %s, want the corrected day %s", day(from), day(mid))
	}
}

// Closes of 1e300 and Infinity stored past the database's bound fail the
// backfill naming the symbol; nothing absurd is stored; the failure counts
// toward quarantine and the alert's gauge; after the close is fixed and the
// portfolio retried, it is current.
func TestFaultImplausibleCloses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, 30, 3)
	r := w.reconciler(&Config{MaxAttempts: 2, BackoffBase: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
	if _, err := w.db.Pool.Exec(ctx, `ALTER TABLE backfill.market_prices DROP CONSTRAINT market_prices_close_bounds`); err != nil {
		t.Fatal(err)
	}
	bigDay, infDay := w.sessions[10], w.sessions[20]
	for _, c := range []struct {
		sym   string
		d     time.Time
		close string
	}{{w.symbols[0], bigDay, "1e300"}, {w.symbols[1], infDay, "Infinity"}} {
		if _, err := w.db.Pool.Exec(ctx, `UPDATE backfill.market_prices SET close = $3::numeric WHERE symbol = $1 AND price_date = $2`,
			c.sym, c.d, c.close); err != nil {
			t.Fatal(err)
		}
	}
	big := w.onboard("big", w.symbols[0], w.symbols[2])
	inf := w.onboard("inf", w.symbols[1], w.symbols[2])
	eventually(t, 10*time.Second, "quarantine", func() bool {
		r.SweepNow(ctx)
		return w.queryInt(`SELECT count(*) FROM backfill.backfill_state WHERE status = 'quarantined'`) == 2
	})
	for id, want := range map[any]string{big: w.symbols[0], inf: w.symbols[1]} {
		var lastErr string
		w.db.Pool.QueryRow(ctx, `SELECT last_error FROM backfill.backfill_state WHERE portfolio_id = $1`, id).Scan(&lastErr)
		if !strings.Contains(lastErr, want) || !strings.Contains(lastErr, "implausible") {
			t.Errorf("last error %q does not name %s", lastErr, want)
		}
	}
	if n := w.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots WHERE abs(nav) > 1e15 OR nav = 'Infinity' OR nav = '-Infinity' OR daily_return = 'NaN'`); n != 0 {
		t.Errorf("%d absurd snapshot rows stored", n)
	}
	r.SweepNow(ctx) // refreshes the state gauges
	if got := testutil.ToFloat64(r.metrics.portfolios.WithLabelValues("quarantined")); got != 2 {
		t.Errorf("quarantined gauge = %v, want 2 (the BackfillQuarantined alert's condition)", got)
	}
	if got := testutil.ToFloat64(r.metrics.backfills.WithLabelValues("failed")); got < 4 {
		t.Errorf("failed backfills = %v, want at least 4", got)
	}

	// The fix: real closes again (a correction), then a retry.
	if _, err := w.db.Pool.Exec(ctx, `UPDATE backfill.market_prices SET close = 50 WHERE close > 1e9`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RetryQuarantined(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	if !w.current(big) || !w.current(inf) {
		t.Errorf("not current after the fix and a retry")
	}
	if got := testutil.ToFloat64(r.metrics.portfolios.WithLabelValues("quarantined")); got != 0 {
		t.Errorf("quarantined gauge after the retry = %v", got)
	}
}
