package daemon

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func TestMain(m *testing.M) { portfoliotest.Main(m) }

// world is a database with prices for a universe of symbols over the
// sessions ending lastDay, a clock after that day's close, and a client.
type world struct {
	t        *testing.T
	db       *portfoliotest.DB
	client   *portfolio.Client
	now      func() time.Time
	sessions []time.Time
	symbols  []string
}

const lastDay = "2024-12-31"

func newWorld(t *testing.T, nSessions, nSymbols int) *world {
	t.Helper()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	cal := batch.NewNYSECalendar()
	last, _ := time.Parse(time.DateOnly, lastDay)
	sessions := batch.SessionsEnding(cal, last, nSessions)
	w := &world{t: t, db: db, sessions: sessions, now: func() time.Time { return last.Add(30 * time.Hour) }}
	rng := rand.New(rand.NewPCG(7, 8))
	var syms []string
	var dates []time.Time
	var closes []float64
	for i := range nSymbols + 1 {
		s := "SPY"
		if i > 0 {
			s = fmt.Sprintf("S%03d", i)
			w.symbols = append(w.symbols, s)
		}
		p := 20 + 100*rng.Float64()
		for _, d := range sessions {
			p *= math.Exp(0.01 * rng.NormFloat64())
			syms, dates, closes = append(syms, s), append(dates, d), append(closes, math.Round(p*100)/100)
		}
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO backfill.market_prices (symbol, price_date, close)
		SELECT * FROM unnest($1::text[], $2::date[], $3::float8[])`, syms, dates, closes); err != nil {
		t.Fatal(err)
	}
	var err error
	w.client, err = portfolio.NewClient(db.Pool, &portfolio.Config{Now: w.now})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// onboard creates a portfolio holding the given symbols since the first
// session.
func (w *world) onboard(account string, symbols ...string) uuid.UUID {
	w.t.Helper()
	var sb strings.Builder
	sb.WriteString("Symbol,Quantity,Entry Price Per Share,Entry Date\n")
	for i, s := range symbols {
		fmt.Fprintf(&sb, "%s,%d,%d.50,%s\n", s, 10+i, 20+i, w.sessions[0].Format(time.DateOnly))
	}
	res, err := w.client.Onboard(context.Background(), &portfolio.OnboardRequest{
		OwnerID: "owner", PortfolioName: "p", AccountName: account, AccountType: "taxable",
		StartingEquity: "100000", CSV: strings.NewReader(sb.String()),
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return res.PortfolioID
}

func (w *world) reconciler(cfg *Config) *Reconciler {
	w.t.Helper()
	var c Config
	if cfg != nil {
		c = *cfg
	}
	c.Now = w.now
	if c.Engine == nil {
		e, err := batch.NewEngine(w.db.Pool, &batch.Config{Now: w.now, Worker: c.Worker, LeaseTTL: c.LeaseTTL})
		if err != nil {
			w.t.Fatal(err)
		}
		c.Engine = e
	}
	r, err := New(w.db.Pool, &c)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) queryInt(q string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.Pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for the work itself
	}
}

func (w *world) current(id uuid.UUID) bool {
	return w.queryInt(`SELECT count(*) FROM backfill.backfill_state WHERE portfolio_id = $1 AND status = 'current'
		AND snapshot_through = $2 AND lease_token IS NULL`, id, w.sessions[len(w.sessions)-1]) == 1
}

// With a reconciler running, an onboarded portfolio gets its analytics
// without anyone asking.
func TestOnboardToAnalytics(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 254, 13)
	r := w.reconciler(&Config{Schedule: "@every 1h"}) // only NOTIFY can wake it in time
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx)
	eventually(t, 10*time.Second, "listener", func() bool { return testutil.ToFloat64(r.metrics.listenerConnected) == 1 })

	start := time.Now()
	id := w.onboard("acct", w.symbols...)
	eventually(t, 10*time.Second, "portfolio current", func() bool { return w.current(id) })
	elapsed := time.Since(start)
	t.Logf("onboard commit → 254 days of a 13-position portfolio current: %s", elapsed)
	if n := w.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1`, id); n != 254 {
		t.Errorf("%d snapshots, want 254", n)
	}
	if st := w.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE portfolio_id = $1 AND status = 'completed' AND trigger = 'onboarding'`, id); st != 1 {
		t.Errorf("%d completed onboarding runs, want 1", st)
	}
}

// A burst of notifications shares sweeps: the first sweeps at once, the
// rest within NotifyInterval of it wait and are served by one more sweep.
func TestNotificationBurstSharesSweeps(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 30, 5)
	const interval = 300 * time.Millisecond
	r := w.reconciler(&Config{Schedule: "@every 1h", NotifyInterval: interval})
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx)
	sweeps := func() float64 { return testutil.ToFloat64(r.metrics.sweeps.WithLabelValues("ok")) }
	eventually(t, 10*time.Second, "listener and first sweeps", func() bool {
		return testutil.ToFloat64(r.metrics.listenerConnected) == 1 && sweeps() >= 2
	})
	time.Sleep(interval) // a quiet spell: the next notification sweeps at once
	before := sweeps()

	const n = 20
	start := time.Now()
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = w.onboard(fmt.Sprintf("burst-%02d", i), w.symbols...)
	}
	burst := time.Since(start)
	eventually(t, 10*time.Second, "every portfolio current", func() bool {
		return w.queryInt(`SELECT count(*) FROM backfill.backfill_state WHERE status = 'current' AND lease_token IS NULL`) == n
	})
	got := sweeps() - before
	// One sweep at once, then at most one per interval while the burst
	// lasts, and one after it.
	most := 2 + math.Ceil(float64(burst)/float64(interval))
	t.Logf("%d notifications in %s: %.0f sweeps (at most %.0f)", n, burst, got, most)
	if got < 1 || got > most || got >= n {
		t.Errorf("%d notifications in %s started %.0f sweeps, want 1 to %.0f", n, burst, got, most)
	}
	if c := w.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE status = 'completed'`); c != n {
		t.Errorf("%d completed runs, want %d", c, n)
	}
}

