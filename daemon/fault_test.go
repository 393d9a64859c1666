package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

// Fault injection: each TestFault… test breaks something under running
// reconcilers — a panic, a statement timeout, a lost notification, a clock
// jumping, prices changing underneath, the database restarting, a zombie
// worker, a connection lost while a run is recorded, backfills racing for
// shared betas — and then checks, with checkInvariants, that the database
// is still whole once everything has stopped.

// checkInvariants asserts what must hold of the whole database once every
// reconciler working on it has stopped, whatever fault came before:
//   - no batch run is running, every finished run has finished_at, and a
//     failed run wrote nothing, a partial one something;
//   - no portfolio holds a lease or is left in state running;
//   - every portfolio's snapshots are exactly one per session from its
//     inception session through its watermark (none without a watermark):
//     none lost, none beyond it (no test here rewinds), no duplicates;
//   - a current portfolio's watermark is target;
//   - each run's days_written is at least the snapshot rows that still
//     carry its id (a later run may have rewritten some: a correction);
//   - for each worker of rs, its backfills_total summed over results is at
//     least the runs it finished, and days_written_total equals the days
//     its runs recorded as written.
func checkInvariants(t *testing.T, pool *pgxpool.Pool, cal batch.Calendar, target time.Time, rs ...*Reconciler) {
	t.Helper()
	ctx := context.Background()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("invariants: %v", err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM backfill.batch_runs WHERE status = 'running'`); n != 0 {
		t.Errorf("invariant: %d batch runs left running: %s", n, describeRuns(t, pool, `status = 'running'`))
	}
	if n := count(`SELECT count(*) FROM backfill.batch_runs WHERE status NOT IN ('pending', 'running') AND finished_at IS NULL`); n != 0 {
		t.Errorf("invariant: %d finished runs without finished_at", n)
	}
	// The engine's meaning of the statuses: failed wrote nothing, partial
	// some chunks.
	if n := count(`SELECT count(*) FROM backfill.batch_runs
		WHERE (status = 'failed' AND days_written > 0) OR (status = 'partial' AND days_written = 0)`); n != 0 {
		t.Errorf("invariant: %d runs whose status contradicts their days written (failed must write nothing, partial something): %s", n,
			describeRuns(t, pool, `(status = 'failed' AND days_written > 0) OR (status = 'partial' AND days_written = 0)`))
	}
	if n := count(`SELECT count(*) FROM backfill.backfill_state
		WHERE lease_token IS NOT NULL OR lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL`); n != 0 {
		t.Errorf("invariant: %d portfolios hold a lease with every reconciler stopped", n)
	}
	if n := count(`SELECT count(*) FROM backfill.backfill_state WHERE status = 'running'`); n != 0 {
		t.Errorf("invariant: %d portfolios in state running with every reconciler stopped", n)
	}

	rows, err := pool.Query(ctx, `
		SELECT p.id, p.inception_date, s.status, s.snapshot_through,
		       coalesce(array_agg(ps.snapshot_date ORDER BY ps.snapshot_date) FILTER (WHERE ps.snapshot_date IS NOT NULL), '{}')
		FROM backfill.portfolios p
		LEFT JOIN backfill.backfill_state s ON s.portfolio_id = p.id
		LEFT JOIN backfill.portfolio_snapshots ps ON ps.portfolio_id = p.id
		GROUP BY p.id, p.inception_date, s.status, s.snapshot_through`)
	if err != nil {
		t.Fatalf("invariants: %v", err)
	}
	type pstate struct {
		id        uuid.UUID
		inception time.Time
		status    *string
		watermark *time.Time
		dates     []time.Time
	}
	states, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pstate, error) {
		var p pstate
		return p, row.Scan(&p.id, &p.inception, &p.status, &p.watermark, &p.dates)
	})
	if err != nil {
		t.Fatalf("invariants: %v", err)
	}
	bad := 0
	for _, p := range states {
		var want []time.Time
		if p.watermark != nil {
			want = batch.Sessions(cal, p.inception, *p.watermark)
		}
		if msg := dateSetDiff(want, p.dates); msg != "" && bad < 5 {
			bad++
			t.Errorf("invariant: portfolio %s (inception %s, watermark %s): %d snapshots, want one per session from inception through the watermark (%d): %s",
				p.id, day(p.inception), dayp(p.watermark), len(p.dates), len(want), msg)
		}
		if p.status != nil && *p.status == "current" && (p.watermark == nil || !p.watermark.Equal(target)) && bad < 5 {
			bad++
			t.Errorf("invariant: portfolio %s is current with watermark %s, want the target %s", p.id, dayp(p.watermark), day(target))
		}
	}

	if n := count(`
		SELECT count(*) FROM (
			SELECT r.id FROM backfill.batch_runs r
			LEFT JOIN backfill.portfolio_snapshots ps ON ps.portfolio_id = r.portfolio_id AND ps.batch_run_id = r.id
			GROUP BY r.portfolio_id, r.id, r.days_written
			HAVING r.days_written < count(ps.portfolio_id)) x`); n != 0 {
		t.Errorf("invariant: %d runs own more snapshot rows than they wrote: %s", n, describeRuns(t, pool, `
			days_written < (SELECT count(*) FROM backfill.portfolio_snapshots ps
			                 WHERE ps.portfolio_id = batch_runs.portfolio_id AND ps.batch_run_id = batch_runs.id)`))
	}

	type tally struct{ backfills, days float64 }
	byWorker := map[string]*tally{}
	for _, r := range rs {
		w := r.engine.Config().Worker
		if byWorker[w] == nil {
			byWorker[w] = &tally{}
		}
		for _, res := range backfillResults {
			byWorker[w].backfills += testutil.ToFloat64(r.metrics.backfills.WithLabelValues(res))
		}
		byWorker[w].days += testutil.ToFloat64(r.metrics.daysWritten)
	}
	for w, m := range byWorker {
		finished := count(`SELECT count(*) FROM backfill.batch_runs WHERE worker = $1 AND status NOT IN ('pending', 'running')`, w)
		if int(m.backfills) < finished {
			t.Errorf("invariant: worker %s counts %v backfills but finished %d runs", w, m.backfills, finished)
		}
		written := count(`SELECT coalesce(sum(days_written), 0) FROM backfill.batch_runs WHERE worker = $1`, w)
		if int(m.days) != written {
			t.Errorf("invariant: worker %s: backfill_days_written_total = %v, but its runs recorded %d days written", w, m.days, written)
		}
	}
}

// dateSetDiff describes how got differs from want, both sorted; "" when
// equal.
func dateSetDiff(want, got []time.Time) string {
	if slices.EqualFunc(want, got, time.Time.Equal) {
		return ""
	}
	in := func(s []time.Time, d time.Time) bool {
		_, ok := slices.BinarySearchFunc(s, d, time.Time.Compare)
		return ok
	}
	var missing, extra []string
	for _, d := range want {
		if !in(got, d) && len(missing) < 5 {
			missing = append(missing, day(d))
		}
	}
	for i, d := range got {
		if (!in(want, d) || (i > 0 && got[i-1].Equal(d))) && len(extra) < 5 {
			extra = append(extra, day(d))
		}
	}
	return fmt.Sprintf("missing %v, unexpected or duplicated %v", missing, extra)
}

// describeRuns lists up to five runs matching where, for error messages.
func describeRuns(t *testing.T, pool *pgxpool.Pool, where string) string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT format('%s/%s %s worker=%s days_written=%s error=%s', portfolio_id, id, status, worker, days_written, error)
		FROM backfill.batch_runs WHERE `+where+` LIMIT 5`)
	if err != nil {
		return err.Error()
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err.Error()
	}
	return strings.Join(list, "; ")
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

func dayp(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return day(*t)
}

// fakeClock is a clock tests move, shared by reconcilers and engines.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time         { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) set(t time.Time)        { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) afterClose(d time.Time) { c.set(afterClose(d)) }

// afterClose is an instant on d after New York's close plus the close delay
// (23:00 UTC is 18:00 or 19:00 in New York).
func afterClose(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 23, 0, 0, 0, time.UTC)
}

