// Command embedding is a service that runs the backfill reconciler inside
// its own process: the application's Prometheus registry, slog logger and
// HTTP mux, with the reconciler's endpoints mounted under /backfill/ next
// to the application's own, and a graceful shutdown that stops them in
// order.
//
//	go run ./examples/embedding
//	curl localhost:8081/hello
//	curl localhost:8081/backfill/status
//
// Without DATABASE_URL it starts an embedded PostgreSQL.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/pgserver"
)

// Shutdown deadlines, in the order they apply.
const (
	// httpShutdownTimeout bounds the wait for in-flight requests.
	httpShutdownTimeout = 10 * time.Second
	// stopGrace is how long running backfills may finish before they are
	// cancelled; they record their runs and release their leases either way.
	stopGrace = 30 * time.Second
	// pgStopTimeout bounds the embedded PostgreSQL's shutdown.
	pgStopTimeout = 30 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embedding:", err)
		os.Exit(1)
	}
}

// run serves until ctx is cancelled, then shuts down: the HTTP server, the
// reconciler, the pool, the embedded PostgreSQL. It reads ADDR (default
// localhost:8081), DATABASE_URL and BACKFILL_DATA_DIR, and logs JSON to
// stdout.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) (err error) {
	logger := slog.New(slog.NewJSONHandler(stdout, nil))
	addr := cmp.Or(getenv("ADDR"), "localhost:8081")

	url := getenv("DATABASE_URL")
	dir := cmp.Or(getenv("BACKFILL_DATA_DIR"), filepath.Join(os.TempDir(), "backfill-embedding", "pgdata"))
	if url == "" {
		logger.Info("no DATABASE_URL: starting an embedded PostgreSQL", "data_dir", dir)
	}
	pool, closeDB, err := pgserver.Open(ctx, url, &pgserver.Options{DataDir: dir, Logger: logger})
	if err != nil {
		return err
	}
	defer func() { // last: after the reconciler, which uses the pool until it has stopped
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pgStopTimeout)
		defer cancel()
		if cerr := closeDB(sctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	if err := portfolio.Migrate(ctx, pool, nil); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	// The application's registry, with the runtime collectors an
	// application usually has; the reconciler adds its backfill_* metrics
	// and serves the lot on /backfill/metrics.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	engine, err := batch.NewEngine(pool, &batch.Config{Logger: logger})
	if err != nil {
		return err
	}
	rec, err := daemon.New(pool, &daemon.Config{
		Engine:     engine,
		Registerer: reg,
		Gatherer:   reg,
		Logger:     logger,
	})
	if err != nil {
		return err
	}
	// Not ctx: cancelling Start's context stops abruptly; the deferred
	// Stop lets running backfills finish instead.
	if err := rec.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start reconciler: %w", err)
	}
	defer func() { // after the HTTP server, before the pool
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
		defer cancel()
		if serr := rec.Stop(sctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop reconciler: %w", serr))
		}
	}()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "hello from the application\n") //nolint:errcheck // client gone
	})
	// /backfill/metrics, /backfill/healthz, /backfill/readyz, /backfill/status.
	mux.Handle("/backfill/", http.StripPrefix("/backfill", rec.Handler()))
	httpSrv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		// Past the deadline: drop the connections still open.
		return fmt.Errorf("shutdown HTTP server: %w", errors.Join(err, httpSrv.Close()))
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