// Three reconcilers share 500 portfolios: each is backfilled exactly once.
func TestReplicasBackfillEachPortfolioOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 30, 40)
	ids := make([]uuid.UUID, 500)
	for i := range ids {
		k := i % 30
		ids[i] = w.onboard(fmt.Sprint("acct-", i), w.symbols[k:k+5]...)
	}
	ctx := context.Background()
	var rs []*Reconciler
	for i := range 3 {
		r := w.reconciler(&Config{Worker: fmt.Sprint("replica-", i), Schedule: "@every 1h"})
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	eventually(t, 60*time.Second, "all current", func() bool {
		return w.queryInt(`SELECT count(*) FROM backfill.backfill_state WHERE status = 'current' AND lease_token IS NULL`) == len(ids)
	})
	for _, r := range rs {
		r.Stop(ctx)
	}
	if n := w.queryInt(`SELECT count(*) FROM backfill.batch_runs`); n != len(ids) {
		t.Errorf("%d runs for %d portfolios, want exactly one each", n, len(ids))
	}
	if n := w.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE status <> 'completed'`); n != 0 {
		t.Errorf("%d runs not completed", n)
	}
	if n := w.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots`); n != len(ids)*30 {
		t.Errorf("%d snapshots, want %d", n, len(ids)*30)
	}
	var total float64
	for i, r := range rs {
		done := testutil.ToFloat64(r.metrics.backfills.WithLabelValues("completed"))
		t.Logf("replica %d completed %v backfills", i, done)
		total += done
	}
	if int(total) != len(ids) {
		t.Errorf("replicas report %v completed backfills, want %d", total, len(ids))
	}
}

// failingSource fails for portfolios holding symbol BAD and serves the
// rest from the database.
type failingSource struct{ batch.PriceSource }

