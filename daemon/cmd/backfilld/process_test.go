package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// TestProcess runs the built binary the way replicas run in production:
// killed, terminated, scraped. The binary is built once for the subtests.
func TestProcess(t *testing.T) {
	t.Parallel()
	bin := buildBackfilld(t)
	t.Run("KillMidBackfill", func(t *testing.T) {
		t.Parallel()
		testKillMidBackfill(t, bin)
	})
	t.Run("TerminateDuringBackfills", func(t *testing.T) {
		t.Parallel()
		testTerminateDuringBackfills(t, bin)
	})
	t.Run("HTTP", func(t *testing.T) {
		t.Parallel()
		testHTTP(t, bin)
	})
}

// A replica killed with SIGKILL in the middle of a backfill, after one
// chunk committed and while the next is being written, leaves its lease
// and its run behind. Once the lease expires another replica takes the
// portfolio over, closes the dead run, continues from the watermark, and
// ends with exactly the snapshots of a clean run.
//
// The kill lands mid-backfill by construction: a trigger makes the
// victim's rows of the second chunk wait for an advisory lock the test
// holds, and the test kills the process once that wait shows in pg_locks.
func testKillMidBackfill(t *testing.T, bin string) {
	const sessions, lockKey = 2*batch.DefaultChunkDays + 88, 7_001
	db, env, w := newProcessWorld(t, sessions, 20)

	// The reference: an identical portfolio backfilled in one clean run.
	clean := w.onboard(t, env, "Clean")
	backfilld(t, env, "", "run", "--once", "--worker", "clean").want(t, exitOK, "1 completed")
	victim := w.onboard(t, env, "Victim")

	secondChunk := w.sessions[batch.DefaultChunkDays]
	execSQL(t, db, `CREATE FUNCTION backfill.test_wait_for_lock() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_advisory_xact_lock_shared(`+strconv.Itoa(lockKey)+`); RETURN NEW; END $$`)
	execSQL(t, db, fmt.Sprintf(`CREATE TRIGGER test_hold_second_chunk BEFORE INSERT ON backfill.portfolio_snapshots
		FOR EACH ROW WHEN (NEW.portfolio_id = '%s' AND NEW.snapshot_date >= '%s')
		EXECUTE FUNCTION backfill.test_wait_for_lock()`, victim, secondChunk.Format(time.DateOnly)))
	unlock := holdAdvisoryLock(t, db, lockKey)

	first := startProcess(t, bin, with(env, "DATABASE_URL", withAppName(t, db.ConnString, "backfilld-victim")),
		"run", "--lease-ttl", "3s", "--worker", "victim", "--http-addr", "off", "--schedule", "@every 1h")
	first.eventually(t, 20*time.Second, "the victim's second chunk to wait for the lock", func() bool {
		return lockWaiters(t, db, lockKey) == 1
	})
	first.kill(t)

	// Killed mid-backfill: the first chunk committed, the lease and the run
	// left as they were.
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1`, victim); n != batch.DefaultChunkDays {
		t.Fatalf("%d snapshots when killed, want the first chunk's %d", n, batch.DefaultChunkDays)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.backfill_state WHERE portfolio_id = $1 AND status = 'running'
		AND lease_owner = 'victim' AND snapshot_through = $2`, victim, w.sessions[batch.DefaultChunkDays-1]); n != 1 {
		t.Fatalf("the killed worker's lease and watermark are not as it left them")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.batch_runs WHERE portfolio_id = $1 AND status = 'running'
		AND worker = 'victim' AND days_written = $2`, victim, batch.DefaultChunkDays); n != 1 {
		t.Fatalf("the killed worker's run is not left running with its first chunk")
	}

	// Let the dead client's session go (it aborts its transaction when it
	// finds the client gone), and with it the trigger.
	unlock()
	eventually(t, 20*time.Second, "the killed process's sessions to end", func() bool {
		return queryInt(t, db, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'backfilld-victim'`) == 0
	})
	execSQL(t, db, `DROP TRIGGER test_hold_second_chunk ON backfill.portfolio_snapshots`)
	eventually(t, 20*time.Second, "the killed worker's lease to expire", func() bool {
		return queryInt(t, db, `SELECT count(*) FROM backfill.backfill_state WHERE portfolio_id = $1 AND lease_expires_at < now()`, victim) == 1
	})

	second := startProcess(t, bin, env, "run", "--once", "--lease-ttl", "3s", "--worker", "survivor")
	second.wait(t, 30*time.Second).want(t, exitOK)
	rest := sessions - batch.DefaultChunkDays
	for _, re := range []string{`claimed:\s+1 portfolios \(1 reclaimed from expired leases\)`, `runs:\s+1 completed\n`,
		`days written:\s+` + strconv.Itoa(rest) + `\n`} {
		if !regexp.MustCompile(re).MatchString(second.stdout.String()) {
			t.Errorf("survivor's summary lacks %s:\n%s", re, second.stdout.String())
		}
	}

	if n := queryInt(t, db, `SELECT count(*) FROM backfill.backfill_state WHERE portfolio_id = $1 AND status = 'current'
		AND snapshot_through = $2 AND lease_token IS NULL AND attempts = 0`, victim, w.sessions[sessions-1]); n != 1 {
		t.Errorf("victim not current after the takeover")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.batch_runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs left running", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.batch_runs WHERE portfolio_id = $1 AND worker = 'victim'
		AND status = 'partial' AND error LIKE 'abandoned%' AND days_written = $2`, victim, batch.DefaultChunkDays); n != 1 {
		t.Errorf("the killed worker's run was not closed as abandoned and partial (it wrote a chunk)")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.batch_runs WHERE portfolio_id = $1 AND worker = 'survivor'
		AND status = 'completed' AND from_date = $2 AND days_written = $3`, victim, secondChunk, rest); n != 1 {
		t.Errorf("no completed run of the survivor continuing from %s", secondChunk.Format(time.DateOnly))
	}
	compareSnapshots(t, db, clean, victim, sessions)
}

