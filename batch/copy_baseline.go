package batch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/portfolio"
)

// SnapshotCopyBaseline COPYs the snapshot table's rows out to a temporary file,
// empties the table and COPYs the same bytes back in one stream, returning
// the time of that COPY FROM: the cost of just storing the rows the engine
// wrote, in the binary format it writes them in, for benchmarks to compare backfills against. want is the number
// of rows expected. The file is removed before it returns.
func SnapshotCopyBaseline(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, want int64) (_ time.Duration, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	// Every column: they are the ones the engine writes.
	table := schema.Quoted() + ".portfolio_snapshots"
	spool, err := os.CreateTemp("", "backfilld-bench-*.copy")
	if err != nil {
		return 0, fmt.Errorf("COPY baseline: %w", err)
	}
	defer func() {
		err = errors.Join(err, spool.Close(), os.Remove(spool.Name()))
	}()
	out := bufio.NewWriterSize(spool, 1<<20)
	if _, err := conn.Conn().PgConn().CopyTo(ctx, out, `COPY `+table+` TO STDOUT (FORMAT binary)`); err != nil {
		return 0, fmt.Errorf("COPY snapshots out: %w", err)
	}
	if err := out.Flush(); err != nil {
		return 0, fmt.Errorf("COPY baseline: %w", err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("COPY baseline: %w", err)
	}
	if _, err := conn.Exec(ctx, `TRUNCATE `+table); err != nil {
		return 0, fmt.Errorf("truncate snapshots: %w", err)
	}
	t := time.Now()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, bufio.NewReaderSize(spool, 1<<20), `COPY `+table+` FROM STDIN (FORMAT binary)`)
	elapsed := time.Since(t)
	if err != nil {
		return 0, fmt.Errorf("COPY snapshots in: %w", err)
	}
	if tag.RowsAffected() != want {
		return 0, fmt.Errorf("COPY snapshots in: %d rows, want %d", tag.RowsAffected(), want)
	}
	return elapsed, nil
}
