package portfolio

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Totals sums up the whole schema: what a benchmark or an operator's
// capacity check reads after a run of backfills.
type Totals struct {
	FirstOnboarding, LastOnboarding *time.Time
	// FirstRunStarted is the earliest start of any run; LastStateChange
	// the latest update of any portfolio's backfill state.
	FirstRunStarted, LastStateChange *time.Time
	SnapshotRows                     int64
	// BackfilledOnce counts portfolios with exactly one completed run.
	BackfilledOnce int
	// Runs counts runs by status and worker, with the days they wrote.
	Runs []RunCount
	// Current counts portfolios current and not leased; Failing those
	// failing or quarantined.
	Current, Failing int
	// DatabaseBytes, SchemaBytes and SnapshotTableBytes are on-disk sizes
	// (with indexes and TOAST).
	DatabaseBytes, SchemaBytes, SnapshotTableBytes int64
}

// RunCount is a number of runs of one status and worker.
type RunCount struct {
	Status      RunStatus
	Worker      string
	Runs        int
	DaysWritten int64
}

// StateTotals returns only Current and Failing of Totals: cheap enough to
// poll.
func (c *Client) StateTotals(ctx context.Context) (current, failing int, err error) {
	err = c.db.QueryRow(ctx, c.cfg.Schema.SQL(`
		SELECT count(*) FILTER (WHERE status = `+StateCurrent.Literal()+` AND lease_token IS NULL),
		       count(*) FILTER (WHERE status IN (`+Literals(StateFailing, StateQuarantined)+`))
		FROM {schema}.backfill_state`)).Scan(&current, &failing)
	if err != nil {
		return 0, 0, fmt.Errorf("state totals: %w", err)
	}
	return current, failing, nil
}

// Totals reads the schema's totals. It scans whole tables: for
// benchmarks and checks, not for a hot path.
func (c *Client) Totals(ctx context.Context) (*Totals, error) {
	t := &Totals{}
	err := c.db.QueryRow(ctx, c.cfg.Schema.SQL(`
		SELECT (SELECT min(created_at) FROM {schema}.portfolios),
		       (SELECT max(created_at) FROM {schema}.portfolios),
		       (SELECT min(started_at) FROM {schema}.batch_runs),
		       (SELECT max(updated_at) FROM {schema}.backfill_state),
		       (SELECT count(*) FROM {schema}.portfolio_snapshots),
		       (SELECT count(*) FROM (
		           SELECT p.id FROM {schema}.portfolios p
		           JOIN {schema}.batch_runs r ON r.portfolio_id = p.id AND r.status = `+RunCompleted.Literal()+`
		           GROUP BY p.id HAVING count(*) = 1) once)`)).Scan(&t.FirstOnboarding, &t.LastOnboarding,
		&t.FirstRunStarted, &t.LastStateChange, &t.SnapshotRows, &t.BackfilledOnce)
	if err != nil {
		return nil, fmt.Errorf("totals: %w", err)
	}
	rows, err := c.db.Query(ctx, c.cfg.Schema.SQL(`
		SELECT status, coalesce(worker, ''), count(*), coalesce(sum(days_written), 0)
		FROM {schema}.batch_runs GROUP BY 1, 2 ORDER BY 1, 2`))
	if err != nil {
		return nil, fmt.Errorf("totals: runs: %w", err)
	}
	var r RunCount
	if _, err := pgx.ForEachRow(rows, []any{&r.Status, &r.Worker, &r.Runs, &r.DaysWritten}, func() error {
		t.Runs = append(t.Runs, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("totals: runs: %w", err)
	}
	if err := c.db.QueryRow(ctx, `
		SELECT pg_database_size(current_database()),
		       coalesce((SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
		                 JOIN pg_namespace n ON n.oid = c.relnamespace
		                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm')), 0)::bigint,
		       coalesce(pg_total_relation_size(to_regclass($2::text)), 0)`,
		c.cfg.Schema.Name(), c.cfg.Schema.Quoted()+".portfolio_snapshots").
		Scan(&t.DatabaseBytes, &t.SchemaBytes, &t.SnapshotTableBytes); err != nil {
		return nil, fmt.Errorf("totals: sizes: %w", err)
	}
	if t.Current, t.Failing, err = c.StateTotals(ctx); err != nil {
		return nil, err
	}
	return t, nil
}
