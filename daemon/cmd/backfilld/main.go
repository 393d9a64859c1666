// Command backfilld keeps every portfolio's analytics up to the latest
// trading day: it migrates the schema, onboards portfolios from position
// files, imports prices and runs backfills, against a configured PostgreSQL
// (DATABASE_URL) or an embedded one started from the installed binaries.
//
// Run `backfilld help` for the commands, their flags and the exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}