func (s failingSource) Closes(ctx context.Context, symbols []string, from, to time.Time) (map[string][]batch.Close, error) {
	for _, sym := range symbols {
		if sym == "BAD" {
			return nil, errors.New("price feed refused BAD")
		}
	}
	return s.PriceSource.Closes(ctx, symbols, from, to)
}

// A portfolio that always fails backs off, is quarantined at MaxAttempts,
// never delays the others, and comes back with Retry.
func TestFailingPortfolioQuarantinedAndRetried(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 20, 5)
	src := failingSource{batch.NewDBPriceSource(w.db.Pool, portfolio.DefaultSchema)}
	engine, err := batch.NewEngine(w.db.Pool, &batch.Config{Now: w.now, Prices: src})
	if err != nil {
		t.Fatal(err)
	}
	r := w.reconciler(&Config{Engine: engine, MaxAttempts: 3, BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	good := w.onboard("good", w.symbols...)
	bad := w.onboard("bad", "BAD", w.symbols[0])
	ctx := context.Background()

	if _, err := r.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	if !w.current(good) {
		t.Fatal("the healthy portfolio is not current after the first sweep")
	}
	state := func() (string, int) {
		var s string
		var n int
		w.db.Pool.QueryRow(ctx, `SELECT status, attempts FROM backfill.backfill_state WHERE portfolio_id = $1`, bad).Scan(&s, &n)
		return s, n
	}
	if s, n := state(); s != "failing" || n != 1 {
		t.Fatalf("after one failure: %s, %d attempts", s, n)
	}
	var due time.Time
	w.db.Pool.QueryRow(ctx, `SELECT next_attempt_at FROM backfill.backfill_state WHERE portfolio_id = $1`, bad).Scan(&due)
	// Backing off: an immediate sweep does not retry it.
	if res, _ := r.SweepNow(ctx); res.Claimed != 0 && time.Now().Before(due) {
		t.Errorf("retried before its backoff expired")
	}
	eventually(t, 10*time.Second, "quarantine", func() bool {
		r.SweepNow(ctx)
		s, _ := state()
		return s == "quarantined"
	})
	if s, n := state(); s != "quarantined" || n != 3 {
		t.Errorf("state %s attempts %d, want quarantined after 3", s, n)
	}
	if res, _ := r.SweepNow(ctx); res.Claimed != 0 {
		t.Errorf("quarantined portfolio claimed")
	}
	if got := testutil.ToFloat64(r.metrics.portfolios.WithLabelValues("quarantined")); got != 1 {
		t.Errorf("quarantined gauge = %v", got)
	}
	if got := testutil.ToFloat64(r.metrics.backfills.WithLabelValues("failed")); got != 3 {
		t.Errorf("failed backfills = %v, want 3", got)
	}
	st, err := r.Status(ctx, time.Time{}, 10)
	if err != nil || len(st.Attention) == 0 || st.Attention[0].PortfolioID != bad || !strings.Contains(st.Attention[0].Reason, "quarantined after 3") {
		t.Errorf("status attention = %+v, %v", st.Attention, err)
	}

	// Fixed: the feed serves BAD again (the engine drops it as unpriced).
	r2 := w.reconciler(nil)
	if err := Retry(ctx, w.db.Pool, portfolio.DefaultSchema, bad); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	if s, n := state(); s != "current" || n != 0 {
		t.Errorf("after retry: %s, %d attempts", s, n)
	}
	if got := testutil.ToFloat64(r2.metrics.portfolios.WithLabelValues("quarantined")); got != 0 {
		t.Errorf("quarantined gauge after retry = %v", got)
	}
	if err := Retry(ctx, w.db.Pool, portfolio.DefaultSchema, uuid.New()); !errors.Is(err, portfolio.ErrNotFound) {
		t.Errorf("retry unknown: %v", err)
	}
}

// The reconciler's Retry and RetryQuarantined notify on its own channel.
func TestRetryNotifiesTheReconcilersChannel(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 5, 1)
	const channel = "custom_requests"
	r := w.reconciler(&Config{NotifyChannel: channel})
	id := w.onboard("acct", w.symbols...)
	ctx := context.Background()
	if _, err := w.db.Pool.Exec(ctx, `UPDATE backfill.backfill_state SET status = 'quarantined', attempts = 8`); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, w.db.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		t.Fatal(err)
	}
	next := func() string {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := conn.WaitForNotification(wctx)
		if err != nil {
			t.Fatalf("no notification on %s: %v", channel, err)
		}
		return n.Payload
	}

	if err := r.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != id.String() {
		t.Errorf("Retry notified %q, want the portfolio's id", got)
	}
	if n := w.queryInt(`SELECT count(*) FROM backfill.backfill_state WHERE status = 'pending' AND attempts = 0`); n != 1 {
		t.Errorf("%d portfolios pending with 0 attempts after Retry, want 1", n)
	}
	if _, err := w.db.Pool.Exec(ctx, `UPDATE backfill.backfill_state SET status = 'quarantined', attempts = 8`); err != nil {
		t.Fatal(err)
	}
	if n, err := r.RetryQuarantined(ctx); err != nil || n != 1 {
		t.Fatalf("RetryQuarantined = %d, %v; want 1", n, err)
	}
	if got := next(); got != "" {
		t.Errorf("RetryQuarantined notified %q, want an empty payload", got)
	}
	if err := r.Retry(ctx, uuid.New()); !errors.Is(err, portfolio.ErrNotFound) {
		t.Errorf("retry unknown: %v", err)
	}
}

