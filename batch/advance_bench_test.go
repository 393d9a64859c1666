package batch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// BenchmarkAdvance1000x30: the nightly advance of 1,000 portfolios of 30
// positions, each current through the session before the last (260
// sessions of history), to the last session, with risk analytics: one
// portfolio at a time (Backfill, 4 concurrent, the reconciler's default)
// and batched (Advance, 4 batches of 250 at once), in the same run, from
// the same state and with equally warm caches. It reports each path's
// portfolios/s and the per-portfolio/batched time ratio.
//
//	go test ./batch -run '^$' -bench Advance -benchtime 1x
func BenchmarkAdvance1000x30(b *testing.B) {
	const portfolios, positions, sessions, workers = 1000, 30, 260, 4
	ctx := context.Background()
	w := newBenchWorld(b, sessions, 300, portfolios, positions)
	last := w.sessions[len(w.sessions)-1]
	prev := w.sessions[len(w.sessions)-2]
	e := w.engine
	// Untimed: every portfolio current through prev.
	w.each(b, workers, func(id uuid.UUID) error {
		_, err := e.Backfill(ctx, id, &BackfillOpts{Through: prev})
		return err
	})
	w.exec(b, `CREATE TABLE backfill.bench_rolling AS SELECT * FROM backfill.portfolio_rolling_state`)
	rewind := func() {
		w.exec(b, `DELETE FROM backfill.portfolio_snapshots WHERE snapshot_date > $1`, prev)
		w.exec(b, `DELETE FROM backfill.correlation_sets WHERE as_of_date > $1`, prev)
		w.exec(b, `DELETE FROM backfill.portfolio_rolling_state`)
		w.exec(b, `INSERT INTO backfill.portfolio_rolling_state SELECT * FROM backfill.bench_rolling`)
		w.exec(b, `UPDATE backfill.backfill_state SET snapshot_through = $1, status = 'current', requested_at = NULL`, prev)
		w.exec(b, `VACUUM ANALYZE backfill.backfill_state, backfill.portfolio_rolling_state`)
	}
	batched := func() time.Duration {
		t0 := time.Now()
		chunks := make(chan []uuid.UUID, workers)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for ids := range chunks {
					claims := w.leaseAll(b, ids)
					for _, r := range e.Advance(ctx, claims, nil) {
						if r.Err != nil || r.Result.DaysWritten != 1 {
							b.Errorf("advance %s: %d days, %v", r.Result.PortfolioID, r.Result.DaysWritten, r.Err)
						}
					}
				}
			})
		}
		n := portfolios / workers
		for lo := 0; lo < portfolios; lo += n {
			chunks <- w.portfolios[lo:min(lo+n, portfolios)]
		}
		close(chunks)
		wg.Wait()
		return time.Since(t0)
	}
	single := func() time.Duration {
		t0 := time.Now()
		w.each(b, workers, func(id uuid.UUID) error {
			res, err := e.Backfill(ctx, id, nil)
			if err == nil && res.DaysWritten != 1 {
				b.Errorf("backfill %s wrote %d days", id, res.DaysWritten)
			}
			return err
		})
		return time.Since(t0)
	}
	// Warm the caches with the last day's betas and series, as a running
	// daemon has them after the first portfolio of the night.
	batched()
	var singleTime, batchedTime time.Duration
	for b.Loop() {
		b.StopTimer()
		rewind()
		b.StartTimer()
		singleTime += single()
		b.StopTimer()
		rewind()
		b.StartTimer()
		batchedTime += batched()
	}
	n := float64(b.N)
	if got := w.count(b, `SELECT count(*) FROM backfill.backfill_state WHERE snapshot_through = $1 AND status = 'current'`, last); got != portfolios {
		b.Fatalf("%d portfolios current through %s", got, last.Format(time.DateOnly))
	}
	b.ReportMetric(portfolios*n/singleTime.Seconds(), "single-portfolios/s")
	b.ReportMetric(portfolios*n/batchedTime.Seconds(), "batched-portfolios/s")
	b.ReportMetric(singleTime.Seconds()/batchedTime.Seconds(), "single/batched")
}

// each runs f for every portfolio with workers goroutines.
func (w *benchWorld) each(b *testing.B, workers int, f func(uuid.UUID) error) {
	b.Helper()
	ids := make(chan uuid.UUID)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for id := range ids {
				if err := f(id); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, id := range w.portfolios {
		ids <- id
	}
	close(ids)
	wg.Wait()
}

func (w *benchWorld) exec(b *testing.B, sql string, args ...any) {
	b.Helper()
	if _, err := w.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		b.Fatal(err)
	}
}

func (w *benchWorld) count(b *testing.B, sql string, args ...any) int {
	b.Helper()
	var n int
	if err := w.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// leaseAll takes the portfolios' leases in one statement, as the
// reconciler's claim does.
func (w *benchWorld) leaseAll(b *testing.B, ids []uuid.UUID) []AdvanceClaim {
	rows, err := w.db.Pool.Query(context.Background(), `
		UPDATE backfill.backfill_state SET lease_owner = 'bench', lease_token = gen_random_uuid(),
		       lease_expires_at = now() + interval '2 minutes', status = 'running'
		WHERE portfolio_id = ANY($1) RETURNING portfolio_id, lease_token`, ids)
	if err != nil {
		b.Error(err)
		return nil
	}
	claims, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AdvanceClaim, error) {
		var c AdvanceClaim
		return c, r.Scan(&c.PortfolioID, &c.LeaseToken)
	})
	if err != nil {
		b.Error(err)
	}
	return claims
}
