package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// The claim's plan at 10,000 and 20,000 state rows: index scans with a
// limit, no sequential scan, and about the same buffers.
func TestPlans(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	opts := DefaultOptions()
	opts.Portfolios, opts.Mode, opts.Seed = 20_000, ModePlans, 34
	rep, err := Run(context.Background(), db.Pool, opts)
	if rep != nil {
		for _, fig := range rep.PlansReport.Plans {
			t.Logf("%d portfolios, %s:\n%s", fig.Portfolios, fig.Situation, fig.Plan)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	p := rep.PlansReport
	if len(p.Plans) != 2*len(planSituations) || p.StatusMS[10_000] <= 0 || p.StatusMS[20_000] <= 0 {
		t.Fatalf("plans report %+v", p)
	}
	want := map[string]int{planSituations[0].name: 0, planSituations[1].name: p.ClaimSize, planSituations[2].name: min(70, p.ClaimSize)}
	for _, fig := range p.Plans {
		if fig.Claimed != want[fig.Situation] || fig.Buffers <= 0 || fig.SeqScan || !strings.Contains(fig.Plan, "backfill_state_watermark_idx") {
			t.Errorf("%d portfolios, %s: claimed %d (want %d), %d buffers, seq scan %v:\n%s",
				fig.Portfolios, fig.Situation, fig.Claimed, want[fig.Situation], fig.Buffers, fig.SeqScan, fig.Plan)
		}
	}
	var table bytes.Buffer
	Print(&table, rep)
	if !strings.Contains(table.String(), "The claim at 20000 portfolios, all one day behind") {
		t.Errorf("table:\n%s", table.String())
	}
	// A sequential scan, or buffers growing with the table, fail the mode.
	p.Plans[0].SeqScan = true
	p.Plans[len(p.Plans)-1].Buffers = 10*p.Plans[len(planSituations)-1].Buffers + 100
	if err := p.problems(); err == nil || !strings.Contains(err.Error(), "a sequential scan") || !strings.Contains(err.Error(), "against") {
		t.Errorf("problems() = %v", err)
	}
}
