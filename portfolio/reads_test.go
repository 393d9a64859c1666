package portfolio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func onboarded(t *testing.T, c *portfolio.Client, account string) *portfolio.OnboardResult {
	t.Helper()
	res, err := c.Onboard(context.Background(), request(account, sampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestPortfolioReads(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	a := onboarded(t, c, "A")
	onboarded(t, c, "B")

	p, err := c.PortfolioGet(ctx, a.PortfolioID)
	if err != nil || p.OwnerID != "owner-1" || p.AccountName != "A" || p.State != "pending" || p.SnapshotThrough != nil ||
		p.Positions != a.PositionsImported || p.StartingEquity.String() != "100000" {
		t.Fatalf("PortfolioGet = %+v, %v", p, err)
	}
	if _, err := c.PortfolioGetOwned(ctx, "someone-else", a.PortfolioID); !errors.Is(err, portfolio.ErrNotFound) {
		t.Errorf("another owner's portfolio: %v", err)
	}
	if _, err := c.PortfolioGet(ctx, uuid.New()); !errors.Is(err, portfolio.ErrNotFound) {
		t.Errorf("unknown portfolio: %v", err)
	}
	list, err := c.PortfolioList(ctx, &portfolio.PortfolioListParams{OwnerID: "owner-1"})
	if err != nil || len(list) != 2 || list[0].AccountName != "A" {
		t.Fatalf("PortfolioList = %+v, %v", list, err)
	}
	if err := c.DeletePortfolio(ctx, a.PortfolioID); err != nil {
		t.Fatal(err)
	}
	list, _ = c.PortfolioList(ctx, &portfolio.PortfolioListParams{OwnerID: "owner-1"})
	all, _ := c.PortfolioList(ctx, &portfolio.PortfolioListParams{OwnerID: "owner-1", IncludeDeleted: true})
	if len(list) != 1 || len(all) != 2 {
		t.Errorf("after delete: %d live, %d with deleted", len(list), len(all))
	}
	if _, err := c.PortfolioGetOwned(ctx, "owner-1", a.PortfolioID); !errors.Is(err, portfolio.ErrNotFound) {
		t.Errorf("deleted portfolio: %v", err)
	}
}

func TestRunListPages(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	var ids []uuid.UUID
	for _, acct := range []string{"A", "B", "C", "D", "E"} {
		ids = append(ids, onboarded(t, c, acct).RunID)
	}
	var got []uuid.UUID
	cursor := ""
	for pages := 0; ; pages++ {
		res, err := c.RunList(ctx, &portfolio.RunListParams{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Runs {
			got = append(got, r.ID)
		}
		if res.Next == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
		cursor = res.Next
	}
	if len(got) != 5 {
		t.Fatalf("runs %v", got)
	}
	for i := range got { // newest first
		if got[i] != ids[len(ids)-1-i] {
			t.Errorf("run %d = %s, want %s", i, got[i], ids[len(ids)-1-i])
		}
	}
	run, err := c.RunGet(ctx, uuid.Nil, ids[0])
	if err != nil || run.Status != portfolio.RunPending || run.Trigger != portfolio.TriggerOnboarding {
		t.Errorf("RunGet = %+v, %v", run, err)
	}
	if _, err := c.RunGet(ctx, uuid.New(), ids[0]); !errors.Is(err, portfolio.ErrRunNotFound) {
		t.Errorf("RunGet of another portfolio: %v", err)
	}
	for _, p := range []*portfolio.RunListParams{{Cursor: "junk"}, {Cursor: "eyJ4IjoxfQ"}} {
		if _, err := c.RunList(ctx, p); !errors.Is(err, portfolio.ErrInvalidCursor) {
			t.Errorf("cursor %q: %v", p.Cursor, err)
		}
	}
	for _, n := range []int{-1, portfolio.MaxRunListLimit + 1} {
		if _, err := c.RunList(ctx, &portfolio.RunListParams{Limit: n}); err == nil {
			t.Errorf("limit %d accepted", n)
		}
	}
	sum, err := c.RunSummarize(ctx, nil)
	if err != nil || sum.Runs[portfolio.RunPending] != 5 {
		t.Errorf("RunSummarize = %+v, %v", sum, err)
	}
}

// flowDates reads the portfolio's flows as "date amount" lines.
func flowDates(t *testing.T, c *portfolio.Client, id uuid.UUID) []string {
	t.Helper()
	flows, err := c.FlowList(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range flows {
		out = append(out, f.Date.Format(time.DateOnly)+" "+f.Amount.String())
	}
	return out
}

func TestFlowChangesRejectBadInput(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	a := onboarded(t, c, "A")
	id, err := c.RecordCapitalFlow(ctx, a.PortfolioID, portfolio.CapitalFlow{Date: day("2024-03-01"), Amount: "1000.50"})
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]portfolio.CapitalFlow{
		"zero":             {Date: day("2024-03-01"), Amount: "0"},
		"exponent":         {Date: day("2024-03-01"), Amount: "1e3"},
		"too precise":      {Date: day("2024-03-01"), Amount: "1.00001"},
		"no date":          {Amount: "5"},
		"before inception": {Date: day("2020-01-02"), Amount: "5"},
	} {
		_, err := c.FlowUpdate(ctx, a.PortfolioID, id, f)
		var verr *portfolio.ValidationError
		if !errors.As(err, &verr) {
			t.Errorf("%s: FlowUpdate error %v, want a ValidationError", name, err)
		}
	}
	if _, err := c.FlowUpdate(ctx, a.PortfolioID, uuid.New(), portfolio.CapitalFlow{Date: day("2024-03-01"), Amount: "5"}); !errors.Is(err, portfolio.ErrFlowNotFound) {
		t.Errorf("unknown flow: %v", err)
	}
	if err := c.FlowDelete(ctx, a.PortfolioID, uuid.New()); !errors.Is(err, portfolio.ErrFlowNotFound) {
		t.Errorf("unknown flow: %v", err)
	}
	if err := c.FlowDelete(ctx, uuid.New(), id); !errors.Is(err, portfolio.ErrNotFound) {
		t.Errorf("unknown portfolio: %v", err)
	}
	if got := flowDates(t, c, a.PortfolioID); len(got) != 1 || got[0] != "2024-03-01 1000.5" {
		t.Errorf("after refused changes: %v", got)
	}
	f, err := c.FlowUpdate(ctx, a.PortfolioID, id, portfolio.CapitalFlow{Date: day("2024-02-15"), Amount: "-250"})
	if err != nil || f.Amount.String() != "-250" {
		t.Fatalf("FlowUpdate = %+v, %v", f, err)
	}
	if err := c.FlowDelete(ctx, a.PortfolioID, id); err != nil {
		t.Fatal(err)
	}
	if got := flowDates(t, c, a.PortfolioID); len(got) != 0 {
		t.Errorf("after delete: %v", got)
	}
}

func TestClosePositionRejectsBadInput(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	a := onboarded(t, c, "A")
	ps, err := c.PositionList(ctx, a.PortfolioID)
	if err != nil || len(ps) == 0 {
		t.Fatal(ps, err)
	}
	var open *portfolio.StoredPosition
	for _, p := range ps {
		if p.ExitDate == nil && p.Class == "PUBLIC" && !p.IsCash {
			open = p
			break
		}
	}
	for name, tc := range map[string]struct {
		pc   portfolio.PositionClose
		code portfolio.Code
	}{
		"before entry": {portfolio.PositionClose{ExitDate: open.EntryDate.AddDate(0, 0, -1), ExitPrice: "10"}, portfolio.CodePos018},
		"no date":      {portfolio.PositionClose{ExitPrice: "10"}, portfolio.CodePos018},
		"future":       {portfolio.PositionClose{ExitDate: fixedNow().AddDate(0, 0, 2), ExitPrice: "10"}, portfolio.CodePos014},
		"not a number": {portfolio.PositionClose{ExitDate: open.EntryDate, ExitPrice: "ten"}, portfolio.CodePos009},
		"negative":     {portfolio.PositionClose{ExitDate: open.EntryDate, ExitPrice: "-1"}, portfolio.CodePos010},
		"too precise":  {portfolio.PositionClose{ExitDate: open.EntryDate, ExitPrice: "1.00001"}, portfolio.CodePos011},
	} {
		_, err := c.ClosePosition(ctx, a.PortfolioID, open.ID, tc.pc)
		var verr *portfolio.ValidationError
		if !errors.As(err, &verr) || verr.Code != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
	if _, err := c.ClosePosition(ctx, a.PortfolioID, uuid.New(), portfolio.PositionClose{ExitDate: open.EntryDate, ExitPrice: "1"}); !errors.Is(err, portfolio.ErrPositionNotFound) {
		t.Errorf("unknown position: %v", err)
	}
	after, _ := c.PositionList(ctx, a.PortfolioID)
	for _, p := range after {
		if p.ID == open.ID && p.ExitDate != nil {
			t.Errorf("a refused close was written: %+v", p)
		}
	}
	exit := open.EntryDate.AddDate(0, 0, 7)
	closed, err := c.ClosePosition(ctx, a.PortfolioID, open.ID, portfolio.PositionClose{ExitDate: exit, ExitPrice: "99.5"})
	if err != nil || !closed.ExitDate.Equal(exit) || closed.ExitPrice.String() != "99.5" || closed.HeldOn(exit) || !closed.HeldOn(exit.AddDate(0, 0, -1)) {
		t.Errorf("ClosePosition = %+v, %v", closed, err)
	}
}

func TestAnalyticsRowsUnavailable(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	a := onboarded(t, c, "A")
	rows, err := c.AnalyticsRows(ctx, portfolio.RelationStressTests, a.PortfolioID, day("2024-03-01"))
	if err != nil || len(rows) != 0 {
		t.Errorf("stress tests of a day not computed: %v, %v", rows, err)
	}
	// A schema without the relation (an older one) reads as unavailable.
	if _, err := db.Pool.Exec(ctx, `DROP VIEW backfill.stress_test_results`); err != nil {
		t.Fatal(err)
	}
	_, err = c.AnalyticsRows(ctx, portfolio.RelationStressTests, a.PortfolioID, day("2024-03-01"))
	var ua *portfolio.UnavailableError
	if !errors.As(err, &ua) || ua.Reason == "" {
		t.Errorf("missing relation: %v", err)
	}
	if _, err := c.AnalyticsRows(ctx, "positions", a.PortfolioID, day("2024-03-01")); err == nil || errors.As(err, &ua) {
		t.Errorf("a relation outside the list: %v", err)
	}
	if _, err := c.SnapshotGet(ctx, a.PortfolioID, time.Time{}); !errors.Is(err, portfolio.ErrNotComputed) {
		t.Errorf("SnapshotGet before any backfill: %v", err)
	}
	if _, err := c.FactorExposureList(ctx, a.PortfolioID, day("2024-03-01")); !errors.Is(err, portfolio.ErrNotComputed) {
		t.Errorf("FactorExposureList before any backfill: %v", err)
	}
}