// blockingSource blocks Closes until released.
type blockingSource struct {
	batch.PriceSource
	entered chan struct{}
	release chan struct{}
}

func (s *blockingSource) Closes(ctx context.Context, symbols []string, from, to time.Time) (map[string][]batch.Close, error) {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.PriceSource.Closes(ctx, symbols, from, to)
}

// A worker whose lease was taken over writes nothing and counts lease_lost.
func TestLostLeaseWritesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 20, 3)
	src := &blockingSource{PriceSource: batch.NewDBPriceSource(w.db.Pool, portfolio.DefaultSchema),
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	engine, err := batch.NewEngine(w.db.Pool, &batch.Config{Now: w.now, Prices: src})
	if err != nil {
		t.Fatal(err)
	}
	zombie := w.reconciler(&Config{Engine: engine, Worker: "zombie", LeaseTTL: time.Hour, HeartbeatInterval: 50 * time.Minute})
	id := w.onboard("acct", w.symbols...)
	ctx := context.Background()
	done := make(chan struct{})
	go func() { zombie.SweepNow(ctx); close(done) }()
	<-src.entered // the zombie is mid-backfill, paused

	// Its lease expires and a peer takes the portfolio over and finishes.
	if _, err := w.db.Pool.Exec(ctx, `UPDATE backfill.backfill_state SET lease_expires_at = now() - interval '1 second' WHERE portfolio_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	peer := w.reconciler(&Config{Worker: "peer"})
	res, err := peer.SweepNow(ctx)
	if err != nil || res.Claimed != 1 || res.Reclaimed != 1 {
		t.Fatalf("peer sweep = %+v, %v", res, err)
	}
	if !w.current(id) {
		t.Fatal("peer did not finish the portfolio")
	}
	want := w.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1`, id)
	close(src.release) // the zombie wakes up
	<-done
	if got := testutil.ToFloat64(zombie.metrics.backfills.WithLabelValues("lease_lost")); got != 1 {
		t.Errorf("zombie lease_lost = %v, want 1", got)
	}
	if got := w.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1`, id); got != want || !w.current(id) {
		t.Errorf("after the zombie woke: %d rows (want %d), current=%v", got, want, w.current(id))
	}
	if got := testutil.ToFloat64(peer.metrics.leaseReclaims); got != 1 {
		t.Errorf("lease reclaims = %v", got)
	}
	if n := w.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs left running", n)
	}
}

// Stop lets in-flight work finish up to its deadline, then cancels it:
// runs are recorded, leases released, and a peer takes over at once.
func TestStopReleasesLeases(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 20, 3)
	src := &blockingSource{PriceSource: batch.NewDBPriceSource(w.db.Pool, portfolio.DefaultSchema),
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	engine, err := batch.NewEngine(w.db.Pool, &batch.Config{Now: w.now, Prices: src})
	if err != nil {
		t.Fatal(err)
	}
	r := w.reconciler(&Config{Engine: engine, Schedule: "@every 1h"})
	id := w.onboard("acct", w.symbols...)
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-src.entered
	stopCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := r.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Stop took %s", d)
	}
	select {
	case <-r.Stopped():
	default:
		t.Error("Stopped not closed")
	}
	if n := w.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE status IN ('running')`); n != 0 {
		t.Errorf("%d runs left running", n)
	}
	if n := w.queryInt(`SELECT count(*) FROM backfill.backfill_state WHERE lease_token IS NOT NULL`); n != 0 {
		t.Errorf("%d leases held after stop", n)
	}
	if n := w.queryInt(`SELECT attempts FROM backfill.backfill_state WHERE portfolio_id = $1`, id); n != 0 {
		t.Errorf("a shutdown counted as %d failed attempts", n)
	}
	peer := w.reconciler(nil)
	if _, err := peer.SweepNow(ctx); err != nil || !w.current(id) {
		t.Errorf("peer could not take over at once: %v", err)
	}
}

