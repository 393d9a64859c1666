package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/portfolio"
)

// dailyMinSessions is the fewest sessions of a ModeDaily world, the last
// session D included: every portfolio holds at least 260 sessions of
// snapshots through D−1 when D is imported.
const dailyMinSessions = 261

// DailyReport is what ModeDaily measured; its fields appear in Report's
// JSON beside the world's.
type DailyReport struct {
	// Day is D, the session whose closes are imported and timed.
	Day string `json:"day"`
	// Cold is true when fresh reconcilers started after D's import.
	Cold bool `json:"cold"`
	// Templates portfolios were backfilled by the reconcilers and cloned
	// into the others, in BuildSeconds and CloneSeconds; CheckedClones of
	// the clones were recomputed by the engine and matched, in
	// CheckSeconds.
	Templates     int     `json:"templates"`
	BuildSeconds  float64 `json:"build_seconds"`
	CloneSeconds  float64 `json:"clone_seconds"`
	CheckedClones int     `json:"checked_clones"`
	CheckSeconds  float64 `json:"check_seconds"`
	// SnapshotsBefore counts the snapshot rows of the world before D.
	SnapshotsBefore int64 `json:"snapshots_before"`

	// DailySeconds runs from the commit of D's import until the last
	// portfolio was current through D (database clock).
	DailySeconds        float64 `json:"daily_seconds"`
	PortfoliosPerSecond float64 `json:"portfolios_per_second"`
	// Latency is each portfolio's time from the commit of D's import until
	// its state was settled current through D.
	Latency LatencyMS `json:"portfolio_latency_ms"`

	// DBActiveSeconds is the database's active time during the advance
	// (pg_stat_database.active_time: backends executing a statement);
	// BenchCPUSeconds the CPU time (user and system) this process used
	// meanwhile, the reconcilers' share; DBTimeShare the database's share
	// of the two. RunsBusySeconds is the runs' summed wall time (batch_runs
	// started to finished; the runs of a batched advance overlap, each
	// lasting the batch). DBTimeMethod says how the share was measured.
	DBActiveSeconds float64 `json:"db_active_seconds"`
	BenchCPUSeconds float64 `json:"bench_cpu_seconds"`
	RunsBusySeconds float64 `json:"runs_busy_seconds"`
	DBTimeShare     float64 `json:"db_time_share"`
	DBTimeMethod    string  `json:"db_time_method"`

	// RowsWritten counts the tuples the advance inserted, updated or
	// deleted in the bench schema (pg_stat_user_tables); SnapshotRows the
	// snapshot rows of D the runs wrote.
	RowsWritten  int64 `json:"rows_written"`
	SnapshotRows int64 `json:"snapshot_rows_written"`

	// BenchPeakRSS is the bench process's peak resident set (getrusage);
	// ServerPeakRSS the PostgreSQL server's, sampled during the advance as
	// the summed proportional set size of the postmaster and its children
	// (/proc/PID/smaps_rollup), 0 when the server is not readable.
	BenchPeakRSS  int64 `json:"bench_peak_rss_bytes"`
	ServerPeakRSS int64 `json:"server_peak_rss_bytes"`

	// DailyToCopyRatio is DailySeconds over Report.CopySeconds, a raw COPY
	// of D's snapshot rows into an empty table of the same shape.
	DailyToCopyRatio float64 `json:"daily_to_copy_ratio"`

	// DayRuns counts the runs started after D's import by status;
	// AdvancedOnce the portfolios with exactly one completed run through D.
	DayRuns      map[string]int `json:"day_runs"`
	AdvancedOnce int            `json:"portfolios_advanced_once"`
}

// problems says what went wrong in an advance of n portfolios, if anything.
func (d *DailyReport) problems(n int) error {
	var ps []string
	if d.AdvancedOnce != n || d.DayRuns[string(portfolio.RunCompleted)] != n {
		ps = append(ps, fmt.Sprintf("%d completed runs and %d portfolios advanced exactly once, want %d",
			d.DayRuns[string(portfolio.RunCompleted)], d.AdvancedOnce, n))
	}
	for status, runs := range d.DayRuns {
		if status != string(portfolio.RunCompleted) && runs > 0 {
			ps = append(ps, fmt.Sprintf("%d %s runs", runs, status))
		}
	}
	if len(ps) > 0 {
		return fmt.Errorf("bench: %s", strings.Join(ps, "; "))
	}
	return nil
}

