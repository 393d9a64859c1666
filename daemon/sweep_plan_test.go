package daemon

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// The sweep's claim query is answered from backfill_state's indexes, never
// by scanning snapshots or every state row, and never by sorting every due
// row: at 100,000 portfolios with a few behind, all of them one day behind
// (every close), or all of them a requested backlog (a bulk onboarding).
func TestSweepQueryPlanAt100kPortfolios(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	ctx := context.Background()
	exec := func(sql string) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	seedStates(t, db, 100000, "2024-12-31")
	r, err := New(db.Pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)

	for _, tt := range []struct {
		name, setup string
		n, want     int
	}{
		{"a few behind", `
			UPDATE backfill.backfill_state SET snapshot_through = '2024-12-30'
			WHERE portfolio_id IN (SELECT portfolio_id FROM backfill.backfill_state LIMIT 50);
			UPDATE backfill.backfill_state SET snapshot_through = NULL, status = 'pending'
			WHERE portfolio_id IN (SELECT portfolio_id FROM backfill.backfill_state WHERE snapshot_through = '2024-12-31' LIMIT 20)`,
			100, 70},
		{"all one day behind", `
			UPDATE backfill.backfill_state SET snapshot_through = '2024-12-30', status = 'current'`, 4, 4},
		{"all requested, never snapshotted", `
			UPDATE backfill.backfill_state SET snapshot_through = NULL, status = 'pending',
			       requested_at = now() - random() * interval '1 minute'`, 4, 4},
	} {
		exec(tt.setup)
		exec(`VACUUM ANALYZE backfill.backfill_state`)
		plan := explainClaim(t, db, r, target, tt.n)
		t.Logf("%s: claim plan at 100,000 portfolios:\n%s", tt.name, plan)
		if strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: the claim query scans a table sequentially", tt.name)
		}
		if strings.Contains(plan, "external") {
			t.Errorf("%s: the claim query sorts on disk", tt.name)
		}
		for _, idx := range []string{"backfill_state_requested_idx", "backfill_state_watermark_idx", "backfill_state_retry_idx"} {
			if !strings.Contains(plan, idx) {
				t.Errorf("%s: the claim query does not use %s", tt.name, idx)
			}
		}
		// Every scan stops after at most n rows: nothing reads the due set whole.
		for _, m := range regexp.MustCompile(`Index Scan using backfill_state_\w+ on backfill_state \w* ?\(actual [^)]*rows=(\d+)`).FindAllStringSubmatch(plan, -1) {
			if rows, _ := strconv.Atoi(m[1]); rows > tt.n {
				t.Errorf("%s: an index scan returned %d rows for a claim of %d", tt.name, rows, tt.n)
			}
		}
		if !strings.Contains(plan, "Update on backfill_state s (actual") || !strings.Contains(plan, fmt.Sprintf("rows=%d loops=1)\n", tt.want)) {
			t.Errorf("%s: the claim did not take exactly %d portfolios", tt.name, tt.want)
		}
	}
}

// explainClaim runs the claim of n portfolios under EXPLAIN ANALYZE in a
// transaction it rolls back, and returns the plan.
func explainClaim(t *testing.T, db *portfoliotest.DB, r *Reconciler, target time.Time, n int) string {
	t.Helper()
	return explainQuery(t, db, r.cfg.Schema.SQL(claimSQL), target, n, "explain", 60.0)
}

// seedStates adds n portfolios current through the day through.
func seedStates(t *testing.T, db *portfoliotest.DB, n int, through string) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO backfill.portfolios (id, owner_id, name, account_name, account_type, starting_equity, inception_date)
		SELECT gen_random_uuid(), 'o' || i, 'p', 'a', 'taxable', 1000, '2024-01-02' FROM generate_series(1, $1::int) i`, n); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO backfill.backfill_state (portfolio_id, status, snapshot_through, next_attempt_at)
		SELECT id, 'current', $1::date, now() - interval '1 day' FROM backfill.portfolios`, through); err != nil {
		t.Fatal(err)
	}
}

// explainQuery runs sql under EXPLAIN ANALYZE in a transaction it rolls
// back, and returns the plan.
func explainQuery(t *testing.T, db *portfoliotest.DB, sql string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// Claims come in order: requested, never snapshotted, behind (oldest
// watermark first), then pending or failing; never quarantined, backing
// off or leased portfolios.
func TestClaimOrder(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO backfill.portfolios (id, owner_id, name, account_name, account_type, starting_equity, inception_date)
		SELECT ('00000000-0000-0000-0000-0000000000' || i)::uuid, 'o', i, i, 'taxable', 1000, '2024-01-02'
		FROM unnest(ARRAY['0a', '0b', '0c', '0d', '0e', '0f', '10', '11']) i;
		INSERT INTO backfill.backfill_state (portfolio_id, status, snapshot_through, requested_at, next_attempt_at,
		                                     lease_owner, lease_token, lease_expires_at) VALUES
		('00000000-0000-0000-0000-00000000000e', 'failing', '2024-12-31', NULL, now() - interval '1 hour', NULL, NULL, NULL),
		('00000000-0000-0000-0000-00000000000d', 'current', '2024-12-30', NULL, now() - interval '1 hour', NULL, NULL, NULL),
		('00000000-0000-0000-0000-00000000000c', 'current', '2024-12-27', NULL, now() - interval '1 hour', NULL, NULL, NULL),
		('00000000-0000-0000-0000-00000000000b', 'pending', NULL, NULL, now() - interval '1 hour', NULL, NULL, NULL),
		('00000000-0000-0000-0000-00000000000a', 'current', '2024-12-31', now(), now() - interval '1 hour', NULL, NULL, NULL),
		('00000000-0000-0000-0000-00000000000f', 'quarantined', NULL, now(), now() - interval '1 hour', NULL, NULL, NULL),
		('00000000-0000-0000-0000-000000000010', 'failing', '2024-12-20', NULL, now() + interval '1 hour', NULL, NULL, NULL),
		('00000000-0000-0000-0000-000000000011', 'running', '2024-12-20', now(), now() - interval '1 hour',
		 'peer', gen_random_uuid(), now() + interval '1 minute')`); err != nil {
		t.Fatal(err)
	}
	r, err := New(db.Pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	var got []string
	for range 6 {
		claims, err := r.claim(ctx, target, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range claims {
			got = append(got, c.portfolioID.String()[34:])
		}
	}
	if want := []string{"0a", "0b", "0c", "0d", "0e"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("claimed %v, want %v", got, want)
	}
}
