package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// dbWithEnv is dbEnv that also returns the database, for tests that look
// at or arrange its rows directly.
func dbWithEnv(t *testing.T) (*portfoliotest.DB, map[string]string) {
	t.Helper()
	db := portfoliotest.NewDB(t)
	return db, map[string]string{
		"DATABASE_URL":       db.ConnString,
		"BACKFILL_NOW":       "2024-01-06T12:00:00Z",
		"BACKFILL_LOG_LEVEL": "warn",
	}
}

// onboardedWithPrices returns a database with the given accounts onboarded
// from testdata/onboard/valid.csv and the prices of 2024-01-02…05, and their
// portfolio ids.
func onboardedWithPrices(t *testing.T, accounts ...string) (*portfoliotest.DB, map[string]string, []uuid.UUID) {
	t.Helper()
	db, env := dbWithEnv(t)
	ids := make([]uuid.UUID, len(accounts))
	for i, acct := range accounts {
		ids[i] = onboard(t, env, acct)
	}
	backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv").want(t, exitOK)
	return db, env, ids
}

// exec runs SQL on the test database.
func execSQL(t *testing.T, db *portfoliotest.DB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", strings.TrimSpace(sql), err)
	}
}

func queryInt(t *testing.T, db *portfoliotest.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", strings.TrimSpace(sql), err)
	}
	return n
}

func TestRunOnce(t *testing.T) {
	t.Parallel()
	db, env, ids := onboardedWithPrices(t, "IRA", "Roth", "Taxable")

	r := backfilld(t, env, "", "run", "--once")
	r.want(t, exitOK, "Sweep done in", "target:", "2024-01-05")
	for _, re := range []string{`claimed:\s+3 portfolios \(0 reclaimed`, `runs:\s+3 completed\n`, `days written:\s+12\n`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("summary lacks %s:\n%s", re, r.stdout)
		}
	}
	for _, id := range ids {
		if n := queryInt(t, db, `SELECT count(*) FROM backfill.backfill_state WHERE portfolio_id = $1 AND status = 'current'
			AND snapshot_through = '2024-01-05' AND lease_token IS NULL AND requested_at IS NULL`, id); n != 1 {
			t.Errorf("portfolio %s not current after run --once", id)
		}
	}
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.portfolio_snapshots`); n != 12 {
		t.Errorf("%d snapshots, want 3 portfolios × 4 days", n)
	}

	// Nothing left to do: the next sweep claims nothing.
	var sum onceSummary
	r = backfilld(t, env, "", "run", "--once", "--json", "--worker", "second")
	r.want(t, exitOK)
	r.decode(t, &sum)
	if sum.Claimed != 0 || sum.Reclaimed != 0 || len(sum.Runs) != 0 || sum.Worker != "second" || sum.Error != "" ||
		sum.Target.Format(time.DateOnly) != "2024-01-05" {
		t.Errorf("second run --once = %+v, want nothing claimed", sum)
	}
}

func TestRunOnceJSON(t *testing.T) {
	t.Parallel()
	_, env, _ := onboardedWithPrices(t, "IRA", "Roth")
	var sum onceSummary
	r := backfilld(t, env, "", "run", "--once", "--json", "--concurrency", "1")
	r.want(t, exitOK)
	r.decode(t, &sum)
	if sum.Claimed != 2 || sum.Runs["completed"] != 2 || sum.DaysWritten != 8 || sum.Duration <= 0 {
		t.Errorf("run --once --json = %+v, want 2 claimed, 2 completed, 8 days", sum)
	}
	if !strings.Contains(r.stdout, `"duration_ns"`) || !strings.Contains(r.stdout, `"claimed": 2`) {
		t.Errorf("JSON lacks the sweep's fields:\n%s", r.stdout)
	}
}

// Without the benchmark's prices nothing is ready: portfolios wait, and the
// sweep still succeeds.
func TestRunOnceWaitingForPrices(t *testing.T) {
	t.Parallel()
	_, env := dbWithEnv(t)
	onboard(t, env, "IRA")
	r := backfilld(t, env, "", "run", "--once")
	r.want(t, exitOK, "target:", "none: the benchmark has no close yet")
	if !regexp.MustCompile(`claimed:\s+1 portfolios`).MatchString(r.stdout) ||
		!regexp.MustCompile(`runs:\s+1 waiting_for_prices`).MatchString(r.stdout) {
		t.Errorf("summary:\n%s", r.stdout)
	}
}

func TestRunOnceFailedSweep(t *testing.T) {
	t.Parallel()
	db, env := dbWithEnv(t)
	// A sweep starts by reading the target day from market_prices.
	execSQL(t, db, `ALTER TABLE backfill.market_prices RENAME TO market_prices_gone`)
	r := backfilld(t, env, "", "run", "--once")
	r.want(t, exitFailure, "Sweep FAILED", "sweep: target day:")
}

// Without --once the reconciler runs until its context ends (SIGTERM in
// main), then stops gracefully and exits 0.
func TestRunUntilCancelled(t *testing.T) {
	t.Parallel()
	db, env, ids := onboardedWithPrices(t, "IRA", "Roth")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	env = with(env, "BACKFILL_LOG_LEVEL", "info")
	getenv := func(k string) string { return env[k] }
	go func() {
		err := run(ctx, []string{"run", "--http-addr", "", "--schedule", "@every 1h", "--worker", "in-process"},
			getenv, strings.NewReader(""), &stdout, &stderr)
		done <- exitCode(err, &stderr)
	}()
	// The sweep at start backfills both.
	eventually(t, 20*time.Second, "both portfolios current", func() bool {
		return queryInt(t, db, `SELECT count(*) FROM backfill.backfill_state WHERE status = 'current' AND lease_token IS NULL`) == len(ids)
	})
	// A portfolio onboarded now is picked up through NOTIFY: the schedule
	// would take an hour.
	late := onboard(t, env, "Late")
	eventually(t, 20*time.Second, "late portfolio current", func() bool {
		return queryInt(t, db, `SELECT count(*) FROM backfill.backfill_state WHERE portfolio_id = $1 AND status = 'current'`, late) == 1
	})
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit status %d, want 0\nstderr:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("run did not return after cancel\nstderr:\n%s", stderr.String())
	}
	logs := stderr.String()
	for _, want := range []string{`msg="backfilld running" worker=in-process schedule="@every 1h" http_addr=none`,
		`msg="shutting down"`, `msg="backfilld stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if stdout.String() != "" {
		t.Errorf("stdout: %q, want nothing", stdout.String())
	}
}