func TestMetricsNamesAndHelp(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	_, err := newMetrics(reg, "test", func() float64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range families {
		got[f.GetName()] = f.GetHelp()
	}
	want := []string{
		"backfill_sweeps_total", "backfill_sweep_duration_seconds", "backfill_last_successful_sweep_timestamp_seconds",
		"backfill_backfills_total", "backfill_backfill_duration_seconds", "backfill_days_written_total",
		"backfill_backfills_in_flight", "backfill_longest_running_backfill_seconds", "backfill_lease_reclaims_total",
		"backfill_price_changes_applied_total", "backfill_price_rewinds_total", "backfill_portfolios", "backfill_portfolios_behind", "backfill_max_lag_trading_days",
		"backfill_oldest_missing_snapshot_timestamp_seconds", "backfill_target_trading_day_timestamp_seconds",
		"backfill_listener_connected", "backfill_build_info",
	}
	for _, name := range want {
		if help, ok := got[name]; !ok || len(help) < 10 {
			t.Errorf("metric %s missing or without help (%q)", name, help)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d metrics registered, want %d", len(got), len(want))
	}
	// Every label value exists from the start.
	if n := testutil.CollectAndCount(reg, "backfill_backfills_total"); n != len(backfillResults) {
		t.Errorf("backfills_total has %d series, want %d", n, len(backfillResults))
	}
	if n := testutil.CollectAndCount(reg, "backfill_portfolios"); n != len(portfolioStates) {
		t.Errorf("portfolios has %d series", n)
	}
	if n := testutil.CollectAndCount(reg, "backfill_portfolios_behind"); n != len(lagBuckets) {
		t.Errorf("portfolios_behind has %d series", n)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{
		{Schedule: "every minute"}, {Concurrency: -1}, {LeaseTTL: time.Millisecond},
		{LeaseTTL: time.Minute, HeartbeatInterval: 2 * time.Minute}, {BackoffBase: time.Hour, BackoffMax: time.Minute},
		{Schema: "Bad-Schema"}, {NotifyInterval: -time.Second},
	} {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	for _, s := range []string{"* * * * *", "@every 30s", "CRON_TZ=America/New_York 45 16 * * 1-5", "@hourly"} {
		if _, err := (&Config{Schedule: s}).withDefaults(); err != nil {
			t.Errorf("schedule %q rejected: %v", s, err)
		}
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