// onboardAt onboards a portfolio holding symbols since entry, with the
// quantities and prices world.onboard uses, so that equal symbol lists make
// identical portfolios.
func onboardAt(t *testing.T, client *portfolio.Client, account string, entry time.Time, symbols ...string) uuid.UUID {
	t.Helper()
	var sb strings.Builder
	sb.WriteString("Symbol,Quantity,Entry Price Per Share,Entry Date\n")
	for i, s := range symbols {
		fmt.Fprintf(&sb, "%s,%d,%d.50,%s\n", s, 10+i, 20+i, day(entry))
	}
	res, err := client.Onboard(context.Background(), &portfolio.OnboardRequest{
		OwnerID: "owner", PortfolioName: "p", AccountName: account, AccountType: "taxable",
		StartingEquity: "100000", CSV: strings.NewReader(sb.String()),
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.PortfolioID
}

// insertPrices writes a random walk of closes for each symbol on days.
func insertPrices(t *testing.T, pool *pgxpool.Pool, symbols []string, days []time.Time, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	var syms []string
	var dates []time.Time
	var closes []float64
	for _, s := range symbols {
		p := 20 + 100*rng.Float64()
		for _, d := range days {
			p *= math.Exp(0.01 * rng.NormFloat64())
			syms, dates, closes = append(syms, s), append(dates, d), append(closes, math.Round(p*100)/100)
		}
	}
	if _, err := pool.Exec(context.Background(), `INSERT INTO backfill.market_prices (symbol, price_date, close)
		SELECT * FROM unnest($1::text[], $2::date[], $3::float8[])`, syms, dates, closes); err != nil {
		t.Fatal(err)
	}
}

// snapshotRows returns each portfolio's snapshot rows through through,
// one text line per day, without the columns that name the portfolio, the
// run and the time of writing: equal lines mean equal analytics.
func snapshotRows(t *testing.T, pool *pgxpool.Pool, through time.Time, ids ...uuid.UUID) map[uuid.UUID][]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT portfolio_id, array_agg((to_jsonb(s) - 'portfolio_id' - 'batch_run_id' - 'computed_at')::text ORDER BY snapshot_date)
		FROM backfill.portfolio_snapshots s WHERE portfolio_id = ANY($1) AND snapshot_date <= $2 GROUP BY portfolio_id`, ids, through)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uuid.UUID][]string{}
	var id uuid.UUID
	var lines []string
	if _, err := pgx.ForEachRow(rows, []any{&id, &lines}, func() error { out[id] = lines; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// firstDiff describes the first line where got differs from want; "" when
// equal.
func firstDiff(want, got []string) string {
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(want):
			return fmt.Sprintf("extra row %s", got[i])
		case i >= len(got):
			return fmt.Sprintf("missing row %s", want[i])
		case want[i] != got[i]:
			return fmt.Sprintf("row %d:\n got  %s\n want %s", i, got[i], want[i])
		}
	}
	return ""
}

// stopAll stops reconcilers. A Stop that does not return within 15 s
// (its backfills ignore cancellation: stuck) fails the test with the stuck
// goroutines' stacks instead of hanging it until the test binary's timeout.
func stopAll(t *testing.T, rs ...*Reconciler) {
	t.Helper()
	for _, r := range rs {
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- r.Stop(ctx)
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stop %s: %v", r.cfg.Worker, err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("reconciler %s did not stop within 15 s: %d backfills stuck, ignoring cancellation:\n%s",
				r.cfg.Worker, len(r.snapshotInFlight()), stuckStacks())
		}
	}
}

// stuckStacks returns the stacks of up to three goroutines inside the
// engine, for diagnosing a hang.
func stuckStacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "backfill/batch.") && len(out) < 3 {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// panickingSource panics when asked for closes.
type panickingSource struct{ batch.PriceSource }

func (panickingSource) Closes(context.Context, []string, time.Time, time.Time) (map[string][]batch.Close, error) {
	panic("injected fault: price feed exploded")
}

// 1. A panic in a backfill's computation is recovered: the run is failed
// with the panic, the portfolio failing after one attempt, nothing written,
// no lease held; a healthy worker then completes it.
func TestFaultPanickingStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, 20, 3)
	cal := batch.NewNYSECalendar()
	src := panickingSource{batch.NewDBPriceSource(w.db.Pool, portfolio.DefaultSchema)}
	engine, err := batch.NewEngine(w.db.Pool, &batch.Config{Now: w.now, Prices: src, Worker: "panicky"})
	if err != nil {
		t.Fatal(err)
	}
	// A backoff long enough that one sweep on a loaded machine cannot
	// claim the failed portfolio a second time, short enough for the
	// healer below.
	panicky := w.reconciler(&Config{Engine: engine, Worker: "panicky", BackoffBase: time.Second, BackoffMax: 2 * time.Second})
	id := w.onboard("acct", w.symbols...)

	if _, err := panicky.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	for _, res := range backfillResults {
		want := 0.0
		if res == "panic" {
			want = 1
		}
		if got := testutil.ToFloat64(panicky.metrics.backfills.WithLabelValues(res)); got != want {
			t.Errorf("backfills_total{result=%q} = %v, want %v", res, got, want)
		}
	}
	var status, runErr string
	var finished *time.Time
	var written int
	if err := w.db.Pool.QueryRow(ctx, `SELECT status, finished_at, coalesce(error, ''), days_written
		FROM backfill.batch_runs WHERE portfolio_id = $1`, id).Scan(&status, &finished, &runErr, &written); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || finished == nil || written != 0 ||
		!strings.Contains(runErr, "panic") || !strings.Contains(runErr, "price feed exploded") {
		t.Errorf("run: status %s, finished %v, days_written %d, error %q; want failed with the panic, nothing written", status, finished, written, runErr)
	}
	var state string
	var attempts int
	var watermark *time.Time
	var leased bool
	if err := w.db.Pool.QueryRow(ctx, `SELECT status, attempts, snapshot_through, lease_token IS NOT NULL
		FROM backfill.backfill_state WHERE portfolio_id = $1`, id).Scan(&state, &attempts, &watermark, &leased); err != nil {
		t.Fatal(err)
	}
	if state != "failing" || attempts != 1 || watermark != nil || leased {
		t.Errorf("state %s, attempts %d, watermark %s, leased %v; want failing, 1, none, false", state, attempts, dayp(watermark), leased)
	}
	if n := w.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1`, id); n != 0 {
		t.Errorf("%d snapshots written by a panicking backfill", n)
	}

	healer := w.reconciler(&Config{Worker: "healer"})
	eventually(t, 10*time.Second, "a healthy worker completes the portfolio once its backoff ends", func() bool {
		if _, err := healer.SweepNow(ctx); err != nil {
			t.Fatal(err)
		}
		return w.current(id)
	})
	checkInvariants(t, w.db.Pool, cal, w.sessions[len(w.sessions)-1], panicky, healer)
}