// compareSnapshots fails unless portfolios a and b have the same n
// snapshots, apart from the portfolio, the run and the time of writing.
func compareSnapshots(t *testing.T, db *portfoliotest.DB, a, b uuid.UUID, n int) {
	t.Helper()
	const rows = `SELECT snapshot_date, to_jsonb(s) - 'portfolio_id' - 'batch_run_id' - 'computed_at' AS j
		FROM backfill.portfolio_snapshots s WHERE portfolio_id = `
	for _, id := range []uuid.UUID{a, b} {
		if got := queryInt(t, db, `SELECT count(*) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1`, id); got != n {
			t.Errorf("portfolio %s has %d snapshots, want %d", id, got, n)
		}
	}
	diff := queryInt(t, db, `SELECT count(*) FROM (
		(`+rows+`$1 EXCEPT ALL `+rows+`$2) UNION ALL (`+rows+`$2 EXCEPT ALL `+rows+`$1)) d`, a, b)
	if diff == 0 {
		return
	}
	t.Errorf("%d snapshot rows differ between the clean and the interrupted backfill", diff)
	out, err := db.Pool.Query(context.Background(), `
		SELECT x.snapshot_date, k, x.j -> k, y.j -> k
		FROM (`+rows+`$1) x JOIN (`+rows+`$2) y USING (snapshot_date), jsonb_object_keys(x.j) k
		WHERE x.j -> k IS DISTINCT FROM y.j -> k ORDER BY 1, 2 LIMIT 10`, a, b)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for out.Next() {
		var d time.Time
		var k, x, y string
		if err := out.Scan(&d, &k, &x, &y); err != nil {
			t.Fatal(err)
		}
		t.Errorf("  %s %s: clean %s, interrupted %s", d.Format(time.DateOnly), k, x, y)
	}
}

