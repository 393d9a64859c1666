package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sigmasight/backfill/portfolio"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/daemon"
)

// Environment variables of `backfilld run`; each has a flag, which wins.
const (
	envHTTPAddr        = "BACKFILL_HTTP_ADDR"
	envSchedule        = "BACKFILL_SCHEDULE"
	envConcurrency     = "BACKFILL_CONCURRENCY"
	envLeaseTTL        = "BACKFILL_LEASE_TTL"
	envMaxAttempts     = "BACKFILL_MAX_ATTEMPTS"
	envBackfillTimeout = "BACKFILL_BACKFILL_TIMEOUT"
	envShutdownGrace   = "BACKFILL_SHUTDOWN_GRACE"
	envNotifyInterval  = "BACKFILL_NOTIFY_INTERVAL"
	envWorker          = "BACKFILL_WORKER"
	envLogFormat       = "BACKFILL_LOG_FORMAT"
	envAdminToken      = "BACKFILL_ADMIN_TOKEN"
)

// Defaults of `backfilld run` beyond the daemon's own.
const (
	defaultHTTPAddr = ":9108"
	// httpShutdownTimeout bounds the wait for HTTP requests in progress at
	// shutdown; /status, the slowest, gives up after 10 s itself.
	httpShutdownTimeout = 5 * time.Second
	// noHTTP, as --http-addr, turns the HTTP server off like "" does; the
	// environment cannot tell an empty variable from an unset one.
	noHTTP = "off"
)

