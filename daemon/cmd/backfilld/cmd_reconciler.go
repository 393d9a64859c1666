package main

import (
	"context"

	"github.com/sigmasight/backfill/daemon"
)

// reconciler returns a reconciler on the command's database that never
// sweeps or listens: commands read and act through the library with it.
func (a *app) reconciler(ctx context.Context) (*daemon.Reconciler, error) {
	pool, err := a.db(ctx)
	if err != nil {
		return nil, err
	}
	return daemon.New(pool, &daemon.Config{Schema: a.schema, Now: a.now, Logger: a.logger, DisableListener: true})
}