// SIGTERM while backfills are in flight: the process stops claiming, gives
// them the grace period, cancels them, records their runs, releases their
// leases and exits 0. The backfills cannot finish in time: a trigger makes
// every snapshot row wait for an advisory lock the test holds.
func testTerminateDuringBackfills(t *testing.T, bin string) {
	const grace, concurrency, lockKey = 2 * time.Second, 4, 7_002
	db, env, w := newProcessWorld(t, 300, 10)
	ids := make([]uuid.UUID, concurrency+2)
	for i := range ids {
		ids[i] = w.onboard(t, env, fmt.Sprint("P", i))
	}
	execSQL(t, db, `CREATE FUNCTION backfill.test_wait_for_lock() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_advisory_xact_lock_shared(`+strconv.Itoa(lockKey)+`); RETURN NEW; END $$`)
	execSQL(t, db, `CREATE TRIGGER test_hold_writes BEFORE INSERT ON backfill.portfolio_snapshots
		FOR EACH ROW EXECUTE FUNCTION backfill.test_wait_for_lock()`)
	unlock := holdAdvisoryLock(t, db, lockKey)
	defer unlock()

	p := startProcess(t, bin, with(env, "BACKFILL_LOG_LEVEL", "info"), "run", "--shutdown-grace", grace.String(),
		"--concurrency", strconv.Itoa(concurrency), "--worker", "terminated", "--http-addr", "off", "--schedule", "@every 1h")
	p.eventually(t, 20*time.Second, "backfills in flight", func() bool {
		return lockWaiters(t, db, lockKey) == concurrency &&
			queryInt(t, db, `SELECT count(*) FROM backfill.batch_runs WHERE status = 'running'`) == concurrency
	})
	signalled := time.Now()
	p.signal(t, syscall.SIGTERM)
	res := p.wait(t, grace+15*time.Second)
	took := time.Since(signalled)
	res.want(t, exitOK, "shutting down", "grace period over: cancelling in-flight backfills", "backfilld stopped")
	if took < grace || took > grace+5*time.Second {
		t.Errorf("exited %s after SIGTERM, want the grace period %s and at most a few seconds more", took.Round(time.Millisecond), grace)
	}
	t.Logf("exited %s after SIGTERM with %d backfills in flight and a grace period of %s", took.Round(time.Millisecond), concurrency, grace)

	if n := queryInt(t, db, `SELECT count(*) FROM backfill.batch_runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs left running", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.backfill_state WHERE lease_token IS NOT NULL OR lease_owner IS NOT NULL`); n != 0 {
		t.Errorf("%d leases left", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.batch_runs WHERE worker = 'terminated' AND status = 'failed' AND days_written = 0`); n != concurrency {
		t.Errorf("%d cancelled runs recorded failed, want %d", n, concurrency)
	}
	// A shutdown is not the portfolios' failure: all are due again at once
	// for the other replicas.
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.backfill_state WHERE status = 'pending' AND attempts = 0
		AND next_attempt_at <= now()`); n != len(ids) {
		t.Errorf("%d of %d portfolios pending and due after the shutdown\n%s", n, len(ids), p.stderr.String())
	}
}

// The HTTP server serves the health, readiness and metrics endpoints and
// the ops page; the settings come from the environment.
func testHTTP(t *testing.T, bin string) {
	_, env, w := newProcessWorld(t, 30, 3)
	w.onboard(t, env, "IRA")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	p := startProcess(t, bin, with(env, "BACKFILL_HTTP_ADDR", addr, "BACKFILL_SCHEDULE", "@every 1h", "BACKFILL_WORKER", "scraped",
		"BACKFILL_LOG_FORMAT", "json", "BACKFILL_LOG_LEVEL", "info"), "run")
	base := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	p.eventually(t, 20*time.Second, "/healthz", func() bool {
		code, _ := get("/healthz")
		return code == http.StatusOK
	})
	if code, body := get("/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	// The sweep at start has run once the portfolio is current.
	var metrics string
	p.eventually(t, 20*time.Second, "a sweep and a completed backfill in /metrics", func() bool {
		_, metrics = get("/metrics")
		return strings.Contains(metrics, `backfill_sweeps_total{result="ok"}`) &&
			strings.Contains(metrics, `backfill_backfills_total{result="completed"} 1`)
	})
	for _, want := range []string{"backfill_sweeps_total", "backfill_lease_reclaims_total 0", "backfill_build_info{",
		`backfill_portfolios{state="current"} `, "process_start_time_seconds"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The ops page at /, read-only without an admin token.
	if code, page := get("/"); code != http.StatusOK || !strings.Contains(page, `id="count-current">1<`) ||
		!strings.Contains(page, `id="lag-histogram"`) || strings.Contains(page, "Sign in") {
		t.Errorf("/: %d\n%.2000s", code, page)
	}
	code, body := get("/status")
	var st struct {
		ByState map[string]int `json:"by_state"`
	}
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
		t.Errorf("/status: %d %v\n%s", code, err, body)
	}

	p.signal(t, syscall.SIGTERM)
	p.wait(t, 15*time.Second).want(t, exitOK)
	// The logs are JSON lines; the first one says where it serves.
	var running struct {
		Msg, Worker, Schedule string
		HTTPAddr              string `json:"http_addr"`
	}
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		if err := json.Unmarshal([]byte(line), &running); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if running.Msg == "backfilld running" {
			break
		}
	}
	if running.Msg != "backfilld running" || running.Worker != "scraped" || running.Schedule != "@every 1h" || running.HTTPAddr != addr {
		t.Errorf("running log = %+v, want worker scraped, schedule @every 1h, http_addr %s\n%s", running, addr, p.stderr.String())
	}
}

// processWorld is a database with prices for symbols S001… and SPY over
// the sessions ending on 2024-12-31, and a clock the morning after.
type processWorld struct {
	sessions []time.Time
	symbols  []string
}

func newProcessWorld(t *testing.T, nSessions, nSymbols int) (*portfoliotest.DB, map[string]string, *processWorld) {
	t.Helper()
	db := portfoliotest.NewDB(t)
	cal := batch.NewNYSECalendar()
	last := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	w := &processWorld{sessions: batch.SessionsEnding(cal, last, nSessions)}
	rng := rand.New(rand.NewPCG(1, 2))
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
		for _, d := range w.sessions {
			p *= math.Exp(0.015 * rng.NormFloat64())
			syms, dates, closes = append(syms, s), append(dates, d), append(closes, math.Round(p*100)/100)
		}
	}
	execSQL(t, db, `INSERT INTO backfill.market_prices (symbol, price_date, close)
		SELECT * FROM unnest($1::text[], $2::date[], $3::float8[])`, syms, dates, closes)
	t.Cleanup(func() { dumpOnFailure(t, db) }) // runs before the database is dropped
	env := map[string]string{
		"DATABASE_URL":       db.ConnString,
		"BACKFILL_NOW":       last.Add(30 * time.Hour).Format(time.RFC3339),
		"BACKFILL_LOG_LEVEL": "warn",
	}
	return db, env, w
}

