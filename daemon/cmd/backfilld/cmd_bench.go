package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
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

// Defaults of `backfilld bench`.
const (
	defaultBenchPortfolios = 1000
	defaultBenchPositions  = 30
	defaultBenchSessions   = 252
	defaultBenchSymbols    = 500
	defaultBenchTimeout    = time.Hour
	// benchHistory is the fewest sessions of prices before the portfolios'
	// first day, so that the analytics windows are full from that day on.
	benchHistory = 200
	// benchLastSession is the world's last session; the clock stands an
	// hour after its close.
	benchLastSession = "2024-12-31"
	// benchSchedule is the reconcilers' schedule besides notifications.
	benchSchedule = "@every 1s"
	// benchPollInterval is how often backfill_state is polled for current
	// portfolios; the figures come from the database's timestamps, not
	// from the polls.
	benchPollInterval = 250 * time.Millisecond
	// benchProgressInterval is how often a progress line goes to stderr.
	benchProgressInterval = 2 * time.Second
	// benchPriceChunkRows bounds the rows of one ImportPrices call.
	benchPriceChunkRows = 200_000
	// benchCleanupTimeout bounds stopping the reconcilers and dropping
	// the schema, also after an interrupt.
	benchCleanupTimeout = time.Minute
)

// The modes of `backfilld bench`.
const (
	// benchBacklog onboards every portfolio first, then starts the
	// reconcilers and times them until the backlog is current: their
	// capacity, as after an outage or a bulk import.
	benchBacklog = "backlog"
	// benchLive starts the reconcilers first and onboards while they run,
	// as in steady production: the onboarding rate bounds the times.
	benchLive = "live"
)

