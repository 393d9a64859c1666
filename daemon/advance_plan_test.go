package daemon

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// The batched advance's claim at 100,000 portfolios all one session behind
// (every evening): one range of the watermark index that stops after the
// batch, no sequential scan.
func TestAdvanceClaimPlanAt100kPortfolios(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	ctx := context.Background()
	seedStates(t, db, 100000, "2024-12-30")
	if _, err := db.Pool.Exec(ctx, `VACUUM ANALYZE backfill.backfill_state`); err != nil {
		t.Fatal(err)
	}
	r, err := New(db.Pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = DefaultAdvanceBatch
	plan := explainQuery(t, db, r.cfg.Schema.SQL(claimAdvanceSQL), time.Date(2024, 12, 30, 0, 0, 0, 0, time.UTC), n, "explain", 60.0)
	t.Logf("advance claim plan at 100,000 portfolios:\n%s", plan)
	if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "backfill_state_watermark_idx") {
		t.Errorf("the advance claim does not read one range of the watermark index")
	}
	for _, m := range regexp.MustCompile(`Index Scan using backfill_state_\w+ on backfill_state \w* ?\(actual [^)]*rows=(\d+)`).FindAllStringSubmatch(plan, -1) {
		if got, _ := strconv.Atoi(m[1]); got > n {
			t.Errorf("an index scan returned %d rows for a claim of %d", got, n)
		}
	}
	if !strings.Contains(plan, fmt.Sprintf("rows=%d loops=1)\n", n)) {
		t.Errorf("the claim did not take %d portfolios", n)
	}
}