// runDaily runs ModeDaily in schema: it builds the world untimed (prices,
// templates backfilled by reconcilers, clones, a sample checked), then
// times the advance by D and fills rep.
func runDaily(ctx context.Context, pool *pgxpool.Pool, f *Options, schema portfolio.Schema, w *world,
	rep *Report, profile *os.File, progress func(string, ...any)) (err error) {
	n := len(w.sessions)
	day, prev := w.sessions[n-1], w.sessions[n-2]
	built := prev // the world is current through built before the timed part
	if !f.Cold {
		built = w.sessions[n-3]
	}
	d := &DailyReport{Day: day.Format(time.DateOnly), Cold: f.Cold, Templates: min(f.Templates, f.Portfolios), DayRuns: map[string]int{}}
	rep.DailyReport = d
	deadline := time.Now().Add(f.Timeout)
	// The clock moves with the world: an hour after the close of the last
	// session imported, as on a production evening once the closes landed.
	// With the clock past a close whose prices are missing, a backfill
	// would wait for them.
	w.at(built)

	t := time.Now()
	if rep.PriceRows, err = importPrices(ctx, pool, schema, w, w.sessions[0], built); err != nil {
		return err
	}
	rep.PricesSeconds = time.Since(t).Seconds()
	progress("imported %d closes of %d symbols through %s in %s",
		rep.PriceRows, len(w.proxies)+len(w.symbols), built.Format(time.DateOnly), time.Since(t).Round(time.Millisecond))

	t = time.Now()
	if err := buildTemplates(ctx, pool, f, schema, w, d.Templates, deadline, progress); err != nil {
		return err
	}
	d.BuildSeconds = time.Since(t).Seconds()
	progress("build: %d templates current through %s in %s", d.Templates, built.Format(time.DateOnly), time.Since(t).Round(time.Millisecond))

	t = time.Now()
	if err := cloneTemplates(ctx, pool, schema, d.Templates, f.Portfolios, progress); err != nil {
		return err
	}
	d.CloneSeconds = time.Since(t).Seconds()
	progress("clone: %d portfolios from %d templates in %s", f.Portfolios, d.Templates, time.Since(t).Round(time.Millisecond))

	if f.afterClone != nil {
		if err := f.afterClone(ctx, pool, schema); err != nil {
			return err
		}
	}
	t = time.Now()
	if d.CheckedClones, err = checkClones(ctx, pool, f, schema, w, built); err != nil {
		return err
	}
	d.CheckSeconds = time.Since(t).Seconds()
	progress("check: %d clones recomputed by the engine, every row equal, in %s", d.CheckedClones, time.Since(t).Round(time.Millisecond))
	if _, err := pool.Exec(ctx, schema.SQL(`DROP TABLE {schema}.bench_clones`)); err != nil {
		return fmt.Errorf("clone: %w", err)
	}

	var replicas []*replica
	defer func() { err = errors.Join(err, stopReplicas(ctx, replicas)) }()
	start := func() error {
		var err error
		replicas, err = startReplicas(ctx, f, pool, schema, w, "replica")
		if err == nil {
			rep.ReplicaPoolMaxConns = replicas[0].pool.Config().MaxConns
		}
		return err
	}
	if !f.Cold {
		if err := start(); err != nil {
			return err
		}
		w.at(prev)
		if _, _, err := importDay(ctx, pool, schema, w, prev); err != nil {
			return err
		}
		progress("warm-up: %d reconciler(s) advancing %d portfolios to %s", f.Replicas, f.Portfolios, prev.Format(time.DateOnly))
		if err := waitThrough(ctx, pool, schema, prev, f.Portfolios, deadline, progress, nil); err != nil {
			return err
		}
	}

	if err := pool.QueryRow(ctx, schema.SQL(`SELECT count(*) FROM {schema}.portfolio_snapshots`)).Scan(&d.SnapshotsBefore); err != nil {
		return fmt.Errorf("count snapshots: %w", err)
	}
	// The world's setup (the clone, the vacuum, the warm-up) left dirty
	// pages that would otherwise be written during the timed advance; a
	// production database has had a day of checkpoints between evenings.
	if _, err := pool.Exec(ctx, `CHECKPOINT`); err != nil {
		return fmt.Errorf("checkpoint before the timed day: %w", err)
	}
	server := newServerRSS(ctx, pool)
	cpu0 := cpuSeconds()
	before, err := readDBStats(ctx, pool, schema)
	if err != nil {
		return err
	}
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile() // on error paths; a no-op after the stop below
	}
	w.at(day)
	began, committed, err := importDay(ctx, pool, schema, w, day)
	if err != nil {
		return err
	}
	if f.Cold {
		if err := start(); err != nil {
			return err
		}
	}
	progress("advance: %s imported; %d reconciler(s), concurrency %d each, %s", d.Day, f.Replicas, f.Concurrency,
		map[bool]string{true: "cold", false: "warm"}[f.Cold])
	if err := waitThrough(ctx, pool, schema, day, f.Portfolios, deadline, progress, server.sample); err != nil {
		return err
	}
	if profile != nil {
		pprof.StopCPUProfile()
		progress("CPU profile written to %s", f.CPUProfile)
	}
	stopped := replicas
	err = stopReplicas(ctx, replicas)
	replicas = nil
	if err != nil {
		return err
	}
	for _, r := range stopped {
		rep.SweepsPerReplica[r.name] = r.sweeps()
	}
	if err := waitBackendsGone(ctx, pool); err != nil {
		return err
	}
	after, err := readDBStats(ctx, pool, schema)
	if err != nil {
		return err
	}
	d.DBActiveSeconds = (after.activeMS - before.activeMS) / 1000
	d.BenchCPUSeconds = cpuSeconds() - cpu0
	d.RowsWritten = after.tuples - before.tuples
	d.DBTimeMethod = "pg_stat_database.active_time delta over the advance / (that + the bench process's CPU time, getrusage)"
	d.BenchPeakRSS = peakRSS()
	d.ServerPeakRSS = server.peak

	if err := measureDaily(ctx, pool, schema, began, committed, day, d); err != nil {
		return err
	}
	if d.DailySeconds > 0 {
		d.PortfoliosPerSecond = float64(f.Portfolios) / d.DailySeconds
	}
	if busy := d.DBActiveSeconds + d.BenchCPUSeconds; busy > 0 {
		d.DBTimeShare = d.DBActiveSeconds / busy
	}
	progress("every portfolio current through %s after %.2fs; COPY baseline of %d snapshot rows", d.Day, d.DailySeconds, f.Portfolios)
	copyTime, err := copyDayBaseline(ctx, pool, schema, day, int64(f.Portfolios))
	if err != nil {
		return err
	}
	rep.CopySeconds = copyTime.Seconds()
	if rep.CopySeconds > 0 {
		rep.CopyRowsPerSecond = float64(f.Portfolios) / rep.CopySeconds
		d.DailyToCopyRatio = d.DailySeconds / rep.CopySeconds
	}
	return nil
}