func TestRunInvalid(t *testing.T) {
	t.Parallel()
	// Invalid settings are rejected before any database is opened.
	env := map[string]string{"DATABASE_URL": "postgres://nowhere.invalid/db"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--concurrency", "0"}, `invalid --concurrency "0": want a whole number, at least 1`},
		{[]string{"--max-attempts", "x"}, `invalid --max-attempts "x"`},
		{[]string{"--lease-ttl", "500ms"}, `invalid --lease-ttl "500ms": want a duration of at least 1s`},
		{[]string{"--backfill-timeout", "10"}, `invalid --backfill-timeout "10"`},
		{[]string{"--shutdown-grace", "-1s"}, `invalid --shutdown-grace "-1s"`},
		{[]string{"--notify-interval", "0s"}, `invalid --notify-interval "0s"`},
		{[]string{"--schedule", "every minute"}, `invalid --schedule "every minute"`},
		{[]string{"--http-addr", "localhost"}, `invalid --http-addr "localhost": address localhost: missing port in address; want HOST:PORT`},
		{[]string{"--http-addr", "127.0.0.1:99999"}, `invalid --http-addr "127.0.0.1:99999": bad port "99999"; want HOST:PORT or :PORT with a port from 0 to 65535`},
		{[]string{"--http-addr", ":-1"}, `invalid --http-addr ":-1": bad port "-1"`},
		{[]string{"--http-addr", ":no-such-service"}, `invalid --http-addr ":no-such-service": bad port "no-such-service"`},
		{[]string{"--log-format", "xml"}, `invalid --log-format "xml": use text or json`},
		{[]string{"--once", "--http-addr", ":1"}, "--http-addr has no effect with --once"},
		{[]string{"--once", "--schedule", "@hourly"}, "--schedule has no effect with --once"},
		{[]string{"--json"}, "--json needs --once"},
		{[]string{"extra"}, `takes no arguments, got "extra"`},
	}
	for _, tt := range tests {
		backfilld(t, env, "", append([]string{"run"}, tt.args...)...).want(t, exitInvalid, tt.want)
	}
	// Every bad setting is reported at once.
	backfilld(t, env, "", "run", "--concurrency", "-2", "--lease-ttl", "x").
		want(t, exitInvalid, "invalid --concurrency", "invalid --lease-ttl")
}

func TestRunSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		envHTTPAddr: "127.0.0.1:9999", envSchedule: "@every 5m", envConcurrency: "8", envLeaseTTL: "30s",
		envMaxAttempts: "3", envBackfillTimeout: "1h", envShutdownGrace: "5s", envNotifyInterval: "250ms", envWorker: "w-env", envLogFormat: "JSON",
	}
	getenv := func(k string) string { return env[k] }
	resolve := func(f *runFlags, set ...string) *runConfig {
		t.Helper()
		s := map[string]bool{}
		for _, n := range set {
			s[n] = true
		}
		c, err := f.resolve(s, getenv)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	// Defaults.
	c, err := new(runFlags).resolve(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.httpAddr != ":9108" || c.schedule != "@every 1m" || c.concurrency != 4 || c.leaseTTL != 2*time.Minute ||
		c.maxAttempts != 8 || c.backfillTimeout != 30*time.Minute || c.shutdownGrace != 30*time.Second || c.notifyInterval != 50*time.Millisecond ||
		!regexp.MustCompile(`^.+:\d+$`).MatchString(c.worker) || c.logFormat != "text" || !c.listen {
		t.Errorf("defaults = %+v", c)
	}

	// The environment over the defaults.
	c = resolve(new(runFlags))
	want := runConfig{httpAddr: "127.0.0.1:9999", schedule: "@every 5m", concurrency: 8, leaseTTL: 30 * time.Second,
		maxAttempts: 3, backfillTimeout: time.Hour, shutdownGrace: 5 * time.Second, notifyInterval: 250 * time.Millisecond, worker: "w-env", listen: true, logFormat: "json"}
	if *c != want {
		t.Errorf("from the environment = %+v, want %+v", *c, want)
	}

	// Flags given over the environment; flags not given do not count.
	f := &runFlags{httpAddr: "", schedule: "*/5 * * * *", concurrency: "2", leaseTTL: "3s", maxAttempts: "1",
		backfillTimeout: "90s", shutdownGrace: "2s", notifyInterval: "10ms", worker: "w-flag", logFormat: "text", noListen: true}
	c = resolve(f, "http-addr", "schedule", "concurrency", "lease-ttl", "max-attempts", "backfill-timeout", "shutdown-grace", "notify-interval", "worker", "log-format")
	want = runConfig{httpAddr: "", schedule: "*/5 * * * *", concurrency: 2, leaseTTL: 3 * time.Second,
		maxAttempts: 1, backfillTimeout: 90 * time.Second, shutdownGrace: 2 * time.Second, notifyInterval: 10 * time.Millisecond, worker: "w-flag", listen: false, logFormat: "text"}
	if *c != want {
		t.Errorf("from flags = %+v, want %+v", *c, want)
	}
	if c := resolve(&runFlags{concurrency: "5"}); c.concurrency != 8 {
		t.Errorf("an unset flag's value won over the environment: concurrency %d", c.concurrency)
	}
	if c := resolve(&runFlags{httpAddr: "off"}, "http-addr"); c.httpAddr != "" {
		t.Errorf("--http-addr off = %q, want no HTTP server", c.httpAddr)
	}

	// A bad variable is named.
	_, err = new(runFlags).resolve(nil, func(k string) string {
		if k == envConcurrency {
			return "many"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), `invalid BACKFILL_CONCURRENCY "many"`) || !isInvalid(err) {
		t.Errorf("bad BACKFILL_CONCURRENCY: %v", err)
	}
}

func TestShortDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		30 * time.Second: "30s", 2 * time.Minute: "2m", time.Hour: "1h", 90 * time.Minute: "1h30m", 1500 * time.Millisecond: "1.5s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond) // the polling interval, not a wait for the work
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and readers in other
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
