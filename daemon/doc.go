// Package daemon is the reconciler that keeps every portfolio analysed up
// to the latest trading day, and the home of the backfilld binary
// (daemon/cmd/backfilld).
//
// A Reconciler sweeps on a cron schedule (default every minute), on every
// NOTIFY of the request channel and on start. A sweep is one indexed query
// for portfolios whose watermark is behind the target day, that were
// explicitly requested or never snapshotted, and that are due and not
// leased; it claims them with FOR UPDATE SKIP LOCKED, writing a lease
// owner, a fresh lease token and an expiry from the database clock, and
// backfills them on a bounded pool with heartbeats. Every write of the
// engine is fenced by the token, so any number of replicas may run and each
// portfolio is backfilled by at most one of them at a time. Failures back
// off exponentially with jitter and quarantine a portfolio after
// MaxAttempts, until Retry.
//
//	r, err := daemon.New(pool, &daemon.Config{Logger: logger})
//	if err := r.Start(ctx); err != nil { … }
//	for _, p := range []string{"/metrics", "/healthz", "/readyz", "/status"} {
//		http.Handle(p, r.Handler())
//	}
//	http.Handle("/", r.OpsPage(nil)) // the operator's web page
//	…
//	r.Stop(shutdownCtx) // finish in-flight work, then release leases
//
// New validates its Config; Config.Validate does the same without a pool,
// for a command line that checks its settings before it opens a database.
//
// Metrics are registered on Config.Registerer (a private registry by
// default) and carry no per-portfolio labels; per-portfolio detail is in
// Status, /status and the logs.
package daemon