// buildTemplates onboards the world's first n portfolios and backfills them
// with f.Replicas reconcilers of their own, stopped when every one is
// current.
func buildTemplates(ctx context.Context, pool *pgxpool.Pool, f *Options, schema portfolio.Schema, w *world,
	n int, deadline time.Time, progress func(string, ...any)) (err error) {
	progress("build: onboarding %d templates of %d positions", n, f.Positions)
	onb, err := startOnboarding(ctx, f, pool, schema, w, n)
	if err != nil {
		return err
	}
	defer onb.halt()
	if err := watch(ctx, deadline, progress, func() (bool, string, error) {
		return onb.done(), onboardedLine(onb, n), onb.err()
	}); err != nil {
		return err
	}
	builders, err := startReplicas(ctx, f, pool, schema, w, "build")
	defer func() { err = errors.Join(err, stopReplicas(ctx, builders)) }()
	if err != nil {
		return err
	}
	return waitCurrent(ctx, pool, schema, nil, n, deadline, progress)
}

// importDay imports the world's closes of one session with the price
// import and wakes the reconcilers on the bench's channel. It returns the
// database clock read right before the import began and right after it
// committed: no run can compute day before the first, and the second is
// the earliest time known to follow the commit.
func importDay(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, w *world, day time.Time) (began, committed time.Time, err error) {
	clock := func() (time.Time, error) {
		var t time.Time
		if err := pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t); err != nil {
			return t, fmt.Errorf("read the database clock: %w", err)
		}
		return t, nil
	}
	if began, err = clock(); err != nil {
		return began, committed, err
	}
	if _, err := importPrices(ctx, pool, schema, w, day, day); err != nil {
		return began, committed, err
	}
	if committed, err = clock(); err != nil {
		return began, committed, err
	}
	// The price import notifies nobody; a deployment's schedule (or an
	// operator) wakes the reconcilers after the closes land.
	if _, err := pool.Exec(ctx, `SELECT pg_notify($1, '')`, schema.Name()); err != nil {
		return began, committed, fmt.Errorf("notify: %w", err)
	}
	return began, committed, nil
}

