package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sourcegraph/conc"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
)

// replica is one in-process reconciler with its own pool.
type replica struct {
	name string
	pool *pgxpool.Pool
	reg  *prometheus.Registry
	r    *daemon.Reconciler
}

// sweeps returns how many sweeps the replica ran, from its metrics.
func (r *replica) sweeps() int {
	families, err := r.reg.Gather()
	if err != nil {
		return 0
	}
	n := 0.0
	for _, mf := range families {
		if mf.GetName() == "backfill_sweeps_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return int(n)
}

// Run builds the world in a fresh schema of pool's database, runs the
// benchmark f describes and returns its report. When the run completed but
// some portfolio was not backfilled exactly once or a run failed, it
// returns the report and an error saying so.
func Run(ctx context.Context, pool *pgxpool.Pool, f *Options) (rep *Report, err error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Mode == ModeDaily && f.Sessions < dailyMinSessions {
		g := *f
		g.Sessions = dailyMinSessions
		f = &g
	}
	var profile *os.File
	if f.CPUProfile != "" {
		if profile, err = os.Create(f.CPUProfile); err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		defer func() {
			if cerr := profile.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("--cpuprofile: %w", cerr))
			}
		}()
	}
	rep = &Report{
		Portfolios: f.Portfolios, Positions: f.Positions, Sessions: f.Sessions, Symbols: f.Symbols,
		Replicas: f.Replicas, Concurrency: f.Concurrency, Onboarders: f.Onboarders, Seed: f.Seed,
		Analytics: f.Analytics, Mode: f.Mode, Database: f.Database, SchemaKept: f.Keep,
		BackfillsPerReplica: map[string]int{}, SweepsPerReplica: map[string]int{}, RunsOther: map[string]int{},
	}
	if err := pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync')`).
		Scan(&rep.ServerVersion, &rep.Fsync); err != nil {
		return nil, fmt.Errorf("read server settings: %w", err)
	}
	schema, err := portfolio.ParseSchema(fmt.Sprintf("bench_%d_%d", f.Seed, os.Getpid()))
	if err != nil {
		return nil, err
	}
	rep.Schema = schema.Name()
	progress := func(format string, args ...any) {
		if f.Progress != nil {
			fmt.Fprintf(f.Progress, "bench: "+format+"\n", args...)
		}
	}
	progress("%s (PostgreSQL %s, fsync %s); schema %s", rep.Database, rep.ServerVersion, rep.Fsync, schema.Name())

	// The schema must not exist yet: a fresh one is what makes the run
	// safe next to real data and repeatable.
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)`, schema.Name()).Scan(&exists); err != nil {
		return nil, fmt.Errorf("look for schema %s: %w", schema.Name(), err)
	}
	if exists {
		return nil, fmt.Errorf("schema %s exists already: drop it, or use another --seed", schema.Name())
	}
	if err := portfolio.Migrate(ctx, pool, &portfolio.MigrateOpts{Schema: schema}); err != nil {
		return nil, fmt.Errorf("create schema %s: %w", schema.Name(), err)
	}
	defer func() {
		if f.Keep {
			progress("kept schema %s", schema.Name())
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if _, derr := pool.Exec(cctx, `DROP SCHEMA `+schema.Quoted()+` CASCADE`); derr != nil {
			err = errors.Join(err, fmt.Errorf("drop schema %s: %w", schema.Name(), derr))
			return
		}
		progress("dropped schema %s", schema.Name())
	}()

	w := newWorld(f)
	rep.HistorySessions = len(w.sessions) - f.Sessions
	if f.Mode == ModePlans {
		if err := runPlans(ctx, pool, f, schema, rep, progress); err != nil {
			return nil, err
		}
		return rep, rep.PlansReport.problems()
	}
	if f.Mode == ModeDaily {
		if err := runDaily(ctx, pool, f, schema, w, rep, profile, progress); err != nil {
			return nil, err
		}
		return rep, rep.DailyReport.problems(f.Portfolios)
	}
	t0 := time.Now()
	if rep.PriceRows, err = importPrices(ctx, pool, schema, w, w.sessions[0], w.sessions[len(w.sessions)-1]); err != nil {
		return nil, err
	}
	rep.PricesSeconds = time.Since(t0).Seconds()
	progress("imported %d closes of %d symbols over %d sessions in %s",
		rep.PriceRows, len(w.proxies)+len(w.symbols), len(w.sessions), time.Since(t0).Round(time.Millisecond))

	// One deadline for onboarding and backfilling, from the first
	// onboarding.
	deadline := time.Now().Add(f.Timeout)
	var onb *onboarding
	defer func() {
		if onb != nil {
			onb.halt()
		}
	}()
	// The reconcilers' clock starts at the first onboarding (live) or when
	// they start (backlog), read from the database like the timestamps.
	var since time.Time
	if f.Mode == ModeBacklog {
		progress("onboarding %d portfolios of %d positions, reconcilers stopped", f.Portfolios, f.Positions)
		if onb, err = startOnboarding(ctx, f, pool, schema, w, f.Portfolios); err != nil {
			return nil, err
		}
		if err := watch(ctx, deadline, progress, func() (bool, string, error) {
			return onb.done(), onboardedLine(onb, f.Portfolios), onb.err()
		}); err != nil {
			return nil, err
		}
		if err := pool.QueryRow(ctx, `SELECT now()`).Scan(&since); err != nil {
			return nil, fmt.Errorf("read the database clock: %w", err)
		}
	}

	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile() // on error paths; a no-op after the stop below
	}
	replicas, err := startReplicas(ctx, f, pool, schema, w, "replica")
	// Stop them on every path; on success they are stopped, and their
	// pools closed, before the COPY baseline.
	stopAll := func() error {
		err := stopReplicas(ctx, replicas)
		replicas = nil
		return err
	}
	defer func() { err = errors.Join(err, stopAll()) }()
	if err != nil {
		return nil, err
	}
	rep.ReplicaPoolMaxConns = replicas[0].pool.Config().MaxConns
	if f.Mode == ModeLive {
		progress("%d reconciler(s) running, concurrency %d each; onboarding %d portfolios of %d positions",
			f.Replicas, f.Concurrency, f.Portfolios, f.Positions)
		if onb, err = startOnboarding(ctx, f, pool, schema, w, f.Portfolios); err != nil {
			return nil, err
		}
		if err := waitCurrent(ctx, pool, schema, onb, f.Portfolios, deadline, progress); err != nil {
			return nil, err
		}
	} else {
		progress("%d reconciler(s) started, concurrency %d each, on a backlog of %d portfolios",
			f.Replicas, f.Concurrency, f.Portfolios)
		if err := waitCurrent(ctx, pool, schema, nil, f.Portfolios, deadline, progress); err != nil {
			return nil, err
		}
	}
	if profile != nil {
		pprof.StopCPUProfile()
		progress("CPU profile written to %s", f.CPUProfile)
	}
	onb.halt()
	rep.OnboardingLatency = percentiles(onb.latencies)
	rep.OnboardingSeconds = onb.wall.Seconds()
	stopped := replicas
	if err := stopAll(); err != nil {
		return nil, err
	}
	for _, r := range stopped {
		rep.SweepsPerReplica[r.name] = r.sweeps()
	}

	if err := measure(ctx, pool, schema, since, rep); err != nil {
		return nil, err
	}
	progress("every portfolio current after %.1fs; COPY baseline of %d snapshot rows", rep.TimeToCurrent, rep.SnapshotRows)
	copyTime, err := batch.SnapshotCopyBaseline(ctx, pool, schema, rep.SnapshotRows)
	if err != nil {
		return nil, err
	}
	rep.CopySeconds = copyTime.Seconds()
	if rep.CopySeconds > 0 {
		rep.CopyRowsPerSecond = float64(rep.SnapshotRows) / rep.CopySeconds
		rep.EngineToCopyRatio = rep.BusySeconds / rep.CopySeconds
	}

	var problems []string
	if rep.RunsCompleted != f.Portfolios || rep.BackfilledOnce != f.Portfolios {
		problems = append(problems, fmt.Sprintf("%d completed runs and %d portfolios backfilled exactly once, want %d",
			rep.RunsCompleted, rep.BackfilledOnce, f.Portfolios))
	}
	if rep.RunsFailed > 0 {
		problems = append(problems, fmt.Sprintf("%d failed runs", rep.RunsFailed))
	}
	if len(problems) > 0 {
		return rep, fmt.Errorf("bench: %s", strings.Join(problems, "; "))
	}
	return rep, nil
}

// stopReplicas stops the replicas and closes their pools, within
// cleanupTimeout also after ctx was cancelled.
func stopReplicas(ctx context.Context, replicas []*replica) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var errs []error
	for _, r := range replicas {
		if r.r != nil {
			if err := r.r.Stop(cctx); err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", r.name, err))
			}
		}
		r.pool.Close()
	}
	return errors.Join(errs...)
}

// startReplicas starts f.Replicas reconcilers named prefix-1…, each on a
// pool of its own configured like the command's (as a `backfilld run` process would be),
// and returns them; on error it returns those it made, for stopping.
func startReplicas(ctx context.Context, f *Options, pool *pgxpool.Pool, schema portfolio.Schema, w *world, prefix string) ([]*replica, error) {
	logger := f.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := w.now
	var replicas []*replica
	for i := range f.Replicas {
		name := fmt.Sprintf("%s-%d", prefix, i+1)
		rpool, err := pgxpool.NewWithConfig(ctx, pool.Config())
		if err != nil {
			return replicas, fmt.Errorf("open pool of %s: %w", name, err)
		}
		rep := &replica{name: name, pool: rpool, reg: prometheus.NewRegistry()}
		replicas = append(replicas, rep)
		engine, err := batch.NewEngine(rpool, &batch.Config{
			Schema: schema, Worker: name, Now: now, Logger: logger,
			Analytics: batch.AnalyticsConfig{Disabled: !f.Analytics},
		})
		if err != nil {
			return replicas, err
		}
		r, err := daemon.New(rpool, &daemon.Config{
			Schema: schema, Worker: name, Concurrency: f.Concurrency, Engine: engine,
			Registerer: rep.reg, Gatherer: rep.reg, Logger: logger, Now: now, Schedule: Schedule,
			// A channel of its own: reconcilers of real schemas on the same
			// database are not woken by the bench, nor the bench by them.
			NotifyChannel: schema.Name(), Version: f.Version,
		})
		if err != nil {
			return replicas, err
		}
		if err := r.Start(context.WithoutCancel(ctx)); err != nil {
			return replicas, err
		}
		rep.r = r
	}
	return replicas, nil
}

// onboarding is the world's onboarding by f.Onboarders clients, each
// one call at a time, running in the background.
type onboarding struct {
	latencies []time.Duration
	onboarded atomic.Int64
	wall      time.Duration // set before finished is closed
	finished  chan struct{}
	ctx       context.Context
	stop      context.CancelCauseFunc
	clients   conc.WaitGroup
}

// startOnboarding starts onboarding the world's first n portfolios through
// the onboarding API; the caller must call halt.
func startOnboarding(ctx context.Context, f *Options, pool *pgxpool.Pool, schema portfolio.Schema, w *world, n int) (*onboarding, error) {
	client, err := portfolio.NewClient(pool, &portfolio.Config{
		Schema: schema, NotifyChannel: schema.Name(), Now: w.now,
	})
	if err != nil {
		return nil, err
	}
	o := &onboarding{latencies: make([]time.Duration, n), finished: make(chan struct{})}
	o.ctx, o.stop = context.WithCancelCause(ctx)
	var next atomic.Int64
	start := time.Now()
	o.clients.Go(func() {
		defer close(o.finished)
		var clients conc.WaitGroup
		for range f.Onboarders {
			clients.Go(func() {
				for o.ctx.Err() == nil {
					i := int(next.Add(1) - 1)
					if i >= n {
						return
					}
					req := &portfolio.OnboardRequest{
						OwnerID: "bench", PortfolioName: fmt.Sprintf("Bench %d", i+1), AccountName: fmt.Sprintf("bench-%06d", i+1),
						AccountType: "taxable", StartingEquity: "1000000", CSV: strings.NewReader(w.positionsCSV(i, f.Positions)),
					}
					t := time.Now()
					_, err := client.Onboard(o.ctx, req)
					o.latencies[i] = time.Since(t)
					if err != nil {
						o.stop(fmt.Errorf("onboard portfolio %d: %w", i+1, err))
						return
					}
					o.onboarded.Add(1)
				}
			})
		}
		clients.Wait()
		o.wall = time.Since(start)
	})
	return o, nil
}

// err returns why the onboarding stopped early, if it did.
func (o *onboarding) err() error {
	if o.ctx.Err() == nil {
		return nil
	}
	return context.Cause(o.ctx)
}

// done reports whether every client has returned.
func (o *onboarding) done() bool {
	select {
	case <-o.finished:
		return true
	default:
		return false
	}
}

// halt stops the onboarding, if it still runs, and waits for its clients.
func (o *onboarding) halt() {
	o.stop(context.Canceled)
	o.clients.Wait()
}

// watch polls check every pollInterval until it reports done, an
// error, or the deadline passes, printing its progress line every
// progressInterval and when done.
func watch(ctx context.Context, deadline time.Time, progress func(string, ...any),
	check func() (done bool, line string, err error)) error {
	start := time.Now()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	lastProgress := start
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		done, line, err := check()
		if err != nil {
			return err
		}
		if done || time.Since(lastProgress) >= progressInterval {
			lastProgress = time.Now()
			progress("%5.1fs %s", time.Since(start).Seconds(), line)
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out: %s", line)
		}
	}
}

// onboardedLine is the progress of an onboarding.
func onboardedLine(o *onboarding, n int) string {
	return fmt.Sprintf("onboarded %d/%d", o.onboarded.Load(), n)
}

// waitCurrent waits until n portfolios are current, with o, when not nil,
// still onboarding.
func waitCurrent(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema,
	o *onboarding, n int, deadline time.Time, progress func(string, ...any)) error {
	client, err := portfolio.NewClient(pool, &portfolio.Config{Schema: schema})
	if err != nil {
		return err
	}
	return watch(ctx, deadline, progress, func() (bool, string, error) {
		var line string
		if o != nil {
			if err := o.err(); err != nil && ctx.Err() == nil {
				return false, "", err
			}
			line = onboardedLine(o, n) + ", "
		}
		current, failing, err := client.StateTotals(ctx)
		if err != nil {
			return false, "", fmt.Errorf("poll backfill state: %w", err)
		}
		line += fmt.Sprintf("current %d/%d", current, n)
		if failing > 0 {
			line += fmt.Sprintf(", failing or quarantined %d", failing)
		}
		return current == n && (o == nil || o.done()), line, nil
	})
}

// measure reads the runs, times, rows and sizes of the finished
// backfills into rep.
//
// The reconcilers' clock starts at since, or at the first onboarding when
// since is zero.
func measure(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, since time.Time, rep *Report) error {
	client, err := portfolio.NewClient(pool, &portfolio.Config{Schema: schema})
	if err != nil {
		return err
	}
	tot, err := client.Totals(ctx)
	if err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	firstOnboarding, lastOnboarding, firstRun, lastCurrent := tot.FirstOnboarding, tot.LastOnboarding, tot.FirstRunStarted, tot.LastStateChange
	rep.SnapshotRows, rep.BackfilledOnce = tot.SnapshotRows, tot.BackfilledOnce
	if since.IsZero() && firstOnboarding != nil {
		since = *firstOnboarding
	}
	if !since.IsZero() && lastCurrent != nil {
		rep.TimeToCurrent = lastCurrent.Sub(since).Seconds()
	}
	if firstRun != nil && lastCurrent != nil {
		rep.BusySeconds = lastCurrent.Sub(*firstRun).Seconds()
	}
	if rep.Mode == ModeLive && lastOnboarding != nil && lastCurrent != nil {
		rep.CatchUpSeconds = lastCurrent.Sub(*lastOnboarding).Seconds()
	}

	for _, rc := range tot.Runs {
		rep.PortfolioDays += rc.DaysWritten
		switch rc.Status {
		case portfolio.RunCompleted:
			rep.RunsCompleted += rc.Runs
			rep.BackfillsPerReplica[rc.Worker] += rc.Runs
		case portfolio.RunFailed:
			rep.RunsFailed += rc.Runs
		default:
			rep.RunsOther[string(rc.Status)] += rc.Runs
		}
	}
	if rep.TimeToCurrent > 0 {
		rep.PortfolioDaysPerSecond = float64(rep.PortfolioDays) / rep.TimeToCurrent
		rep.RowsPerSecond = float64(rep.SnapshotRows) / rep.TimeToCurrent
	}

	rep.DatabaseBytes, rep.SchemaBytes, rep.SnapshotTableBytes = tot.DatabaseBytes, tot.SchemaBytes, tot.SnapshotTableBytes
	return nil
}
