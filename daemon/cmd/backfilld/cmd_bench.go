package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"strconv"

	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/daemon/bench"
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
` + bench.LastSession + `, after 200 sessions of history so that the analytics windows
are full, imported with the price import. Then --portfolios portfolios of
--positions positions each (random symbols, about one in five short, all
entered on the first session) are onboarded through the onboarding API by
--onboarders clients, and backfilled by --replicas reconcilers running in
this process, each with its own pool, worker name, metrics registry and
LISTEN connection, --concurrency backfills at a time, the schedule
` + bench.Schedule + ` and a clock an hour after the last close. --mode says how
the two meet:

  ` + bench.ModeBacklog + `   (default) every portfolio is onboarded first, with no reconciler
            running; then the reconcilers start and are timed until the
            whole backlog is current: their capacity, as after an outage
            or a bulk import
  ` + bench.ModeLive + `      the reconcilers start first and onboarding runs while they
            work, as in steady production: they keep pace, so the
            onboarding rate bounds the times and rates
  ` + bench.ModeDaily + `     the nightly advance: a world current through the session
            before the last, then the last session's closes imported
            and timed until every portfolio is current through it
            (below)
  ` + bench.ModePlans + `     no world: backfill_state filled with --portfolios state rows
            only, and the reconcilers' claim explained (EXPLAIN ANALYZE,
            BUFFERS) at 10,000, 100,000 and --portfolios rows; exit
            status 1 when it scans sequentially or its buffers grow

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

--mode ` + bench.ModeDaily + ` builds its world untimed: --templates portfolios are
onboarded and backfilled by reconcilers of their own, then cloned in the
database (every per-portfolio table, with new ids) into --portfolios
portfolios, each holding what the engine computes for its positions; --checks
random clones are recomputed by a fresh engine and must match column for
column, or the bench fails. --sessions is raised to at least 261, so that
every portfolio holds 260 sessions or more before the timed day D. Warm (the
default): the timed reconcilers start first and advance the world from D−2
to D−1, untimed; then D's closes are imported. --cold: the world is built
through D−1 and fresh reconcilers start after D's import. Either way the
database is checkpointed before the import, as a production database is
between two evenings, so that the setup's dirty pages are not written during
the timed advance (CHECKPOINT needs a superuser or pg_checkpoint). The import is the
real price import; the reconcilers are woken by a notification after it
commits (the import itself notifies nobody), and the clock stands an hour
after the close of the last session imported. Its figures:
  daily_seconds        D's import commit until the last portfolio was
                       current through D
  latency              per portfolio, import commit to its state settled
                       current through D: p50, p99, max
  database time        pg_stat_database.active_time over the advance, and
                       its share of that plus the bench process's CPU time
  rows written         tuples inserted, updated or deleted in the bench
                       schema (pg_stat_user_tables), and D's snapshot rows
  peak memory          the bench process (getrusage) and the PostgreSQL
                       server (summed Pss of its processes, /proc; 0 when
                       not readable), sampled during the advance
  COPY, daily/COPY     D's snapshot rows COPYed into an empty table of the
                       same shape; daily_seconds / that time

Progress goes to stderr. Exit status 1 when some portfolio was not
backfilled (advanced) exactly once, a run failed, a checked clone differed,
or not every portfolio was onboarded and current within --timeout of the
first onboarding.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		f := bench.DefaultOptions()
		var asJSON bool
		fs.IntVar(&f.Portfolios, "portfolios", bench.DefaultPortfolios, "`N` portfolios to onboard (default "+strconv.Itoa(bench.DefaultPortfolios)+")")
		fs.IntVar(&f.Positions, "positions", bench.DefaultPositions, "`P` positions per portfolio, at most --symbols (default "+strconv.Itoa(bench.DefaultPositions)+")")
		fs.IntVar(&f.Sessions, "sessions", bench.DefaultSessions, "`D` sessions to backfill per portfolio (default "+strconv.Itoa(bench.DefaultSessions)+")")
		fs.IntVar(&f.Replicas, "replicas", 1, "`R` reconcilers running in this process (default 1)")
		fs.IntVar(&f.Concurrency, "concurrency", daemon.DefaultConcurrency, "`N` backfills at a time per reconciler (default "+strconv.Itoa(daemon.DefaultConcurrency)+")")
		fs.Uint64Var(&f.Seed, "seed", 1, "`S` seeding the world: the same seed gives the same prices and positions (default 1)")
		fs.IntVar(&f.Symbols, "symbols", bench.DefaultSymbols, "`K` symbols in the universe besides SPY and the factor proxies (default "+strconv.Itoa(bench.DefaultSymbols)+")")
		fs.IntVar(&f.Onboarders, "onboarders", 1, "`N` clients onboarding concurrently, each one call at a time (default 1)")
		fs.StringVar(&f.Mode, "mode", bench.ModeBacklog, "`MODE` "+bench.ModeBacklog+" (onboard everything, then time the reconcilers catching up), "+bench.ModeLive+" (onboard while they run), "+bench.ModeDaily+" (time the nightly advance by one session) or "+bench.ModePlans+" (explain the claim as the state table grows) (default "+bench.ModeBacklog+")")
		fs.IntVar(&f.Templates, "templates", bench.DefaultTemplates, "`T` portfolios --mode "+bench.ModeDaily+" backfills and clones into the others (default "+strconv.Itoa(bench.DefaultTemplates)+")")
		fs.IntVar(&f.Checks, "checks", bench.DefaultChecks, "`K` clones --mode "+bench.ModeDaily+" recomputes with the engine and compares before timing (default "+strconv.Itoa(bench.DefaultChecks)+")")
		fs.BoolVar(&f.Cold, "cold", false, "--mode "+bench.ModeDaily+": start fresh reconcilers after the import instead of warm ones")
		fs.BoolVar(&f.Analytics, "analytics", true, "compute the risk analytics (default true); --analytics=false measures without")
		fs.DurationVar(&f.Timeout, "timeout", bench.DefaultTimeout, "give up when not every portfolio is onboarded and current within `DURATION` of the first onboarding (default "+shortDuration(bench.DefaultTimeout)+")")
		fs.StringVar(&f.CPUProfile, "cpuprofile", "", "write a CPU profile of the reconcilers' work (from their start until all are current) to `FILE`, for go tool pprof")
		fs.BoolVar(&f.Keep, "keep", false, "keep the bench schema for inspection instead of dropping it")
		fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
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
			if err := f.Validate(); err != nil {
				return a.usage("%v", err)
			}
			return runBench(ctx, a, f, asJSON)
		}
	},
}

// runBench runs the benchmark on the command's database and prints its
// report, also when the run found a portfolio not backfilled exactly once.
func runBench(ctx context.Context, a *app, f *bench.Options, asJSON bool) error {
	pool, err := a.connect(ctx)
	if err != nil {
		return err
	}
	if a.server != nil {
		f.Database = "embedded PostgreSQL in " + a.server.DataDir()
	}
	// One line per backfill at info would drown the progress lines.
	level := levelOf(a.logger)
	if level == slog.LevelInfo {
		level = slog.LevelWarn
	}
	f.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	f.Progress, f.Version = a.stderr, buildVersion()
	rep, err := bench.Run(ctx, pool, f)
	if rep != nil {
		if asJSON {
			if jerr := writeJSON(a.stdout, rep); jerr != nil {
				return errors.Join(err, jerr)
			}
		} else {
			bench.Print(a.stdout, rep)
		}
	}
	return err
}