// waitThrough waits until n portfolios are current through day and not
// leased, calling sample, when not nil, at every poll.
func waitThrough(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, day time.Time, n int,
	deadline time.Time, progress func(string, ...any), sample func()) error {
	return watch(ctx, deadline, progress, func() (bool, string, error) {
		if sample != nil {
			sample()
		}
		var current, failing int
		if err := pool.QueryRow(ctx, schema.SQL(`
			SELECT count(*) FILTER (WHERE status = 'current' AND lease_token IS NULL AND snapshot_through >= $1),
			       count(*) FILTER (WHERE status IN ('failing', 'quarantined'))
			FROM {schema}.backfill_state`), day).Scan(&current, &failing); err != nil {
			return false, "", fmt.Errorf("poll backfill state: %w", err)
		}
		line := fmt.Sprintf("current through %s %d/%d", day.Format(time.DateOnly), current, n)
		if failing > 0 {
			line += fmt.Sprintf(", failing or quarantined %d", failing)
		}
		return current == n, line, nil
	})
}

// dbStats are cumulative counters of the database and the bench schema.
type dbStats struct {
	activeMS float64 // pg_stat_database.active_time
	tuples   int64   // inserted + updated + deleted tuples of the schema's tables
}

func readDBStats(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema) (dbStats, error) {
	var s dbStats
	// A fresh snapshot of the statistics, not one cached by this backend.
	if _, err := pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
		return s, fmt.Errorf("read statistics: %w", err)
	}
	err := pool.QueryRow(ctx, `
		SELECT (SELECT coalesce(active_time, 0) FROM pg_stat_database WHERE datname = current_database()),
		       (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_user_tables WHERE schemaname = $1)`,
		schema.Name()).Scan(&s.activeMS, &s.tuples)
	if err != nil {
		return s, fmt.Errorf("read statistics: %w", err)
	}
	return s, nil
}