// 2. statement_timeout cancels the snapshot COPY of a big portfolio: the
// backfill fails cleanly (run closed, no half-written chunk, lease free)
// while small statements — a small portfolio's whole backfill — still pass;
// a pool without the timeout then finishes.
//
// What makes the big portfolio's COPY slow is a row trigger on its last
// day that sleeps 1 s, far beyond the 250 ms timeout, while every statement
// of the small portfolio's backfill takes a few milliseconds: the outcome
// does not depend on how loaded the machine is. Prices are read through a
// pool without the timeout (as from a replica): the fault under test is the
// write.
func TestFaultStatementTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const days, timeout = 300, "250ms"
	w := newWorld(t, days, 1)
	cal := batch.NewNYSECalendar()
	last := w.sessions[len(w.sessions)-1]
	big := w.onboard("big", w.symbols[0])
	small := onboardAt(t, w.client, "small", w.sessions[len(w.sessions)-100], w.symbols[0])
	if _, err := w.db.Pool.Exec(ctx, fmt.Sprintf(`
		CREATE FUNCTION backfill.slow_write() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$;
		CREATE TRIGGER slow_big BEFORE INSERT ON backfill.portfolio_snapshots FOR EACH ROW
		WHEN (NEW.portfolio_id = '%s' AND NEW.snapshot_date = '%s') EXECUTE FUNCTION backfill.slow_write()`,
		big, day(last))); err != nil {
		t.Fatal(err)
	}

	cfg, err := pgxpool.ParseConfig(w.db.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = timeout
	strictPool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer strictPool.Close()
	engine, err := batch.NewEngine(strictPool, &batch.Config{Now: w.now, Worker: "strict", ChunkDays: days,
		Prices: batch.NewDBPriceSource(w.db.Pool, portfolio.DefaultSchema)})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := New(strictPool, &Config{Engine: engine, Now: w.now, Worker: "strict",
		BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.SweepNow(ctx); err != nil {
		t.Fatalf("sweep under statement_timeout=%s: %v (small statements must pass)", timeout, err)
	}
	if !w.current(small) {
		t.Errorf("the small portfolio is not current under statement_timeout=%s: the timeout is too low for this machine: %s",
			timeout, describeRuns(t, w.db.Pool, fmt.Sprintf("portfolio_id = '%s'", small)))
	}
	var status, runErr string
	var written int
	if err := w.db.Pool.QueryRow(ctx, `SELECT status, coalesce(error, ''), days_written FROM backfill.batch_runs
		WHERE portfolio_id = $1 ORDER BY requested_at DESC LIMIT 1`, big).Scan(&status, &runErr, &written); err != nil {
		t.Fatal(err)
	}
	t.Logf("big portfolio's run under statement_timeout=%s: %s, %d days written, %s", timeout, status, written, runErr)
	switch {
	case status == "running":
		// The engine could not even record the run: the next backfill
		// must close it (checked by the invariants after recovery).
		t.Logf("the run's bookkeeping timed out too: run left running until the next backfill")
	case status != "failed" && status != "partial":
		t.Errorf("big portfolio's run is %s, want failed or partial", status)
	case !strings.Contains(runErr, "statement timeout"):
		t.Errorf("big portfolio's run error %q does not name the statement timeout", runErr)
	}
	if got := testutil.ToFloat64(strict.metrics.backfills.WithLabelValues("failed")) +
		testutil.ToFloat64(strict.metrics.backfills.WithLabelValues("partial")); got != 1 {
		t.Errorf("failed+partial backfills = %v, want 1", got)
	}
	var leased bool
	var state string
	if err := w.db.Pool.QueryRow(ctx, `SELECT status, lease_token IS NOT NULL FROM backfill.backfill_state WHERE portfolio_id = $1`, big).
		Scan(&state, &leased); err != nil {
		t.Fatal(err)
	}
	if state != "failing" || leased {
		t.Errorf("big portfolio: state %s, leased %v; want failing without a lease", state, leased)
	}
	// No half-written chunk: the rows are exactly the watermark's.
	checkInvariants(t, w.db.Pool, cal, last, strict)

	if _, err := w.db.Pool.Exec(ctx, `DROP TRIGGER slow_big ON backfill.portfolio_snapshots`); err != nil {
		t.Fatal(err)
	}
	normal := w.reconciler(&Config{Worker: "normal"})
	eventually(t, 20*time.Second, "a pool without the timeout completes the big portfolio", func() bool {
		if _, err := normal.SweepNow(ctx); err != nil {
			t.Fatal(err)
		}
		return w.current(big)
	})
	if n := w.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1`, big); n != days {
		t.Errorf("big portfolio has %d snapshots, want %d", n, days)
	}
	checkInvariants(t, w.db.Pool, cal, last, strict, normal)
}

// 3. The listener's connection is killed and a portfolio onboarded while it
// is down: its notification is lost, yet it becomes current (the sweep after
// the reconnect, or the schedule) and the listener comes back.
func TestFaultLostNotification(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, 20, 3)
	cal := batch.NewNYSECalendar()
	r := w.reconciler(&Config{Worker: "listener", Schedule: "@every 1s"})
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			stopAll(t, r)
		}
	}()
	listenerPID := func() int {
		var pid int
		err := w.db.Pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`).Scan(&pid)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		return pid
	}
	var killed int
	eventually(t, 10*time.Second, "listener connected", func() bool {
		killed = listenerPID()
		return killed != 0 && testutil.ToFloat64(r.metrics.listenerConnected) == 1
	})
	if _, err := w.db.Pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, killed); err != nil {
		t.Fatal(err)
	}
	// Down for at least the reconnect delay (500 ms): a NOTIFY now is lost.
	eventually(t, 10*time.Second, "listener noticed its connection died", func() bool {
		return testutil.ToFloat64(r.metrics.listenerConnected) == 0
	})
	id := w.onboard("acct", w.symbols...)
	eventually(t, 10*time.Second, "portfolio onboarded during the outage current", func() bool { return w.current(id) })
	eventually(t, 10*time.Second, "listener reconnected", func() bool {
		pid := listenerPID()
		return pid != 0 && pid != killed && testutil.ToFloat64(r.metrics.listenerConnected) == 1
	})
	stopAll(t, r)
	checkInvariants(t, w.db.Pool, cal, w.sessions[len(w.sessions)-1], r)
}