var runCommand = &command{
	Name:     "run",
	Summary:  "run the reconciler: keep every portfolio backfilled (--once: one sweep)",
	Database: true,
	Help: `Run the reconciler until SIGTERM or SIGINT. It sweeps at start, on the
schedule and on every notification of a request (onboarding, calculate,
retry), claims the portfolios that are behind the target trading day, were
requested or were never snapshotted, under expiring leases, and backfills up
to --concurrency of them at a time. Any number of replicas may run against
one database: each portfolio is backfilled by one of them at a time, and a
replica that dies leaves leases that the others take over once they expire.

The HTTP server on --http-addr serves /metrics (Prometheus), /healthz,
/readyz (the database answers, the schema is current), /status (JSON) and,
at /, the ops web page: counts by state, a lag histogram, the portfolios that
need attention with why, recent runs, and a page per portfolio; with
--admin-token an operator signs in with the token and can retry portfolios.

On SIGTERM or SIGINT it stops the HTTP server and claiming, lets in-flight
backfills finish for up to --shutdown-grace, then cancels them: they record
their runs and release their leases so that other replicas continue at once.
Exit status 0.

With --once there is no HTTP server, schedule or listener: one sweep runs to
completion (every due portfolio is backfilled) and its summary is printed:
portfolios claimed, leases reclaimed, the target day, runs by status and days
written. Exit status 1 when the sweep itself failed; failed backfills are in
the summary and in 'backfilld status'. A signal cancels the sweep at once: the
backfills in flight record their runs and release their leases.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		f := new(runFlags)
		fs.BoolVar(&f.once, "once", false, "sweep once, to completion, print the summary and exit; no HTTP server, schedule or listener")
		fs.BoolVar(&f.asJSON, "json", false, "with --once, print the summary as JSON")
		fs.StringVar(&f.httpAddr, "http-addr", "", "`ADDR` of the HTTP server for /metrics, /healthz, /readyz and /status; \"\" or \""+noHTTP+
			"\" for none (env "+envHTTPAddr+"; default "+defaultHTTPAddr+")")
		fs.StringVar(&f.schedule, "schedule", "", "when to sweep besides notifications, as a `SPEC` of five cron fields, a descriptor "+
			"such as @hourly or @every 30s, optionally after CRON_TZ=Zone (env "+envSchedule+"; default "+daemon.DefaultSchedule+")")
		fs.StringVar(&f.concurrency, "concurrency", "", "run up to `N` backfills at a time (env "+envConcurrency+"; default "+strconv.Itoa(daemon.DefaultConcurrency)+")")
		fs.StringVar(&f.leaseTTL, "lease-ttl", "", "how long a claim lasts without a heartbeat, a `DURATION` of at least 1s; "+
			"heartbeats come every third of it (env "+envLeaseTTL+"; default "+shortDuration(daemon.DefaultLeaseTTL)+")")
		fs.StringVar(&f.maxAttempts, "max-attempts", "", "failed backfills in a row, `N`, after which a portfolio is quarantined "+
			"until 'backfilld retry' (env "+envMaxAttempts+"; default "+strconv.Itoa(daemon.DefaultMaxAttempts)+")")
		fs.StringVar(&f.backfillTimeout, "backfill-timeout", "", "`DURATION` after which one backfill is cancelled "+
			"(env "+envBackfillTimeout+"; default "+shortDuration(daemon.DefaultBackfillTimeout)+")")
		fs.StringVar(&f.shutdownGrace, "shutdown-grace", "", "`DURATION` in-flight backfills may take to finish after SIGTERM "+
			"before they are cancelled (env "+envShutdownGrace+"; default "+shortDuration(daemon.DefaultShutdownGrace)+")")
		fs.StringVar(&f.notifyInterval, "notify-interval", "", "at most one sweep per `DURATION` for notifications: the first after "+
			"a quiet spell sweeps at once, the rest share the next (env "+envNotifyInterval+"; default "+shortDuration(daemon.DefaultNotifyInterval)+")")
		fs.StringVar(&f.worker, "worker", "", "`NAME` of this replica in leases, runs and logs; unique per replica "+
			"(env "+envWorker+"; default HOST:PID)")
		fs.BoolVar(&f.noListen, "no-listen", false, "do not LISTEN for requests; only the schedule triggers sweeps")
		fs.StringVar(&f.adminToken, "admin-token", "", "`TOKEN` that signs an operator in on the web page at / to retry portfolios "+
			"(env "+envAdminToken+"; default none: the page is read-only)")
		fs.StringVar(&f.logFormat, "log-format", "", "`FORMAT` of the logs: text or json (env "+envLogFormat+"; default text)")
		return func(ctx context.Context, a *app, args []string) error {
			if err := a.checkArgs(args, 0, 0); err != nil {
				return err
			}
			set := map[string]bool{}
			fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
			if f.once {
				for _, name := range []string{"http-addr", "schedule"} {
					if set[name] {
						return a.usage("--%s has no effect with --once, which serves no HTTP and sweeps once", name)
					}
				}
			} else if set["json"] {
				return a.usage("--json needs --once: the reconciler logs to stderr")
			}
			c, err := f.resolve(set, a.getenv)
			if err != nil {
				return err
			}
			if c.logFormat == "json" {
				a.logger = slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: levelOf(a.logger)}))
			}
			cfg := &daemon.Config{
				Schema: a.schema, Schedule: c.schedule, Concurrency: c.concurrency, LeaseTTL: c.leaseTTL,
				MaxAttempts: c.maxAttempts, BackfillTimeout: c.backfillTimeout, ShutdownGrace: c.shutdownGrace,
				NotifyInterval:  c.notifyInterval,
				DisableListener: !c.listen, Worker: c.worker, Logger: a.logger, Now: a.now, Version: buildVersion(),
			}
			// Every setting is checked before a database is opened (or an
			// embedded one started).
			if err := cfg.Validate(); err != nil {
				return &invalidError{err}
			}
			pool, err := a.db(ctx)
			if err != nil {
				return err
			}
			r, err := daemon.New(pool, cfg)
			if err != nil {
				return err
			}
			if f.once {
				return sweepOnce(ctx, a, pool, r, c, f.asJSON)
			}
			return serve(ctx, a, r, c)
		}
	},
}

// runFlags are the flags of `backfilld run` as given; the settings with an
// environment variable stay strings until resolve.
type runFlags struct {
	once, asJSON, noListen bool

	httpAddr, schedule, concurrency, leaseTTL, maxAttempts string
	backfillTimeout, shutdownGrace, notifyInterval, worker string
	logFormat, adminToken                                  string
}

// runConfig is the configuration of `backfilld run`: flags, else
// environment, else defaults, validated.
type runConfig struct {
	httpAddr    string // "" for no HTTP server
	schedule    string
	concurrency int
	leaseTTL    time.Duration
	maxAttempts int

	backfillTimeout, shutdownGrace, notifyInterval time.Duration

	worker    string
	listen    bool
	logFormat string // "text" or "json"
	// adminToken enables sign-in and retries on the ops page.
	adminToken string
}

// resolve builds the configuration: a flag given on the command line (set
// names them) wins over its variable, read through getenv, which wins over
// the default. It reports every invalid setting, naming where each came
// from, as invalid input.
func (f *runFlags) resolve(set map[string]bool, getenv func(string) string) (*runConfig, error) {
	get := func(name, env, flagValue, def string) (value, source string) {
		if set[name] {
			return flagValue, "--" + name
		}
		if v := getenv(env); v != "" {
			return v, env
		}
		return def, "default"
	}
	var errs []error
	count := func(name, env, flagValue string, def int) int {
		v, src := get(name, env, flagValue, strconv.Itoa(def))
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("invalid %s %q: want a whole number, at least 1", src, v))
		}
		return n
	}
	duration := func(name, env, flagValue string, def, least time.Duration) time.Duration {
		v, src := get(name, env, flagValue, def.String())
		d, err := time.ParseDuration(v)
		if err != nil || d < least {
			errs = append(errs, fmt.Errorf("invalid %s %q: want a duration of at least %s, such as 90s or 2m", src, v, least))
		}
		return d
	}

	c := &runConfig{listen: !f.noListen}
	c.adminToken, _ = get("admin-token", envAdminToken, f.adminToken, "")
	var src string
	c.httpAddr, src = get("http-addr", envHTTPAddr, f.httpAddr, defaultHTTPAddr)
	if c.httpAddr == noHTTP {
		c.httpAddr = ""
	}
	if c.httpAddr != "" {
		if err := checkListenAddr(c.httpAddr); err != nil {
			errs = append(errs, fmt.Errorf("invalid %s %q: %v; want HOST:PORT or :PORT with a port from 0 to 65535, "+
				"or \"\" or %q for no HTTP server", src, c.httpAddr, err, noHTTP))
		}
	}
	c.schedule, src = get("schedule", envSchedule, f.schedule, daemon.DefaultSchedule)
	if err := daemon.CheckSchedule(c.schedule); err != nil {
		errs = append(errs, fmt.Errorf("invalid %s %q: %v; use five cron fields (*/5 * * * *), a descriptor (@hourly, @every 30s), "+
			"optionally after CRON_TZ=America/New_York", src, c.schedule, err))
	}
	c.concurrency = count("concurrency", envConcurrency, f.concurrency, daemon.DefaultConcurrency)
	c.leaseTTL = duration("lease-ttl", envLeaseTTL, f.leaseTTL, daemon.DefaultLeaseTTL, time.Second)
	c.maxAttempts = count("max-attempts", envMaxAttempts, f.maxAttempts, daemon.DefaultMaxAttempts)
	c.backfillTimeout = duration("backfill-timeout", envBackfillTimeout, f.backfillTimeout, daemon.DefaultBackfillTimeout, time.Millisecond)
	c.shutdownGrace = duration("shutdown-grace", envShutdownGrace, f.shutdownGrace, daemon.DefaultShutdownGrace, time.Millisecond)
	c.notifyInterval = duration("notify-interval", envNotifyInterval, f.notifyInterval, daemon.DefaultNotifyInterval, time.Millisecond)
	c.worker, _ = get("worker", envWorker, f.worker, "")
	if c.worker == "" {
		c.worker = batch.DefaultWorker()
	}
	c.logFormat, src = get("log-format", envLogFormat, f.logFormat, "text")
	c.logFormat = strings.ToLower(c.logFormat)
	if c.logFormat != "text" && c.logFormat != "json" {
		errs = append(errs, fmt.Errorf("invalid %s %q: use text or json", src, c.logFormat))
	}
	if len(errs) > 0 {
		return nil, &invalidError{errors.Join(errs...)}
	}
	return c, nil
}

// checkListenAddr checks a TCP listen address without binding it: HOST:PORT
// or :PORT, the port a number from 0 to 65535 or a service name.
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

// opsHandler serves the reconciler's endpoints and, at /, its web page.
func opsHandler(r *daemon.Reconciler, adminToken string) http.Handler {
	mux := http.NewServeMux()
	api := r.Handler()
	for _, p := range []string{"/metrics", "/healthz", "/readyz", "/status"} {
		mux.Handle(p, api)
	}
	mux.Handle("/", r.OpsPage(&daemon.OpsPageOptions{AdminToken: adminToken}))
	return mux
}

// serve runs the reconciler and its HTTP server until ctx ends, then shuts
// both down gracefully.
func serve(ctx context.Context, a *app, r *daemon.Reconciler, c *runConfig) error {
	var ln net.Listener
	httpAddr := "none"
	if c.httpAddr != "" {
		var err error
		if ln, err = net.Listen("tcp", c.httpAddr); err != nil {
			return fmt.Errorf("HTTP server: %w", err)
		}
		httpAddr = ln.Addr().String()
	}
	// The reconciler must outlive ctx: the signal that ends ctx starts a
	// graceful Stop instead of cancelling every backfill at once.
	if err := r.Start(context.WithoutCancel(ctx)); err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}
	var srv *http.Server
	served := make(chan error, 1)
	if ln != nil {
		srv = &http.Server{
			Handler:           opsHandler(r, c.adminToken),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		}
		go func() { served <- srv.Serve(ln) }()
	}
	a.logger.Info("backfilld running", "worker", c.worker, "schedule", c.schedule, "http_addr", httpAddr,
		"concurrency", c.concurrency, "lease_ttl", c.leaseTTL, "listen", c.listen, "version", buildVersion())

	var failure error
	select {
	case <-ctx.Done():
		a.logger.Info("shutting down", "cause", context.Cause(ctx), "shutdown_grace", c.shutdownGrace)
	case err := <-served:
		failure = fmt.Errorf("HTTP server: %w", err)
		a.logger.Error("HTTP server failed; shutting down", "error", err, "shutdown_grace", c.shutdownGrace)
		served = nil
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			a.logger.Warn("HTTP server shutdown", "error", err)
			srv.Close()
		}
		cancel()
		if served != nil {
			<-served // http.ErrServerClosed
		}
	}
	// No deadline: Stop waits up to the configured ShutdownGrace.
	if err := r.Stop(context.Background()); err != nil {
		return errors.Join(failure, err)
	}
	a.logger.Info("backfilld stopped", "worker", c.worker)
	return failure
}

// onceSummary is what `backfilld run --once --json` prints: the sweep, and
// the runs this worker started during it by status.
type onceSummary struct {
	daemon.SweepResult
	Worker      string         `json:"worker"`
	Runs        map[string]int `json:"runs"`
	DaysWritten int            `json:"days_written"`
}

// sweepOnce runs one sweep to completion and prints its summary.
func sweepOnce(ctx context.Context, a *app, pool *pgxpool.Pool, r *daemon.Reconciler, c *runConfig, asJSON bool) error {
	// The database's clock, which stamps the runs: those of this worker
	// since then are this sweep's.
	var since time.Time
	if err := pool.QueryRow(ctx, `SELECT now()`).Scan(&since); err != nil {
		return fmt.Errorf("read database clock: %w", err)
	}
	a.logger.Info("backfilld sweeping once", "worker", c.worker, "concurrency", c.concurrency, "version", buildVersion())
	res, sweepErr := r.SweepNow(ctx)

	// Summarise even after a signal: the runs were recorded regardless.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	sum := onceSummary{SweepResult: res, Worker: c.worker, Runs: map[string]int{}}
	runs, err := r.Client().RunSummarize(qctx, &portfolio.RunListParams{Worker: c.worker, StartedSince: since})
	if err == nil {
		for status, n := range runs.Runs {
			sum.Runs[string(status)] = n
		}
		sum.DaysWritten = runs.DaysWritten
	}
	if err != nil {
		return errors.Join(sweepErr, fmt.Errorf("summarise sweep: %w", err))
	}
	if asJSON {
		if err := writeJSON(a.stdout, sum); err != nil {
			return errors.Join(sweepErr, err)
		}
	} else {
		printSweep(a.stdout, &sum)
	}
	if sweepErr != nil {
		return fmt.Errorf("sweep: %w", sweepErr)
	}
	return nil
}

func printSweep(w io.Writer, s *onceSummary) {
	tw := newTable(w)
	verb := "done"
	if s.Error != "" {
		verb = "FAILED"
	}
	fmt.Fprintf(tw, "Sweep %s in %s (worker %s)\n", verb, dur(s.Duration), s.Worker)
	target := day(s.Target)
	if s.Target.IsZero() {
		target = "none: the benchmark has no close yet"
	}
	fmt.Fprintf(tw, "  target:\t%s\n", target)
	fmt.Fprintf(tw, "  claimed:\t%d portfolios (%d reclaimed from expired leases)\n", s.Claimed, s.Reclaimed)
	statuses := make([]string, 0, len(s.Runs))
	for st := range s.Runs {
		statuses = append(statuses, st)
	}
	slices.Sort(statuses)
	runs := make([]string, 0, len(statuses))
	for _, st := range statuses {
		runs = append(runs, fmt.Sprintf("%d %s", s.Runs[st], st))
	}
	if len(runs) == 0 {
		runs = []string{"none"}
	}
	fmt.Fprintf(tw, "  runs:\t%s\n", strings.Join(runs, ", "))
	fmt.Fprintf(tw, "  days written:\t%d\n", s.DaysWritten)
	if s.Error != "" {
		fmt.Fprintf(tw, "  error:\t%s\n", s.Error)
	}
	tw.Flush()
}

// levelOf returns the lowest level l logs.
func levelOf(l *slog.Logger) slog.Level {
	for _, lv := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if l.Enabled(context.Background(), lv) {
			return lv
		}
	}
	return slog.LevelError
}

// buildVersion is the module version stamped into the binary, or "" (the
// daemon then reports "dev") for a build without one.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "(devel)" {
		return ""
	}
	return bi.Main.Version
}

// shortDuration formats d without trailing zero units: 2m, 1h, 30s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