// waitBackendsGone waits until the database has no client backends but the
// bench pool's: a backend reports its statistics when it exits.
func waitBackendsGone(ctx context.Context, pool *pgxpool.Pool) error {
	deadline := time.Now().Add(cleanupTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var others int
		if err := pool.QueryRow(ctx, `
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> ALL($1)`,
			poolPIDs(ctx, pool)).Scan(&others); err != nil {
			return fmt.Errorf("wait for the reconcilers' backends: %w", err)
		}
		if others == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for the reconcilers' backends: %d still connected", others)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// poolPIDs returns the backend pids of pool's idle connections.
func poolPIDs(ctx context.Context, pool *pgxpool.Pool) []uint32 {
	var pids []uint32
	for _, c := range pool.AcquireAllIdle(ctx) {
		pids = append(pids, c.Conn().PgConn().PID())
		c.Release()
	}
	return pids
}

// measureDaily reads the advance's latencies, runs and rows into d: its
// runs started after began, and its times count from committed.
func measureDaily(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, began, committed, day time.Time, d *DailyReport) error {
	rows, err := pool.Query(ctx, schema.SQL(`
		SELECT extract(epoch FROM updated_at - $1)::float8 FROM {schema}.backfill_state WHERE snapshot_through >= $2`), committed, day)
	if err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	secs, err := pgx.CollectRows(rows, pgx.RowTo[float64])
	if err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	lat := make([]time.Duration, len(secs))
	for i, s := range secs {
		lat[i] = time.Duration(s * float64(time.Second))
	}
	d.Latency = percentiles(lat)
	d.DailySeconds = d.Latency.Max / 1000

	rows, err = pool.Query(ctx, schema.SQL(`
		SELECT status, count(*), coalesce(sum(days_written), 0),
		       coalesce(extract(epoch FROM sum(finished_at - started_at)), 0)::float8
		FROM {schema}.batch_runs WHERE coalesce(started_at, requested_at) >= $1
		GROUP BY status`), began)
	if err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	var status string
	var runs int
	var days int64
	var busy float64
	if _, err := pgx.ForEachRow(rows, []any{&status, &runs, &days, &busy}, func() error {
		d.DayRuns[status] += runs
		d.SnapshotRows += days
		d.RunsBusySeconds += busy
		return nil
	}); err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	err = pool.QueryRow(ctx, schema.SQL(`
		SELECT count(*) FROM (
		    SELECT portfolio_id FROM {schema}.batch_runs
		    WHERE status = 'completed' AND through_date = $2 AND coalesce(started_at, requested_at) >= $1
		    GROUP BY portfolio_id HAVING count(*) = 1) once`), began, day).Scan(&d.AdvancedOnce)
	if err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	return nil
}

// copyDayBaseline COPYs the snapshot rows of day out to memory and into an
// empty table of the same shape (columns, keys, indexes), returning the
// time of the COPY FROM; want is the number of rows expected.
func copyDayBaseline(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, day time.Time, want int64) (time.Duration, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	var buf bytes.Buffer
	sel := schema.SQL(`SELECT * FROM {schema}.portfolio_snapshots WHERE snapshot_date = '` + day.Format(time.DateOnly) + `'`)
	if _, err := conn.Conn().PgConn().CopyTo(ctx, &buf, `COPY (`+sel+`) TO STDOUT`); err != nil {
		return 0, fmt.Errorf("COPY baseline out: %w", err)
	}
	if _, err := conn.Exec(ctx, schema.SQL(`CREATE TABLE {schema}.bench_copy (LIKE {schema}.portfolio_snapshots INCLUDING ALL)`)); err != nil {
		return 0, fmt.Errorf("COPY baseline: %w", err)
	}
	t := time.Now()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, &buf, schema.SQL(`COPY {schema}.bench_copy FROM STDIN`))
	elapsed := time.Since(t)
	if err != nil {
		return 0, fmt.Errorf("COPY baseline in: %w", err)
	}
	if tag.RowsAffected() != want {
		return 0, fmt.Errorf("COPY baseline in: %d rows, want %d", tag.RowsAffected(), want)
	}
	if _, err := conn.Exec(ctx, schema.SQL(`DROP TABLE {schema}.bench_copy`)); err != nil {
		return 0, fmt.Errorf("COPY baseline: %w", err)
	}
	return elapsed, nil
}

// printDaily writes a ModeDaily report as a table.
func printDaily(w io.Writer, r *Report) {
	d := r.DailyReport
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	kept := "dropped"
	if r.SchemaKept {
		kept = "kept"
	}
	start := "warm (the same reconcilers advanced the day before)"
	if d.Cold {
		start = "cold (fresh reconcilers started after the import)"
	}
	fmt.Fprintf(tw, "Nightly advance to %s on %s (PostgreSQL %s, fsync %s), schema %s (%s)\n", d.Day, r.Database, r.ServerVersion, r.Fsync, r.Schema, kept)
	fmt.Fprintf(tw, "  world:\t%d portfolios × %d positions, %d sessions through the day before (%d snapshot rows), %d symbols + proxies, seed %d, analytics %s\n",
		r.Portfolios, r.Positions, r.Sessions-1, d.SnapshotsBefore, r.Symbols, r.Seed, onOff(r.Analytics))
	fmt.Fprintf(tw, "  setup:\t%d templates built in %.1fs, cloned in %.1fs; %d clones recomputed by the engine and equal, in %.1fs\n",
		d.Templates, d.BuildSeconds, d.CloneSeconds, d.CheckedClones, d.CheckSeconds)
	fmt.Fprintf(tw, "  reconcilers:\t%d × concurrency %d (pools of %d connections), %s\n", r.Replicas, r.Concurrency, r.ReplicaPoolMaxConns, start)
	fmt.Fprintf(tw, "  advance:\t%.2fs from the import's commit until all current, %.0f portfolios/s\n", d.DailySeconds, d.PortfoliosPerSecond)
	fmt.Fprintf(tw, "  latency:\tp50 %.1fms, p99 %.1fms, max %.1fms (import commit → portfolio current)\n", d.Latency.P50, d.Latency.P99, d.Latency.Max)
	fmt.Fprintf(tw, "  database:\t%.1fs active, reconcilers %.1fs of CPU (database share %.2f); runs' summed time %.1fs\n",
		d.DBActiveSeconds, d.BenchCPUSeconds, d.DBTimeShare, d.RunsBusySeconds)
	fmt.Fprintf(tw, "  rows:\t%d written (tuples inserted, updated, deleted), %d snapshot rows\n", d.RowsWritten, d.SnapshotRows)
	fmt.Fprintf(tw, "  peak memory:\tbench %s, server %s\n", bytesText(d.BenchPeakRSS), bytesText(d.ServerPeakRSS))
	fmt.Fprintf(tw, "  raw COPY:\t%d rows in %.3fs; daily / COPY %.1f\n", r.Portfolios, r.CopySeconds, d.DailyToCopyRatio)
	fmt.Fprintf(tw, "  runs:\t%s; %d of %d portfolios advanced exactly once\n", runsText(d.DayRuns), d.AdvancedOnce, r.Portfolios)
	tw.Flush()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// runsText lists runs by status: "10 completed, 1 failed".
func runsText(m map[string]int) string {
	statuses := make([]string, 0, len(m))
	for s := range m {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	for i, s := range statuses {
		statuses[i] = fmt.Sprintf("%d %s", m[s], s)
	}
	if len(statuses) == 0 {
		return "none"
	}
	return strings.Join(statuses, ", ")
}
