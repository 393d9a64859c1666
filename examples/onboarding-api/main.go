// Command onboarding-api serves the seed system's onboarding HTTP API —
// create-portfolio from a CSV upload, the CSV template, calculate,
// batch-status — plus snapshots and factor exposures, over the backfill
// library, with the reconciler running in the same process so that every
// onboarded or requested portfolio gets its analytics.
//
//	go run ./examples/onboarding-api --addr :8080
//
// Without DATABASE_URL it starts an embedded PostgreSQL. Authentication is
// the embedding application's job: the owner comes from the X-User-ID
// header.
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
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/pgserver"
)

// Timeouts of the HTTP server and of shutdown.
const (
	readHeaderTimeout = 10 * time.Second
	// readTimeout and writeTimeout leave a slow client a minute to upload
	// or download up to 10 MiB.
	readTimeout  = 60 * time.Second
	writeTimeout = 60 * time.Second
	idleTimeout  = 120 * time.Second
	// shutdownTimeout bounds the wait for in-flight requests on SIGTERM;
	// stopTimeout then bounds the reconciler's in-flight backfills.
	shutdownTimeout = 15 * time.Second
	stopTimeout     = 30 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "onboarding-api:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("onboarding-api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", or(getenv("ADDR"), ":8080"), "listen address (env ADDR)")
	adminToken := fs.String("admin-token", getenv("BACKFILL_ADMIN_TOKEN"),
		"enable the /api/v1/admin routes for requests sending this bearer token (env BACKFILL_ADMIN_TOKEN); empty: they answer 404")
	dataDir := fs.String("data-dir", or(getenv("BACKFILL_DATA_DIR"), filepath.Join(os.TempDir(), "backfill-onboarding-api", "pgdata")),
		"embedded PostgreSQL data directory, used when DATABASE_URL is unset (env BACKFILL_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	url := getenv("DATABASE_URL")
	if url == "" {
		logger.Info("no DATABASE_URL: starting an embedded PostgreSQL", "data_dir", *dataDir)
	}
	pool, closeDB, err := pgserver.Open(ctx, url, &pgserver.Options{DataDir: *dataDir, Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
		defer cancel()
		if err := closeDB(sctx); err != nil {
			logger.Error("close database", "error", err)
		}
	}()
	if err := portfolio.Migrate(ctx, pool, nil); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	client, err := portfolio.NewClient(pool, &portfolio.Config{Logger: logger})
	if err != nil {
		return err
	}
	rec, err := daemon.New(pool, &daemon.Config{Logger: logger})
	if err != nil {
		return err
	}
	// Not ctx: a signal stops the reconciler through Stop, after the HTTP
	// server, letting in-flight backfills finish.
	if err := rec.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
		defer cancel()
		if err := rec.Stop(sctx); err != nil {
			logger.Error("stop reconciler", "error", err)
		}
	}()

	mux := http.NewServeMux()
	mux.Handle("/", newServer(client, serverOptions{Reconciler: rec, AdminToken: *adminToken, Logger: logger}))
	ops := rec.Handler()
	for _, p := range []string{"GET /metrics", "GET /healthz", "GET /readyz", "GET /status"} {
		mux.Handle(p, ops)
	}
	httpSrv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	logger.Info("onboarding API listening", "addr", ln.Addr().String())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err = httpSrv.Shutdown(sctx)
	if err != nil {
		// Past the deadline: drop the connections still open.
		err = errors.Join(err, httpSrv.Close())
	}
	if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
