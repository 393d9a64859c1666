package pgserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Open returns a connection pool on url or, when url is empty, on an
// embedded server it starts with opts (give opts.DataDir to keep the data
// between runs). The returned close function closes the pool and then
// stops the server Open started, bounded by its context. It is what a
// program does with an optional DATABASE_URL:
//
//	pool, closeDB, err := pgserver.Open(ctx, os.Getenv("DATABASE_URL"), &pgserver.Options{DataDir: dir})
//	if err != nil { … }
//	defer closeDB(context.WithoutCancel(ctx))
func Open(ctx context.Context, url string, opts *Options) (*pgxpool.Pool, func(context.Context) error, error) {
	var srv *Server
	if url == "" {
		var err error
		if srv, err = Start(ctx, opts); err != nil {
			return nil, nil, fmt.Errorf("start embedded PostgreSQL: %w", err)
		}
		url = srv.ConnString("")
	}
	stop := func(ctx context.Context) error {
		if srv == nil {
			return nil
		}
		if err := srv.Stop(ctx); err != nil {
			return fmt.Errorf("stop embedded PostgreSQL: %w", err)
		}
		return nil
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("connect: %w", err), stop(context.WithoutCancel(ctx)))
	}
	return pool, func(ctx context.Context) error {
		pool.Close()
		return stop(ctx)
	}, nil
}