// 4. The clock jumps back five sessions, then forward past new sessions: a
// watermark ahead of the target is left alone — no claim, no deletion, the
// portfolio stays current (status lists it nowhere: it is not behind) — and
// moving forward backfills exactly the new sessions, once prices exist.
func TestFaultClockJumps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, 30, 3)
	cal := batch.NewNYSECalendar()
	last := w.sessions[len(w.sessions)-1]
	var clock fakeClock
	clock.afterClose(last)
	w.now = clock.now
	r := w.reconciler(&Config{Worker: "clocked"})
	id := w.onboard("acct", w.symbols...)
	if _, err := r.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	if !w.current(id) {
		t.Fatal("not current before the clock moves")
	}
	counts := func() [3]int {
		return [3]int{
			w.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots`),
			w.queryInt(`SELECT count(*) FROM backfill.batch_runs`),
			w.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots WHERE snapshot_date = $1`, last),
		}
	}
	before := counts()

	// Back five sessions.
	back := w.sessions[len(w.sessions)-6]
	clock.afterClose(back)
	res, err := r.SweepNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Target.Equal(back) || res.Claimed != 0 {
		t.Errorf("sweep with the clock back: target %s, claimed %d; want %s, 0", day(res.Target), res.Claimed, day(back))
	}
	if got := counts(); got != before {
		t.Errorf("rows (snapshots, runs, snapshots on %s) %v after the clock went back, want %v", day(last), got, before)
	}
	var state string
	var watermark time.Time
	if err := w.db.Pool.QueryRow(ctx, `SELECT status, snapshot_through FROM backfill.backfill_state WHERE portfolio_id = $1`, id).
		Scan(&state, &watermark); err != nil {
		t.Fatal(err)
	}
	if state != "current" || !watermark.Equal(last) {
		t.Errorf("with the clock back: state %s, watermark %s; want current, %s (ahead of the target)", state, day(watermark), day(last))
	}
	st, err := r.Status(ctx, time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if st.ByState["current"] != 1 || len(st.Attention) != 0 || st.MaxLagTradingDays != 0 {
		t.Errorf("status with the clock back: %+v", st)
	}
	for _, l := range lagBuckets {
		if got := testutil.ToFloat64(r.metrics.behind.WithLabelValues(l)); got != 0 {
			t.Errorf("portfolios_behind{lag=%q} = %v with the watermark ahead of the target", l, got)
		}
	}

	// Forward past 2025-01-03, before its prices exist: nothing to do yet.
	jan2, jan3 := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC)
	clock.afterClose(jan3)
	if res, err := r.SweepNow(ctx); err != nil || res.Claimed != 0 || !res.Target.Equal(last) {
		t.Errorf("sweep before the new prices: %+v, %v; want target %s, nothing claimed", res, err, day(last))
	}
	insertPrices(t, w.db.Pool, append([]string{"SPY"}, w.symbols...), []time.Time{jan2, jan3}, 99)
	res, err = r.SweepNow(ctx)
	if err != nil || res.Claimed != 1 || !res.Target.Equal(jan3) {
		t.Fatalf("sweep after the new prices: %+v, %v; want target %s, one claim", res, err, day(jan3))
	}
	var from, through time.Time
	var written int
	if err := w.db.Pool.QueryRow(ctx, `SELECT from_date, through_date, days_written FROM backfill.batch_runs
		WHERE portfolio_id = $1 AND status = 'completed' ORDER BY started_at DESC LIMIT 1`, id).Scan(&from, &through, &written); err != nil {
		t.Fatal(err)
	}
	if !from.Equal(jan2) || !through.Equal(jan3) || written != 2 {
		t.Errorf("catch-up run %s..%s, %d days; want exactly the new sessions %s..%s, 2 days", day(from), day(through), written, day(jan2), day(jan3))
	}
	if got := counts(); got[0] != before[0]+2 || got[1] != before[1]+1 || got[2] != before[2] {
		t.Errorf("rows after the catch-up %v, want %v plus 2 snapshots and 1 run", got, before)
	}
	checkInvariants(t, w.db.Pool, cal, jan3, r)
}