// dumpOnFailure logs the reconciler's tables and the database's sessions
// when the test failed, to tell what the processes were doing.
func dumpOnFailure(t *testing.T, db *portfoliotest.DB) {
	if !t.Failed() {
		return
	}
	for _, q := range []string{
		`SELECT portfolio_id, status, snapshot_through, attempts, last_error, lease_owner, lease_expires_at, now() FROM backfill.backfill_state`,
		`SELECT portfolio_id, id, status, worker, days_written, error FROM backfill.batch_runs ORDER BY requested_at`,
		`SELECT pid, application_name, state, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity
		 WHERE datname = current_database() AND pid <> pg_backend_pid()`,
		`SELECT l.pid, l.locktype, l.mode, l.granted, l.classid, l.objid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		 WHERE d.datname = current_database() AND l.locktype = 'advisory'`,
	} {
		rows, err := db.Pool.Query(context.Background(), q)
		if err != nil {
			t.Logf("%s: %v", q, err)
			continue
		}
		var b strings.Builder
		for rows.Next() {
			vals, _ := rows.Values()
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
		t.Logf("%s\n%s", q, b.String())
	}
}

// onboard creates a portfolio of account holding every symbol since the
// first session, the same positions for every account.
func (w *processWorld) onboard(t *testing.T, env map[string]string, account string) uuid.UUID {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("Symbol,Quantity,Entry Price Per Share,Entry Date\n")
	for i, s := range w.symbols {
		fmt.Fprintf(&csv, "%s,%d,%d.25,%s\n", s, 10+i, 20+i, w.sessions[0].Format(time.DateOnly))
	}
	var res portfolio.OnboardResult
	r := backfilld(t, env, csv.String(), onboardArgs(account, "--json", "-")...)
	r.want(t, exitOK)
	r.decode(t, &res)
	return res.PortfolioID
}

// holdAdvisoryLock takes the advisory lock key on a connection of its own
// and returns the function releasing it (idempotent; also run at cleanup).
func holdAdvisoryLock(t *testing.T, db *portfoliotest.DB, key int) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		conn.Release()
		t.Fatal(err)
	}
	released := false
	unlock = func() {
		if released {
			return
		}
		released = true
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			t.Errorf("unlock: %v", err)
		}
		conn.Release()
	}
	t.Cleanup(unlock)
	return unlock
}