var benchCommand = &command{
	Name:     "bench",
	Summary:  "measure onboarding, backfill throughput and the COPY baseline on a synthetic world",
	Database: true,
	Help: `Measure the system end to end on a seeded synthetic world, in a fresh schema
of its own (bench_SEED_PID, dropped at the end unless --keep), so that it
never touches real data. It uses DATABASE_URL, or the embedded PostgreSQL
like every command; --schema and --now have no effect here.

The world: closes for --symbols symbols (S0000…) plus SPY and the factor
proxies TLT VTV VUG MTUM QUAL IWM USMV over --sessions sessions ending on
` + benchLastSession + `, after 200 sessions of history so that the analytics windows
are full, imported with the price import. Then --portfolios portfolios of
--positions positions each (random symbols, about one in five short, all
entered on the first session) are onboarded through the onboarding API by
--onboarders clients, and backfilled by --replicas reconcilers running in
this process, each with its own pool, worker name, metrics registry and
LISTEN connection, --concurrency backfills at a time, the schedule
` + benchSchedule + ` and a clock an hour after the last close. --mode says how
the two meet:

  ` + benchBacklog + `   (default) every portfolio is onboarded first, with no reconciler
            running; then the reconcilers start and are timed until the
            whole backlog is current: their capacity, as after an outage
            or a bulk import
  ` + benchLive + `      the reconcilers start first and onboarding runs while they
            work, as in steady production: they keep pace, so the
            onboarding rate bounds the times and rates

Once every portfolio is current the reconcilers stop, and the same snapshot
rows are COPYed into the emptied table in one stream (COPY TO a buffer,
TRUNCATE, COPY FROM) as a baseline.

Figures (times between database timestamps unless said otherwise):
  onboarding latency   each Onboard call, as the client sees it: p50, p99, max
  onboarding           first Onboard call to the last one's return
  time to current      until the last portfolio's state was settled current,
                       from the reconcilers' start (backlog) or from the
                       start of the first onboarding's transaction (live)
  busy                 the reconcilers' busy time: start of the first
                       backfill run until the last portfolio was current
  catch-up             live only: start of the last onboarding's transaction
                       until the last portfolio was current; about one
                       backfill when the reconcilers kept pace
  portfolio-days/s     days written by the runs / time to current
  rows/s               snapshot rows in the table / time to current
  database size        pg_database_size (the whole database), and the
                       bench schema's tables with their indexes and TOAST
  COPY                 wall time of the baseline's COPY FROM, one connection
  engine/COPY          busy / COPY
  runs                 batch runs by status; every portfolio should have
                       exactly one completed run and none failed
  backfills, sweeps    completed runs by replica; sweeps by replica, from
                       its metrics

The baseline spools the COPY text through a temporary file in $TMPDIR
(about 0.5 GB per million rows with analytics), removed at the end.

Progress goes to stderr. Exit status 1 when some portfolio was not
backfilled exactly once, a run failed, or not every portfolio was
onboarded and current within --timeout of the first onboarding.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		f := &benchFlags{}
		fs.IntVar(&f.portfolios, "portfolios", defaultBenchPortfolios, "`N` portfolios to onboard (default "+strconv.Itoa(defaultBenchPortfolios)+")")
		fs.IntVar(&f.positions, "positions", defaultBenchPositions, "`P` positions per portfolio, at most --symbols (default "+strconv.Itoa(defaultBenchPositions)+")")
		fs.IntVar(&f.sessions, "sessions", defaultBenchSessions, "`D` sessions to backfill per portfolio (default "+strconv.Itoa(defaultBenchSessions)+")")
		fs.IntVar(&f.replicas, "replicas", 1, "`R` reconcilers running in this process (default 1)")
		fs.IntVar(&f.concurrency, "concurrency", daemon.DefaultConcurrency, "`N` backfills at a time per reconciler (default "+strconv.Itoa(daemon.DefaultConcurrency)+")")
		fs.Uint64Var(&f.seed, "seed", 1, "`S` seeding the world: the same seed gives the same prices and positions (default 1)")
		fs.IntVar(&f.symbols, "symbols", defaultBenchSymbols, "`K` symbols in the universe besides SPY and the factor proxies (default "+strconv.Itoa(defaultBenchSymbols)+")")
		fs.IntVar(&f.onboarders, "onboarders", 1, "`N` clients onboarding concurrently, each one call at a time (default 1)")
		fs.StringVar(&f.mode, "mode", benchBacklog, "`MODE` "+benchBacklog+" (onboard everything, then time the reconcilers catching up) or "+benchLive+" (onboard while they run) (default "+benchBacklog+")")
		fs.BoolVar(&f.analytics, "analytics", true, "compute the risk analytics (default true); --analytics=false measures without")
		fs.DurationVar(&f.timeout, "timeout", defaultBenchTimeout, "give up when not every portfolio is onboarded and current within `DURATION` of the first onboarding (default "+shortDuration(defaultBenchTimeout)+")")
		fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the reconcilers' work (from their start until all are current) to `FILE`, for go tool pprof")
		fs.BoolVar(&f.keep, "keep", false, "keep the bench schema for inspection instead of dropping it")
		fs.BoolVar(&f.asJSON, "json", false, "print the report as JSON")
		return func(ctx context.Context, a *app, args []string) error {
			if err := a.checkArgs(args, 0, 0); err != nil {
				return err
			}
			set := map[string]bool{}
			fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
			for _, name := range []string{"schema", "now"} {
				if set[name] {
					return a.usage("--%s has no effect: bench works in a fresh schema of its own, with a clock of its own", name)
				}
			}
			if err := f.validate(); err != nil {
				return a.usage("%v", err)
			}
			return runBench(ctx, a, f)
		}
	},
}

// benchFlags are the flags of `backfilld bench`.
type benchFlags struct {
	portfolios, positions, sessions, replicas, concurrency, symbols, onboarders int

	seed            uint64
	mode            string
	cpuProfile      string
	timeout         time.Duration
	analytics, keep bool
	asJSON          bool
}

func (f *benchFlags) validate() error {
	for _, c := range []struct {
		name     string
		v, least int
	}{
		{"portfolios", f.portfolios, 1}, {"positions", f.positions, 1}, {"sessions", f.sessions, 1},
		{"replicas", f.replicas, 1}, {"concurrency", f.concurrency, 1}, {"symbols", f.symbols, 1},
		{"onboarders", f.onboarders, 1},
	} {
		if c.v < c.least {
			return fmt.Errorf("--%s %d: want at least %d", c.name, c.v, c.least)
		}
	}
	switch {
	case f.mode != benchBacklog && f.mode != benchLive:
		return fmt.Errorf("--mode %q: want %s or %s", f.mode, benchBacklog, benchLive)
	case f.positions > f.symbols:
		return fmt.Errorf("--positions %d: want at most --symbols (%d); a portfolio holds distinct symbols", f.positions, f.symbols)
	case f.positions > portfolio.DefaultMaxRows:
		return fmt.Errorf("--positions %d: want at most %d, the onboarding limit", f.positions, portfolio.DefaultMaxRows)
	case f.sessions > 10_000:
		return fmt.Errorf("--sessions %d: want at most 10000 (about 40 years)", f.sessions)
	case f.timeout <= 0:
		return fmt.Errorf("--timeout %s: want a positive duration", f.timeout)
	}
	return nil
}

// benchReport is what `backfilld bench` measured.
type benchReport struct {
	Portfolios  int    `json:"portfolios"`
	Positions   int    `json:"positions"`
	Sessions    int    `json:"sessions"`
	Symbols     int    `json:"symbols"`
	Replicas    int    `json:"replicas"`
	Concurrency int    `json:"concurrency"`
	Onboarders  int    `json:"onboarders"`
	Seed        uint64 `json:"seed"`
	Analytics   bool   `json:"analytics"`
	// Mode is backlog or live.
	Mode string `json:"mode"`

	// Database is "DATABASE_URL" or "embedded PostgreSQL in DIR".
	Database            string `json:"database"`
	ServerVersion       string `json:"server_version"`
	Fsync               string `json:"fsync"`
	Schema              string `json:"schema"`
	SchemaKept          bool   `json:"schema_kept"`
	ReplicaPoolMaxConns int32  `json:"replica_pool_max_conns"`

	HistorySessions int     `json:"history_sessions"`
	PriceRows       int     `json:"price_rows"`
	PricesSeconds   float64 `json:"prices_import_seconds"`

	OnboardingLatency latencyMS `json:"onboarding_latency_ms"`
	OnboardingSeconds float64   `json:"onboarding_seconds"`
	TimeToCurrent     float64   `json:"time_to_current_seconds"`
	BusySeconds       float64   `json:"busy_seconds"`
	// CatchUpSeconds is the time from the start of the last onboarding's
	// transaction until every portfolio was current: about one backfill
	// when the reconcilers kept pace with the onboarding.
	CatchUpSeconds float64 `json:"catch_up_seconds"`

	PortfolioDays          int64   `json:"portfolio_days"`
	SnapshotRows           int64   `json:"snapshot_rows"`
	PortfolioDaysPerSecond float64 `json:"portfolio_days_per_second"`
	RowsPerSecond          float64 `json:"rows_per_second"`

	DatabaseBytes      int64 `json:"database_bytes"`
	SchemaBytes        int64 `json:"schema_bytes"`
	SnapshotTableBytes int64 `json:"snapshot_table_bytes"`

	CopySeconds       float64 `json:"copy_seconds"`
	CopyRowsPerSecond float64 `json:"copy_rows_per_second"`
	EngineToCopyRatio float64 `json:"engine_to_copy_ratio"`

	// BackfillsPerReplica counts completed runs by worker.
	BackfillsPerReplica map[string]int `json:"backfills_per_replica"`
	// SweepsPerReplica counts each reconciler's sweeps (at start, on the
	// schedule and on notifications), from its metrics.
	SweepsPerReplica map[string]int `json:"sweeps_per_replica"`
	RunsCompleted    int            `json:"runs_completed"`
	RunsFailed       int            `json:"runs_failed"`
	// RunsOther counts runs of any other status (partial,
	// waiting_for_prices, pending, running); normally empty.
	RunsOther map[string]int `json:"runs_other"`
	// BackfilledOnce counts portfolios with exactly one completed run.
	BackfilledOnce int `json:"portfolios_backfilled_once"`
}

// latencyMS are latency percentiles in milliseconds.
type latencyMS struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// benchWorld is the synthetic world of one bench run.
type benchWorld struct {
	seed     uint64
	sessions []time.Time // history, then the benchmarked sessions
	first    time.Time   // the portfolios' entry day
	now      time.Time   // the clock: an hour after the last close
	proxies  []string    // SPY and the analytics' proxies
	symbols  []string    // the universe, S0000…
}

func newBenchWorld(f *benchFlags) *benchWorld {
	cal := batch.NewNYSECalendar()
	last, _ := time.Parse(time.DateOnly, benchLastSession)
	closeAt, _ := cal.Close(last)
	history := max(benchHistory, (&batch.AnalyticsConfig{}).Lookback())
	sessions := batch.SessionsEnding(cal, last, history+f.sessions)
	w := &benchWorld{
		seed: f.seed, sessions: sessions, first: sessions[history], now: closeAt.Add(time.Hour),
		proxies: []string{batch.DefaultBenchmark, batch.DefaultRatesProxy},
	}
	for _, s := range batch.DefaultStyleFactors() {
		w.proxies = append(w.proxies, s.Proxy)
	}
	for _, s := range batch.DefaultSpreadFactors() {
		w.proxies = append(w.proxies, s.Long, s.Short)
	}
	slices.Sort(w.proxies)
	w.proxies = slices.Compact(w.proxies)
	for i := range f.symbols {
		w.symbols = append(w.symbols, fmt.Sprintf("S%04d", i))
	}
	return w
}

// The world's random streams: one per symbol's prices and one per
// portfolio, so each is the same whatever the order of generation.
const (
	priceStream     = 1 << 40
	portfolioStream = 2 << 40
)

// pricesCSV writes the closes of symbols in the price import's format: a
// geometric random walk from a price between 20 and 200, 1.5% daily
// volatility, in cents. A symbol's walk depends only on the seed and its
// index in the import order: k0 for the first of symbols.
func (w *benchWorld) pricesCSV(buf *bytes.Buffer, symbols []string, k0 int) {
	buf.WriteString("date,symbol,close\n")
	for i, s := range symbols {
		rng := rand.New(rand.NewPCG(w.seed, priceStream+uint64(k0+i)))
		p := 20 + rng.Float64()*180
		for _, d := range w.sessions {
			p *= math.Exp(rng.NormFloat64() * 0.015)
			fmt.Fprintf(buf, "%s,%s,%.2f\n", d.Format(time.DateOnly), s, max(p, 0.01))
		}
	}
}

// positionsCSV is portfolio i's positions file: n distinct symbols of the
// universe with random quantities (one in five short) and entry prices,
// entered on the first session.
func (w *benchWorld) positionsCSV(i, n int) string {
	rng := rand.New(rand.NewPCG(w.seed, portfolioStream+uint64(i)))
	entry := w.first.Format(time.DateOnly)
	var b strings.Builder
	b.WriteString("Symbol,Quantity,Entry Price Per Share,Entry Date\n")
	for _, k := range rng.Perm(len(w.symbols))[:n] {
		q := 1 + rng.IntN(500)
		if rng.IntN(5) == 0 {
			q = -q
		}
		fmt.Fprintf(&b, "%s,%d,%.2f,%s\n", w.symbols[k], q, 10+rng.Float64()*100, entry)
	}
	return b.String()
}

// benchReplica is one in-process reconciler with its own pool.
type benchReplica struct {
	name string
	pool *pgxpool.Pool
	reg  *prometheus.Registry
	r    *daemon.Reconciler
}

// sweeps returns how many sweeps the replica ran, from its metrics.
func (r *benchReplica) sweeps() int {
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

// runBench runs the benchmark and prints its report.
func runBench(ctx context.Context, a *app, f *benchFlags) (err error) {
	var profile *os.File
	if f.cpuProfile != "" {
		if profile, err = os.Create(f.cpuProfile); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer func() {
			if cerr := profile.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("--cpuprofile: %w", cerr))
			}
		}()
	}
	pool, err := a.connect(ctx)
	if err != nil {
		return err
	}
	rep := &benchReport{
		Portfolios: f.portfolios, Positions: f.positions, Sessions: f.sessions, Symbols: f.symbols,
		Replicas: f.replicas, Concurrency: f.concurrency, Onboarders: f.onboarders, Seed: f.seed,
		Analytics: f.analytics, Mode: f.mode, Database: "DATABASE_URL", SchemaKept: f.keep,
		BackfillsPerReplica: map[string]int{}, SweepsPerReplica: map[string]int{}, RunsOther: map[string]int{},
	}
	if a.server != nil {
		rep.Database = "embedded PostgreSQL in " + a.server.DataDir()
	}
	if err := pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync')`).
		Scan(&rep.ServerVersion, &rep.Fsync); err != nil {
		return fmt.Errorf("read server settings: %w", err)
	}
	schema, err := portfolio.ParseSchema(fmt.Sprintf("bench_%d_%d", f.seed, os.Getpid()))
	if err != nil {
		return err
	}
	rep.Schema = schema.Name()
	progress := func(format string, args ...any) {
		fmt.Fprintf(a.stderr, "bench: "+format+"\n", args...)
	}
	progress("%s (PostgreSQL %s, fsync %s); schema %s", rep.Database, rep.ServerVersion, rep.Fsync, schema.Name())

	// The schema must not exist yet: a fresh one is what makes the run
	// safe next to real data and repeatable.
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)`, schema.Name()).Scan(&exists); err != nil {
		return fmt.Errorf("look for schema %s: %w", schema.Name(), err)
	}
	if exists {
		return fmt.Errorf("schema %s exists already: drop it, or use another --seed", schema.Name())
	}
	if err := portfolio.Migrate(ctx, pool, &portfolio.MigrateOpts{Schema: schema}); err != nil {
		return fmt.Errorf("create schema %s: %w", schema.Name(), err)
	}
	defer func() {
		if f.keep {
			progress("kept schema %s", schema.Name())
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), benchCleanupTimeout)
		defer cancel()
		if _, derr := pool.Exec(cctx, `DROP SCHEMA `+schema.Quoted()+` CASCADE`); derr != nil {
			err = errors.Join(err, fmt.Errorf("drop schema %s: %w", schema.Name(), derr))
			return
		}
		progress("dropped schema %s", schema.Name())
	}()

	w := newBenchWorld(f)
	rep.HistorySessions = len(w.sessions) - f.sessions
	t0 := time.Now()
	if rep.PriceRows, err = importBenchPrices(ctx, pool, schema, w); err != nil {
		return err
	}
	rep.PricesSeconds = time.Since(t0).Seconds()
	progress("imported %d closes of %d symbols over %d sessions in %s",
		rep.PriceRows, len(w.proxies)+len(w.symbols), len(w.sessions), dur(time.Since(t0)))

	// One deadline for onboarding and backfilling, from the first
	// onboarding.
	deadline := time.Now().Add(f.timeout)
	var onb *benchOnboarding
	defer func() {
		if onb != nil {
			onb.halt()
		}
	}()
	// The reconcilers' clock starts at the first onboarding (live) or when
	// they start (backlog), read from the database like the timestamps.
	var since time.Time
	if f.mode == benchBacklog {
		progress("onboarding %d portfolios of %d positions, reconcilers stopped", f.portfolios, f.positions)
		if onb, err = startOnboarding(ctx, f, pool, schema, w); err != nil {
			return err
		}
		if err := watch(ctx, deadline, progress, func() (bool, string, error) {
			return onb.done(), onboardedLine(onb, f.portfolios), onb.err()
		}); err != nil {
			return err
		}
		if err := pool.QueryRow(ctx, `SELECT now()`).Scan(&since); err != nil {
			return fmt.Errorf("read the database clock: %w", err)
		}
	}

	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile() // on error paths; a no-op after the stop below
	}
	replicas, err := startReplicas(ctx, a, f, pool, schema, w)
	// Stop them on every path; on success they are stopped, and their
	// pools closed, before the COPY baseline.
	stopAll := func() error {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), benchCleanupTimeout)
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
		replicas = nil
		return errors.Join(errs...)
	}
	defer func() { err = errors.Join(err, stopAll()) }()
	if err != nil {
		return err
	}
	rep.ReplicaPoolMaxConns = replicas[0].pool.Config().MaxConns
	if f.mode == benchLive {
		progress("%d reconciler(s) running, concurrency %d each; onboarding %d portfolios of %d positions",
			f.replicas, f.concurrency, f.portfolios, f.positions)
		if onb, err = startOnboarding(ctx, f, pool, schema, w); err != nil {
			return err
		}
		if err := waitCurrent(ctx, f, pool, schema, onb, deadline, progress); err != nil {
			return err
		}
	} else {
		progress("%d reconciler(s) started, concurrency %d each, on a backlog of %d portfolios",
			f.replicas, f.concurrency, f.portfolios)
		if err := waitCurrent(ctx, f, pool, schema, nil, deadline, progress); err != nil {
			return err
		}
	}
	if profile != nil {
		pprof.StopCPUProfile()
		progress("CPU profile written to %s", f.cpuProfile)
	}
	onb.halt()
	rep.OnboardingLatency = percentiles(onb.latencies)
	rep.OnboardingSeconds = onb.wall.Seconds()
	stopped := replicas
	if err := stopAll(); err != nil {
		return err
	}
	for _, r := range stopped {
		rep.SweepsPerReplica[r.name] = r.sweeps()
	}

	if err := measureBench(ctx, pool, schema, since, rep); err != nil {
		return err
	}
	progress("every portfolio current after %.1fs; COPY baseline of %d snapshot rows", rep.TimeToCurrent, rep.SnapshotRows)
	copyTime, err := batch.SnapshotCopyBaseline(ctx, pool, schema, rep.SnapshotRows)
	if err != nil {
		return err
	}
	rep.CopySeconds = copyTime.Seconds()
	if rep.CopySeconds > 0 {
		rep.CopyRowsPerSecond = float64(rep.SnapshotRows) / rep.CopySeconds
		rep.EngineToCopyRatio = rep.BusySeconds / rep.CopySeconds
	}

	if f.asJSON {
		if err := writeJSON(a.stdout, rep); err != nil {
			return err
		}
	} else {
		printBench(a.stdout, rep)
	}
	var problems []string
	if rep.RunsCompleted != f.portfolios || rep.BackfilledOnce != f.portfolios {
		problems = append(problems, fmt.Sprintf("%d completed runs and %d portfolios backfilled exactly once, want %d",
			rep.RunsCompleted, rep.BackfilledOnce, f.portfolios))
	}
	if rep.RunsFailed > 0 {
		problems = append(problems, fmt.Sprintf("%d failed runs", rep.RunsFailed))
	}
	if len(problems) > 0 {
		return fmt.Errorf("bench: %s", strings.Join(problems, "; "))
	}
	return nil
}

// importBenchPrices imports the world's closes in chunks of symbols and
// returns the number of rows.
func importBenchPrices(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, w *benchWorld) (int, error) {
	all := append(slices.Clone(w.proxies), w.symbols...)
	per := max(1, benchPriceChunkRows/len(w.sessions))
	rows := 0
	var buf bytes.Buffer
	for k := 0; k < len(all); k += per {
		chunk := all[k:min(k+per, len(all))]
		buf.Reset()
		w.pricesCSV(&buf, chunk, k)
		res, err := batch.ImportPrices(ctx, pool, &buf, "bench", &batch.ImportOpts{Schema: schema, Source: "bench", Now: func() time.Time { return w.now }})
		if err != nil {
			return rows, fmt.Errorf("import prices: %w", err)
		}
		rows += res.Rows
	}
	return rows, nil
}

// startReplicas starts f.replicas reconcilers, each on a pool of its own
// configured like the command's (as a `backfilld run` process would be),
// and returns them; on error it returns those it made, for stopping.
func startReplicas(ctx context.Context, a *app, f *benchFlags, pool *pgxpool.Pool, schema portfolio.Schema, w *benchWorld) ([]*benchReplica, error) {
	// One line per backfill at info would drown the progress lines.
	level := levelOf(a.logger)
	if level == slog.LevelInfo {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	now := func() time.Time { return w.now }
	var replicas []*benchReplica
	for i := range f.replicas {
		name := fmt.Sprintf("replica-%d", i+1)
		rpool, err := pgxpool.NewWithConfig(ctx, pool.Config())
		if err != nil {
			return replicas, fmt.Errorf("open pool of %s: %w", name, err)
		}
		rep := &benchReplica{name: name, pool: rpool, reg: prometheus.NewRegistry()}
		replicas = append(replicas, rep)
		engine, err := batch.NewEngine(rpool, &batch.Config{
			Schema: schema, Worker: name, Now: now, Logger: logger,
			Analytics: batch.AnalyticsConfig{Disabled: !f.analytics},
		})
		if err != nil {
			return replicas, err
		}
		r, err := daemon.New(rpool, &daemon.Config{
			Schema: schema, Worker: name, Concurrency: f.concurrency, Engine: engine,
			Registerer: rep.reg, Gatherer: rep.reg, Logger: logger, Now: now, Schedule: benchSchedule,
			// A channel of its own: reconcilers of real schemas on the same
			// database are not woken by the bench, nor the bench by them.
			NotifyChannel: schema.Name(), Version: buildVersion(),
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

// benchOnboarding is the world's onboarding by f.onboarders clients, each
// one call at a time, running in the background.
type benchOnboarding struct {
	latencies []time.Duration
	onboarded atomic.Int64
	wall      time.Duration // set before finished is closed
	finished  chan struct{}
	ctx       context.Context
	stop      context.CancelCauseFunc
	clients   conc.WaitGroup
}

// startOnboarding starts onboarding the world's portfolios through the
// onboarding API; the caller must call halt.
func startOnboarding(ctx context.Context, f *benchFlags, pool *pgxpool.Pool, schema portfolio.Schema, w *benchWorld) (*benchOnboarding, error) {
	client, err := portfolio.NewClient(pool, &portfolio.Config{
		Schema: schema, NotifyChannel: schema.Name(), Now: func() time.Time { return w.now },
	})
	if err != nil {
		return nil, err
	}
	o := &benchOnboarding{latencies: make([]time.Duration, f.portfolios), finished: make(chan struct{})}
	o.ctx, o.stop = context.WithCancelCause(ctx)
	var next atomic.Int64
	start := time.Now()
	o.clients.Go(func() {
		defer close(o.finished)
		var clients conc.WaitGroup
		for range f.onboarders {
			clients.Go(func() {
				for o.ctx.Err() == nil {
					i := int(next.Add(1) - 1)
					if i >= f.portfolios {
						return
					}
					req := &portfolio.OnboardRequest{
						OwnerID: "bench", PortfolioName: fmt.Sprintf("Bench %d", i+1), AccountName: fmt.Sprintf("bench-%06d", i+1),
						AccountType: "taxable", StartingEquity: "1000000", CSV: strings.NewReader(w.positionsCSV(i, f.positions)),
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
func (o *benchOnboarding) err() error {
	if o.ctx.Err() == nil {
		return nil
	}
	return context.Cause(o.ctx)
}

// done reports whether every client has returned.
func (o *benchOnboarding) done() bool {
	select {
	case <-o.finished:
		return true
	default:
		return false
	}
}

// halt stops the onboarding, if it still runs, and waits for its clients.
func (o *benchOnboarding) halt() {
	o.stop(context.Canceled)
	o.clients.Wait()
}

// watch polls check every benchPollInterval until it reports done, an
// error, or the deadline passes, printing its progress line every
// benchProgressInterval and when done.
func watch(ctx context.Context, deadline time.Time, progress func(string, ...any),
	check func() (done bool, line string, err error)) error {
	start := time.Now()
	tick := time.NewTicker(benchPollInterval)
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
		if done || time.Since(lastProgress) >= benchProgressInterval {
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
func onboardedLine(o *benchOnboarding, n int) string {
	return fmt.Sprintf("onboarded %d/%d", o.onboarded.Load(), n)
}

// waitCurrent waits until every portfolio is current, with o, when not
// nil, still onboarding.
func waitCurrent(ctx context.Context, f *benchFlags, pool *pgxpool.Pool, schema portfolio.Schema,
	o *benchOnboarding, deadline time.Time, progress func(string, ...any)) error {
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
			line = onboardedLine(o, f.portfolios) + ", "
		}
		current, failing, err := client.StateTotals(ctx)
		if err != nil {
			return false, "", fmt.Errorf("poll backfill state: %w", err)
		}
		line += fmt.Sprintf("current %d/%d", current, f.portfolios)
		if failing > 0 {
			line += fmt.Sprintf(", failing or quarantined %d", failing)
		}
		return current == f.portfolios && (o == nil || o.done()), line, nil
	})
}

// percentiles returns the nearest-rank p50 and p99 and the maximum of ds.
func percentiles(ds []time.Duration) latencyMS {
	if len(ds) == 0 {
		return latencyMS{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		return s[max(0, int(math.Ceil(p*float64(len(s))))-1)]
	}
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	return latencyMS{P50: ms(rank(0.50)), P99: ms(rank(0.99)), Max: ms(s[len(s)-1])}
}

// measureBench reads the runs, times, rows and sizes of the finished
// backfills into rep.
//
// The reconcilers' clock starts at since, or at the first onboarding when
// since is zero.
func measureBench(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, since time.Time, rep *benchReport) error {
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
	if rep.Mode == benchLive && lastOnboarding != nil && lastCurrent != nil {
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

func printBench(w io.Writer, r *benchReport) {
	tw := newTable(w)
	kept := "dropped"
	if r.SchemaKept {
		kept = "kept"
	}
	analytics := "on"
	if !r.Analytics {
		analytics = "off"
	}
	fmt.Fprintf(tw, "Benchmark on %s (PostgreSQL %s, fsync %s), schema %s (%s)\n", r.Database, r.ServerVersion, r.Fsync, r.Schema, kept)
	fmt.Fprintf(tw, "  world:\t%d portfolios × %d positions × %d sessions, %d symbols + proxies, %d sessions of history, seed %d, analytics %s\n",
		r.Portfolios, r.Positions, r.Sessions, r.Symbols, r.HistorySessions, r.Seed, analytics)
	fmt.Fprintf(tw, "  reconcilers:\t%d × concurrency %d (pools of %d connections), %d onboarding client(s), mode %s\n",
		r.Replicas, r.Concurrency, r.ReplicaPoolMaxConns, r.Onboarders, r.Mode)
	fmt.Fprintf(tw, "  prices:\t%d rows imported in %.1fs\n", r.PriceRows, r.PricesSeconds)
	fmt.Fprintf(tw, "  onboarding:\t%d in %.1fs; latency p50 %.1fms, p99 %.1fms, max %.1fms\n",
		r.Portfolios, r.OnboardingSeconds, r.OnboardingLatency.P50, r.OnboardingLatency.P99, r.OnboardingLatency.Max)
	if r.Mode == benchLive {
		fmt.Fprintf(tw, "  time to current:\t%.1fs from the first onboarding\n", r.TimeToCurrent)
		fmt.Fprintf(tw, "  reconcilers busy:\t%.1fs from the first backfill; all current %.2fs after the last onboarding\n",
			r.BusySeconds, r.CatchUpSeconds)
	} else {
		fmt.Fprintf(tw, "  time to current:\t%.1fs from the reconcilers' start\n", r.TimeToCurrent)
		fmt.Fprintf(tw, "  reconcilers busy:\t%.1fs from the first backfill\n", r.BusySeconds)
	}
	fmt.Fprintf(tw, "  throughput:\t%.0f portfolio-days/s, %.0f snapshot rows/s (%d portfolio-days, %d rows)\n",
		r.PortfolioDaysPerSecond, r.RowsPerSecond, r.PortfolioDays, r.SnapshotRows)
	fmt.Fprintf(tw, "  runs:\t%d completed, %d failed%s; %d of %d portfolios backfilled exactly once\n",
		r.RunsCompleted, r.RunsFailed, otherRuns(r.RunsOther), r.BackfilledOnce, r.Portfolios)
	workers := make([]string, 0, len(r.BackfillsPerReplica))
	for name := range r.BackfillsPerReplica {
		workers = append(workers, name)
	}
	slices.Sort(workers)
	for i, name := range workers {
		workers[i] = name + " " + strconv.Itoa(r.BackfillsPerReplica[name])
	}
	fmt.Fprintf(tw, "  backfills:\t%s\n", strings.Join(workers, ", "))
	sweeps := make([]string, 0, len(r.SweepsPerReplica))
	for name, n := range r.SweepsPerReplica {
		sweeps = append(sweeps, name+" "+strconv.Itoa(n))
	}
	slices.Sort(sweeps)
	fmt.Fprintf(tw, "  sweeps:\t%s\n", strings.Join(sweeps, ", "))
	fmt.Fprintf(tw, "  database size:\t%s (bench schema %s, snapshots %s)\n",
		bytesText(r.DatabaseBytes), bytesText(r.SchemaBytes), bytesText(r.SnapshotTableBytes))
	fmt.Fprintf(tw, "  raw COPY:\t%d rows in %.2fs (%.0f rows/s)\n", r.SnapshotRows, r.CopySeconds, r.CopyRowsPerSecond)
	fmt.Fprintf(tw, "  engine / COPY:\t%.2f (reconcilers busy / raw COPY)\n", r.EngineToCopyRatio)
	tw.Flush()
}

func otherRuns(m map[string]int) string {
	statuses := make([]string, 0, len(m))
	for s := range m {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	var b strings.Builder
	for _, s := range statuses {
		fmt.Fprintf(&b, ", %d %s", m[s], s)
	}
	return b.String()
}

// bytesText formats a size in binary units.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i-1])
}