// 5. A price file lands while two reconcilers backfill 200 portfolios: it
// adds the next session's closes and corrects a few past ones. Then the
// clock passes that session. Every portfolio ends current through it, and
// its rows are those of an identical portfolio onboarded and computed
// afterwards, in one pass: whether its backfill finished before the
// import, ran during it or started after it, the corrections reach it.
func TestFaultPriceImportDuringBackfills(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const groups, perGroup, n = 10, 4, 200
	w := newWorld(t, 60, groups*perGroup)
	cal := batch.NewNYSECalendar()
	last := w.sessions[len(w.sessions)-1]
	jan2 := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	var clock fakeClock
	clock.afterClose(last)
	w.now = clock.now
	holdings := func(g int) []string { return w.symbols[g*perGroup : (g+1)*perGroup] }
	// Groups 0 and 1 hold the symbols whose past closes the file corrects.
	corrections := []struct {
		symbol string
		day    time.Time
	}{{"S001", w.sessions[len(w.sessions)-2]}, {"S002", w.sessions[len(w.sessions)-4]}, {"S005", last}}
	affected := func(g int) bool { return g < 2 }

	// Reference portfolios of the affected groups computed before the import.
	oldTwin := map[int]uuid.UUID{}
	for g := range groups {
		if affected(g) {
			oldTwin[g] = w.onboard(fmt.Sprint("old-twin-", g), holdings(g)...)
		}
	}
	pre := w.reconciler(&Config{Worker: "pre"})
	if _, err := pre.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}

	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = w.onboard(fmt.Sprint("acct-", i), holdings(i%groups)...)
	}
	var rs []*Reconciler
	for i := range 2 {
		r := w.reconciler(&Config{Worker: fmt.Sprint("replica-", i), Schedule: "@every 1s",
			BackoffBase: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	defer func() {
		if t.Failed() {
			stopAll(t, rs...)
		}
	}()
	eventually(t, 30*time.Second, "backfills under way", func() bool {
		return w.queryInt(`SELECT count(*) FROM backfill.backfill_state WHERE status = 'current'`) >= n/5
	})

	var csv strings.Builder
	csv.WriteString("date,symbol,close\n")
	closes, err := w.db.Pool.Query(ctx, `SELECT symbol, close::text FROM backfill.market_prices WHERE price_date = $1 ORDER BY symbol`, last)
	if err != nil {
		t.Fatal(err)
	}
	var sym, cl string
	if _, err := pgx.ForEachRow(closes, []any{&sym, &cl}, func() error {
		if !strings.Contains(cl, ".") {
			cl += "."
		}
		fmt.Fprintf(&csv, "%s,%s,%s\n", day(jan2), sym, cl+"1") // one more decimal: a new close near the last
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range corrections {
		fmt.Fprintf(&csv, "%s,%s,77.77\n", day(c.day), c.symbol)
	}
	importStart := time.Now()
	imp, err := batch.ImportPrices(ctx, w.db.Pool, strings.NewReader(csv.String()), "prices-2025-01-02.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	importDone := time.Now()
	inFlight := w.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE status = 'running'`)
	notYet := w.queryInt(`SELECT count(*) FROM backfill.backfill_state WHERE status <> 'current'`)
	t.Logf("import: %d inserted, %d updated; %d runs running and %d portfolios not current at its end", imp.Inserted, imp.Updated, inFlight, notYet)
	if imp.Inserted != groups*perGroup+1 || imp.Updated != len(corrections) {
		t.Fatalf("import %+v", imp)
	}

	clock.afterClose(jan2)
	eventually(t, 30*time.Second, "every portfolio current through the new session", func() bool {
		return w.queryInt(`SELECT count(*) FROM backfill.backfill_state WHERE status = 'current' AND snapshot_through = $1`, jan2) == n+len(oldTwin)
	})
	stopAll(t, rs...)

	// Clean computations, after the import, in one pass.
	newTwin := map[int]uuid.UUID{}
	for g := range groups {
		newTwin[g] = w.onboard(fmt.Sprint("new-twin-", g), holdings(g)...)
	}
	ref := w.reconciler(&Config{Worker: "reference"})
	if _, err := ref.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(ids), slices.Collect(maps.Values(newTwin))...)
	all = append(all, slices.Collect(maps.Values(oldTwin))...)
	rowsThrough := snapshotRows(t, w.db.Pool, jan2, all...)

	type run struct{ started, finished time.Time }
	firstRun := map[uuid.UUID]run{}
	runs, err := w.db.Pool.Query(ctx, `SELECT DISTINCT ON (portfolio_id) portfolio_id, started_at, finished_at
		FROM backfill.batch_runs WHERE portfolio_id = ANY($1) AND days_written > 0 ORDER BY portfolio_id, from_date`, ids)
	if err != nil {
		t.Fatal(err)
	}
	var pid uuid.UUID
	var rr run
	if _, err := pgx.ForEachRow(runs, []any{&pid, &rr.started, &rr.finished}, func() error { firstRun[pid] = rr; return nil }); err != nil {
		t.Fatal(err)
	}
	var after, before, straddling, mismatches int
	for i, id := range ids {
		g := i % groups
		fr, ok := firstRun[id]
		if !ok {
			t.Fatalf("portfolio %s has no run that wrote days", id)
		}
		if affected(g) {
			switch {
			case fr.started.After(importDone):
				after++
			case fr.finished.Before(importStart):
				before++
			default:
				straddling++
			}
		}
		if d := firstDiff(rowsThrough[newTwin[g]], rowsThrough[id]); d != "" && mismatches < 3 {
			mismatches++
			t.Errorf("portfolio %d (group %d) differs from an identical portfolio computed after the import: %s", i, g, d)
		}
	}
	for g, id := range oldTwin {
		if d := firstDiff(rowsThrough[newTwin[g]], rowsThrough[id]); d != "" {
			t.Errorf("group %d: the portfolio computed before the import differs from one computed after it: %s", g, d)
		}
	}
	t.Logf("portfolios holding corrected symbols: %d backfilled after the import, %d before, %d during", after, before, straddling)
	noPanics(t, w.db.Pool, rs...)
	checkInvariants(t, w.db.Pool, cal, jan2, append(rs, pre, ref)...)
}

// 6. PostgreSQL restarts while backfills write: the interrupted backfills'
// leases expire and are reclaimed, their runs are closed by the next run
// (failed, or partial when chunks were committed), every portfolio becomes
// current and resumes after its last committed chunk (no day written
// twice).
func TestFaultPostgresRestartMidSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	own := newOwnServer(t)
	srv, pool := own.srv, own.pool
	cal := batch.NewNYSECalendar()
	last := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	days := batch.SessionsEnding(cal, last, 1000)
	symbols := []string{"SPY"}
	for i := range 20 {
		symbols = append(symbols, fmt.Sprintf("S%03d", i+1))
	}
	insertPrices(t, pool, symbols, days, 11)
	now := func() time.Time { return afterClose(last) }
	client, err := portfolio.NewClient(pool, &portfolio.Config{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for i := range 8 {
		ids = append(ids, onboardAt(t, client, fmt.Sprint("acct-", i), days[0], symbols[1+i:1+i+10]...))
	}
	engine, err := batch.NewEngine(pool, &batch.Config{Now: now, Worker: "restarted", ChunkDays: 50, LeaseTTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(pool, &Config{Engine: engine, Now: now, Worker: "restarted", Schedule: "@every 1s", LeaseTTL: 2 * time.Second,
		BackoffBase: 100 * time.Millisecond, BackoffMax: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			stopAll(t, r)
		}
	}()
	count := func(q string, args ...any) int {
		var n int
		if err := pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			return -1 // the server is restarting
		}
		return n
	}
	eventually(t, 30*time.Second, "backfills writing", func() bool {
		return count(`SELECT count(*) FROM backfill.batch_runs WHERE status = 'running' AND days_written > 0`) > 0
	})
	t0 := time.Now()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted postgres in %s", time.Since(t0))
	eventually(t, 30*time.Second, "every portfolio current after the restart", func() bool {
		return count(`SELECT count(*) FROM backfill.backfill_state WHERE status = 'current' AND snapshot_through = $1 AND lease_token IS NULL`, last) == len(ids)
	})
	stopAll(t, r)

	interrupted := count(`SELECT count(*) FROM backfill.batch_runs WHERE status IN ('failed', 'partial')`)
	abandoned := count(`SELECT count(*) FROM backfill.batch_runs WHERE error LIKE 'abandoned%'`)
	t.Logf("runs: %d interrupted (%d closed as abandoned by the next run), %d lease reclaims; results: %s",
		interrupted, abandoned, int(testutil.ToFloat64(r.metrics.leaseReclaims)), resultCounts(r))
	if interrupted == 0 {
		t.Errorf("no run was interrupted by the restart: the fault missed")
	}
	noPanics(t, pool, r)
	// Resumed, not restarted: every day was written by exactly one run.
	if n := count(`SELECT count(*) FROM (
			SELECT portfolio_id FROM backfill.batch_runs GROUP BY portfolio_id
			HAVING sum(days_written) <> (SELECT count(*) FROM backfill.portfolio_snapshots s WHERE s.portfolio_id = batch_runs.portfolio_id)) x`); n != 0 {
		t.Errorf("%d portfolios had days written more than once", n)
	}
	checkInvariants(t, pool, cal, last, r)
}

// noPanics fails the test if a backfill of rs panicked: nothing in the
// test injects one (see TestFaultConcurrentBackfillsShareBetas).
func noPanics(t *testing.T, pool *pgxpool.Pool, rs ...*Reconciler) {
	t.Helper()
	for _, r := range rs {
		if n := testutil.ToFloat64(r.metrics.backfills.WithLabelValues("panic")); n != 0 {
			t.Errorf("%s: %v backfills panicked: %s", r.cfg.Worker, n, describeRuns(t, pool, `error LIKE '%panic%'`))
		}
	}
}

func resultCounts(r *Reconciler) string {
	var parts []string
	for _, res := range backfillResults {
		if v := testutil.ToFloat64(r.metrics.backfills.WithLabelValues(res)); v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%v", res, v))
		}
	}
	return strings.Join(parts, " ")
}

// 7. TestLostLeaseWritesNothing's zombie, briefly, with the invariants: a
// worker paused past its lease wakes after a peer finished the portfolio,
// writes nothing, and leaves its run closed and no lease behind.
func TestFaultZombieInvariants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, 20, 3)
	cal := batch.NewNYSECalendar()
	src := &blockingSource{PriceSource: batch.NewDBPriceSource(w.db.Pool, portfolio.DefaultSchema),
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	engine, err := batch.NewEngine(w.db.Pool, &batch.Config{Now: w.now, Prices: src, Worker: "zombie"})
	if err != nil {
		t.Fatal(err)
	}
	zombie := w.reconciler(&Config{Engine: engine, Worker: "zombie", LeaseTTL: time.Hour, HeartbeatInterval: 50 * time.Minute})
	id := w.onboard("acct", w.symbols...)
	done := make(chan struct{})
	go func() { zombie.SweepNow(ctx); close(done) }()
	<-src.entered
	if _, err := w.db.Pool.Exec(ctx, `UPDATE backfill.backfill_state SET lease_expires_at = now() - interval '1 second' WHERE portfolio_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	peer := w.reconciler(&Config{Worker: "peer"})
	if res, err := peer.SweepNow(ctx); err != nil || res.Reclaimed != 1 || !w.current(id) {
		t.Fatalf("peer sweep = %+v, %v, current %v", res, err, w.current(id))
	}
	close(src.release)
	<-done
	if got := testutil.ToFloat64(zombie.metrics.backfills.WithLabelValues("lease_lost")); got != 1 {
		t.Errorf("zombie lease_lost = %v, want 1", got)
	}
	checkInvariants(t, w.db.Pool, cal, w.sessions[len(w.sessions)-1], zombie, peer)
}

// killingTracer, once armed, terminates the server process of the
// connection about to send a batch containing match, and waits until it is
// gone: the batch then fails as on a connection lost to the network or a
// server crash.
type killingTracer struct {
	admin *pgxpool.Pool
	match string
	armed atomic.Bool
	hits  atomic.Int32
	err   error // of the kill; read after the traced call returned
}

func (k *killingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (k *killingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData)     {}
func (k *killingTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (k *killingTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func (k *killingTracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if !k.armed.Load() {
		return ctx
	}
	for _, q := range data.Batch.QueuedQueries {
		if !strings.Contains(q.SQL, k.match) || !k.armed.CompareAndSwap(true, false) {
			continue
		}
		bg := context.Background()
		pid := conn.PgConn().PID()
		if _, err := k.admin.Exec(bg, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			k.err = err
			return ctx
		}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			var alive bool
			if err := k.admin.QueryRow(bg, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, pid).Scan(&alive); err != nil || !alive {
				break
			}
			time.Sleep(5 * time.Millisecond) // polling interval
		}
		k.hits.Add(1)
	}
	return ctx
}

// 8. The connection dies as the engine records a catch-up run whose days
// are all committed (watermark at the target, nothing requested): the run
// must not stay running, and the portfolio must not stay failing, for ever.
func TestFaultRunRecordLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, 20, 3)
	cal := batch.NewNYSECalendar()
	last := w.sessions[len(w.sessions)-1]
	var clock fakeClock
	clock.afterClose(w.sessions[len(w.sessions)-2])
	w.now = clock.now
	k := &killingTracer{admin: w.db.Pool, match: "SET status = $3, finished_at = now()"}
	cfg, err := pgxpool.ParseConfig(w.db.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = k
	traced, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer traced.Close()
	engine, err := batch.NewEngine(traced, &batch.Config{Now: clock.now, Worker: "recorder"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(traced, &Config{Engine: engine, Now: clock.now, Worker: "recorder",
		BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	id := w.onboard("acct", w.symbols...)
	if _, err := r.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	clock.afterClose(last)
	k.armed.Store(true)
	if _, err := r.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	if k.hits.Load() != 1 {
		t.Fatalf("the fault was not injected: %v", k.err)
	}
	t.Logf("after the lost run record: runs %s; results %s", describeRuns(t, w.db.Pool, "true"), resultCounts(r))
	// Correct: a later sweep closes the run and settles the portfolio.
	deadline := time.Now().Add(3 * time.Second)
	for !w.current(id) || w.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE status = 'running'`) != 0 {
		if time.Now().After(deadline) {
			var state, lastErr string
			var attempts int
			var watermark *time.Time
			w.db.Pool.QueryRow(ctx, `SELECT status, attempts, snapshot_through, coalesce(last_error, '') FROM backfill.backfill_state
				WHERE portfolio_id = $1`, id).Scan(&state, &attempts, &watermark, &lastErr)
			t.Errorf("3 s of sweeps after the lost run record: state %s (attempts %d, watermark %s, last error %q), runs left running: %s",
				state, attempts, dayp(watermark), lastErr, describeRuns(t, w.db.Pool, `status = 'running'`))
			break
		}
		if _, err := r.SweepNow(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	checkInvariants(t, w.db.Pool, cal, last, r)
}

// 9. Backfills running at once on one engine share each symbol's betas:
// the first computes them while the others wait. None of them may panic or
// hang. Each round starts eight backfills of fresh portfolios with
// overlapping symbols at the same instant on a fresh engine (a fresh beta
// cache), until a time budget is spent.
func TestFaultConcurrentBackfillsShareBetas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, 1000, 20)
	cal := batch.NewNYSECalendar()
	budget := time.Now().Add(3 * time.Second)
	rounds := 0
	for ; rounds == 0 || time.Now().Before(budget); rounds++ {
		engine, err := batch.NewEngine(w.db.Pool, &batch.Config{Now: w.now, Worker: fmt.Sprint("round-", rounds)})
		if err != nil {
			t.Fatal(err)
		}
		var ids []uuid.UUID
		for i := range 8 {
			ids = append(ids, w.onboard(fmt.Sprintf("r%d-%d", rounds, i), w.symbols[i:i+10]...))
		}
		start := make(chan struct{})
		errs := make(chan error, len(ids))
		for _, id := range ids {
			go func() {
				<-start
				_, err := engine.Backfill(ctx, id, nil)
				errs <- err
			}()
		}
		close(start)
		timeout := time.After(10 * time.Second) // a round takes ≈ 0.3 s
		for range ids {
			select {
			case err := <-errs:
				if err != nil {
					t.Errorf("round %d: %v", rounds, err)
				}
			case <-timeout:
				t.Fatalf("round %d: backfills sharing symbols hung for 10 s; stuck:\n%s", rounds, stuckStacks())
			}
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("%d rounds of 8 simultaneous backfills", rounds)
	checkInvariants(t, w.db.Pool, cal, w.sessions[len(w.sessions)-1])
}
