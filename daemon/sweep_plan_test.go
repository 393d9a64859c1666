package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// The sweep's claim query is answered from backfill_state's indexes, never
// by scanning snapshots or every state row, at 100,000 portfolios of which
// a few are behind.
func TestSweepQueryPlanAt100kPortfolios(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	ctx := context.Background()
	_, err := db.Pool.Exec(ctx, `
		INSERT INTO backfill.portfolios (id, owner_id, name, account_name, account_type, starting_equity, inception_date)
		SELECT gen_random_uuid(), 'o' || i, 'p', 'a', 'taxable', 1000, '2024-01-02' FROM generate_series(1, 100000) i;
		INSERT INTO backfill.backfill_state (portfolio_id, status, snapshot_through, next_attempt_at)
		SELECT id, 'current', '2024-12-31', now() - interval '1 day' FROM backfill.portfolios;
		UPDATE backfill.backfill_state SET snapshot_through = '2024-12-30'
		WHERE portfolio_id IN (SELECT portfolio_id FROM backfill.backfill_state LIMIT 50);
		UPDATE backfill.backfill_state SET snapshot_through = NULL, status = 'pending'
		WHERE portfolio_id IN (SELECT portfolio_id FROM backfill.backfill_state WHERE snapshot_through = '2024-12-31' LIMIT 20);
		ANALYZE backfill.backfill_state`)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(db.Pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+r.cfg.Schema.SQL(claimSQL), target, 100, "explain", 60.0)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	t.Logf("claim plan at 100,000 portfolios:\n%s", plan)
	if strings.Contains(plan, "Seq Scan") {
		t.Errorf("the claim query scans a table sequentially")
	}
	if !strings.Contains(plan, "backfill_state_watermark_idx") {
		t.Errorf("the claim query does not use the watermark index")
	}
	if !strings.Contains(plan, "Update on backfill_state s (actual") || !strings.Contains(plan, "rows=70 loops=1)\n") {
		t.Errorf("the claim did not take exactly the 70 behind portfolios")
	}
}