// lockWaiters counts the sessions of the test's database waiting for the
// advisory lock key.
func lockWaiters(t *testing.T, db *portfoliotest.DB, key int) int {
	return queryInt(t, db, `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		WHERE d.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted
		  AND l.classid = 0 AND l.objid = $1`, key)
}

// withAppName returns the connection string with application_name set, so
// that the test can find the sessions of one process.
func withAppName(t *testing.T, connString, name string) string {
	t.Helper()
	if !strings.HasPrefix(connString, "postgres://") && !strings.HasPrefix(connString, "postgresql://") {
		return connString + " application_name=" + name
	}
	u, err := url.Parse(connString)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// buildBackfilld builds the binary into the test's temporary directory.
func buildBackfilld(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "backfilld")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running backfilld.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	exited         chan struct{}
	code           int
}

// startProcess starts the binary with exactly env (and PATH) as its
// environment; it is killed at cleanup if still running.
func startProcess(t *testing.T, bin string, env map[string]string, args ...string) *process {
	t.Helper()
	return startProcessStdin(t, bin, env, nil, args...)
}

// startProcessStdin is startProcess with stdin as the standard input (nil:
// the null device).
func startProcessStdin(t *testing.T, bin string, env map[string]string, stdin io.Reader, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.cmd.Stdin = stdin
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			p.code = ee.ExitCode()
		case err != nil:
			p.code = -1
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *process) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s: %v", sig, err)
	}
}

// kill kills the process with SIGKILL and waits for it to be gone.
func (p *process) kill(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
	<-p.exited
}

// eventually polls cond until it holds, failing the test with the
// process's output when it exits first or timeout passes.
func (p *process) eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.exited:
			t.Fatalf("backfilld exited (status %d) while waiting for %s\nstdout:\n%s\nstderr:\n%s", p.code, what, p.stdout.String(), p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s\nstderr:\n%s", timeout, what, p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // the polling interval, not a wait for the work
	}
}

// wait waits for the process to exit and returns what it printed and its
// exit status (-1 when killed by a signal).
func (p *process) wait(t *testing.T, timeout time.Duration) result {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("backfilld %s still running after %s\nstderr:\n%s", strings.Join(p.cmd.Args[1:], " "), timeout, p.stderr.String())
	}
	return result{p.stdout.String(), p.stderr.String(), p.code}
}
