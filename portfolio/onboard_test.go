package portfolio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// fixedNow is the validation clock of these tests.
var fixedNow = func() time.Time { return time.Date(2025, 11, 15, 12, 0, 0, 0, time.UTC) }

const sampleCSV = `Symbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype,Underlying Symbol,Strike Price,Expiration Date,Option Type,Exit Date,Exit Price Per Share
# a comment
AAPL,100,158.00,2024-01-15,PUBLIC,STOCK,,,,,,
SHOP,-25,62.50,2024-02-10,PUBLIC,STOCK,,,,,,
,10,8.75,2024-02-01,OPTIONS,,DIA,395.00,2024-08-16,CALL,,
CASH_USD,5000,1,2024-01-02,,,,,,,,
TSLA,50,185.00,2023-12-01,PUBLIC,STOCK,,,,2024-01-15,215.00
`

func newClient(t testing.TB, db *portfoliotest.DB) *portfolio.Client {
	t.Helper()
	c, err := portfolio.NewClient(db.Pool, &portfolio.Config{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func request(account, csv string) *portfolio.OnboardRequest {
	return &portfolio.OnboardRequest{
		OwnerID:        "owner-1",
		PortfolioName:  "Growth",
		AccountName:    account,
		AccountType:    "taxable",
		StartingEquity: "100000.00",
		Description:    "test portfolio",
		CSV:            strings.NewReader(csv),
	}
}

// tableCounts returns the number of rows in every table of the schema.
func tableCounts(t testing.TB, db *portfoliotest.DB) map[string]int {
	t.Helper()
	ctx := context.Background()
	counts := map[string]int{}
	for _, table := range []string{"portfolios", "positions", "capital_flows", "batch_runs", "backfill_state", "portfolio_snapshots", "factor_exposures"} {
		var n int
		if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM backfill."+table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		counts[table] = n
	}
	return counts
}

func assertNoRows(t testing.TB, db *portfoliotest.DB) {
	t.Helper()
	for table, n := range tableCounts(t, db) {
		if n != 0 {
			t.Errorf("table %s has %d rows, want none", table, n)
		}
	}
}

func TestOnboardWritesEverythingInOneGo(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()

	res, err := c.Onboard(ctx, request("Brokerage", sampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	if res.PositionsImported != 5 || res.TotalPositions != 5 || res.PositionsFailed != 0 {
		t.Errorf("counts = %d/%d/%d, want 5/5/0", res.PositionsImported, res.TotalPositions, res.PositionsFailed)
	}
	if res.RunID == uuid.Nil {
		t.Error("no run id")
	}
	if want := "/api/v1/portfolios/" + res.PortfolioID.String() + "/calculate"; res.NextStep.Endpoint != want || res.NextStep.Action != "calculate" {
		t.Errorf("next step = %+v, want calculate at %s", res.NextStep, want)
	}
	if got := res.InceptionDate.Format(time.DateOnly); got != "2023-12-01" {
		t.Errorf("inception = %s, want the earliest entry date 2023-12-01", got)
	}

	var equity, owner, account string
	var inception time.Time
	err = db.Pool.QueryRow(ctx, `SELECT starting_equity::text, owner_id, account_name, inception_date
		FROM backfill.portfolios WHERE id = $1`, res.PortfolioID).Scan(&equity, &owner, &account, &inception)
	if err != nil {
		t.Fatal(err)
	}
	if equity != "100000.0000" || owner != "owner-1" || account != "Brokerage" {
		t.Errorf("portfolio row = %s %s %s", equity, owner, account)
	}

	type pos struct{ symbol, typ, class, qty, price, exitPrice string }
	rows, _ := db.Pool.Query(ctx, `SELECT symbol, position_type, investment_class, quantity::text, entry_price::text,
		coalesce(exit_price::text, '') FROM backfill.positions WHERE portfolio_id = $1 ORDER BY source_row`, res.PortfolioID)
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pos, error) {
		var p pos
		err := r.Scan(&p.symbol, &p.typ, &p.class, &p.qty, &p.price, &p.exitPrice)
		return p, err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []pos{
		{"AAPL", "LONG", "PUBLIC", "100.000000", "158.0000", ""},
		{"SHOP", "SHORT", "PUBLIC", "-25.000000", "62.5000", ""},
		{"DIA_C395_20240816", "LC", "OPTIONS", "10.000000", "8.7500", ""},
		{"CASH_USD", "LONG", "PRIVATE", "5000.000000", "1.0000", ""},
		{"TSLA", "LONG", "PUBLIC", "50.000000", "185.0000", "215.0000"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("positions:\n got %v\nwant %v", got, want)
	}

	var stateStatus string
	var requested bool
	err = db.Pool.QueryRow(ctx, `SELECT status, requested_at IS NOT NULL FROM backfill.backfill_state WHERE portfolio_id = $1`,
		res.PortfolioID).Scan(&stateStatus, &requested)
	if err != nil || stateStatus != "pending" || !requested {
		t.Errorf("backfill_state = %q requested=%v err=%v, want pending and requested", stateStatus, requested, err)
	}
	var runStatus, trigger string
	err = db.Pool.QueryRow(ctx, `SELECT status, trigger FROM backfill.batch_runs WHERE id = $1`, res.RunID).Scan(&runStatus, &trigger)
	if err != nil || runStatus != "pending" || trigger != "onboarding" {
		t.Errorf("batch run = %q %q err=%v, want pending onboarding", runStatus, trigger, err)
	}
}

// Every value validation accepts must reach the database unrounded.
func TestOnboardStoresLimitsExactly(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	csv := "Symbol,Quantity,Entry Price Per Share,Entry Date,Exit Date,Exit Price Per Share\n" +
		strings.Repeat("X", 100) + ",-999999999999999999.999999,9999999999999999.9999,1925-11-16,2025-11-15,0.0001\n"
	req := request("Limits", csv)
	req.StartingEquity = "1000000000000"
	req.PortfolioName = strings.Repeat("é", portfolio.MaxPortfolioNameLength)
	req.AccountName = strings.Repeat("a", portfolio.MaxAccountNameLength)
	req.Description = strings.Repeat("d", portfolio.MaxDescriptionLength)
	res, err := c.Onboard(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var qty, price, exit, equity string
	err = db.Pool.QueryRow(ctx, `SELECT quantity::text, entry_price::text, exit_price::text,
		(SELECT starting_equity::text FROM backfill.portfolios WHERE id = $1)
		FROM backfill.positions WHERE portfolio_id = $1`, res.PortfolioID).Scan(&qty, &price, &exit, &equity)
	if err != nil {
		t.Fatal(err)
	}
	if qty != "-999999999999999999.999999" || price != "9999999999999999.9999" || exit != "0.0001" || equity != "1000000000000.0000" {
		t.Errorf("stored %s %s %s %s", qty, price, exit, equity)
	}
}

func TestOnboardRejectsBadRequestFields(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	cases := []struct {
		name string
		edit func(*portfolio.OnboardRequest)
		code portfolio.Code
	}{
		{"no owner", func(r *portfolio.OnboardRequest) { r.OwnerID = " " }, portfolio.CodeOwner001},
		{"owner with NUL", func(r *portfolio.OnboardRequest) { r.OwnerID = "a\x00b" }, portfolio.CodeOwner001},
		{"no portfolio name", func(r *portfolio.OnboardRequest) { r.PortfolioName = "" }, portfolio.CodePort002},
		{"long portfolio name", func(r *portfolio.OnboardRequest) { r.PortfolioName = strings.Repeat("n", 256) }, portfolio.CodePort003},
		{"no equity", func(r *portfolio.OnboardRequest) { r.StartingEquity = "" }, portfolio.CodePort004},
		{"zero equity", func(r *portfolio.OnboardRequest) { r.StartingEquity = "0" }, portfolio.CodePort005},
		{"negative equity", func(r *portfolio.OnboardRequest) { r.StartingEquity = "-5" }, portfolio.CodePort005},
		{"equity not a number", func(r *portfolio.OnboardRequest) { r.StartingEquity = "1e6" }, portfolio.CodePort005},
		{"equity too precise", func(r *portfolio.OnboardRequest) { r.StartingEquity = "1.00001" }, portfolio.CodePort005},
		{"equity unreasonable", func(r *portfolio.OnboardRequest) { r.StartingEquity = "1000000000000.01" }, portfolio.CodePort006},
		{"no csv", func(r *portfolio.OnboardRequest) { r.CSV = nil }, portfolio.CodePort007},
		{"bad account type", func(r *portfolio.OnboardRequest) { r.AccountType = "checking" }, portfolio.CodePort009},
		{"long account name", func(r *portfolio.OnboardRequest) { r.AccountName = strings.Repeat("a", 101) }, portfolio.CodePort010},
		{"no account name", func(r *portfolio.OnboardRequest) { r.AccountName = "\t" }, portfolio.CodePort011},
		{"long description", func(r *portfolio.OnboardRequest) { r.Description = strings.Repeat("d", 2001) }, portfolio.CodePort012},
		{"bad csv row", func(r *portfolio.OnboardRequest) {
			r.CSV = strings.NewReader("Symbol,Quantity,Entry Price Per Share,Entry Date\nAAPL,1e3,10,2024-01-02\n")
		}, portfolio.CodePort008},
		{"not a csv", func(r *portfolio.OnboardRequest) { r.CSV = strings.NewReader("\x00\x01\x02binary") }, portfolio.CodeCSV002},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := request("Account", sampleCSV)
			tc.edit(req)
			_, err := c.Onboard(context.Background(), req)
			var verr *portfolio.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			inner := tc.code
			if tc.code == portfolio.CodePort008 {
				inner = portfolio.CodePos005 // the row's own code
			}
			if verr.Code != tc.code || len(verr.Errors) == 0 || verr.Errors[0].Code != inner || verr.Errors[0].Message == "" {
				t.Fatalf("got %s %+v, want %s", verr.Code, verr.Errors, tc.code)
			}
		})
	}
	assertNoRows(t, db)
}

func TestOnboardDuplicateAccount(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	if _, err := c.Onboard(ctx, request("Brokerage", sampleCSV)); err != nil {
		t.Fatal(err)
	}
	before := tableCounts(t, db)
	_, err := c.Onboard(ctx, request("Brokerage", sampleCSV))
	var verr *portfolio.ValidationError
	if !errors.Is(err, portfolio.ErrDuplicateAccount) || !errors.As(err, &verr) || verr.Code != portfolio.CodePort001 {
		t.Fatalf("err = %v, want ErrDuplicateAccount with ERR_PORT_001", err)
	}
	if after := tableCounts(t, db); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("rows changed: before %v after %v", before, after)
	}
	// Another owner may use the same account name.
	req := request("Brokerage", sampleCSV)
	req.OwnerID = "owner-2"
	if _, err := c.Onboard(ctx, req); err != nil {
		t.Fatalf("other owner: %v", err)
	}
}

// Two onboardings of one account at once: exactly one wins.
func TestOnboardConcurrentDuplicate(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.Onboard(context.Background(), request("Same", sampleCSV)) })
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, portfolio.ErrDuplicateAccount):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d onboardings won, want exactly 1", wins)
	}
	if n := tableCounts(t, db)["positions"]; n != 5 {
		t.Errorf("%d positions, want 5", n)
	}
}

// A failure after the positions are written rolls everything back.
func TestOnboardFailureAfterPositionsLeavesNothing(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)

	boom := errors.New("boom")
	portfolio.SetAfterPositionsHook(c, func(context.Context) error { return boom })
	if _, err := c.Onboard(context.Background(), request("A", sampleCSV)); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	assertNoRows(t, db)

	ctx, cancel := context.WithCancel(context.Background())
	portfolio.SetAfterPositionsHook(c, func(context.Context) error { cancel(); return nil })
	if _, err := c.Onboard(ctx, request("A", sampleCSV)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	assertNoRows(t, db)
}

func TestOnboardInvalidCSVWritesNothing(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	csv := sampleCSV + "MSFT,0,380.00,2024-01-22,,,,,,,,\nNVDA,30,abc,2024-13-01,,,,,,,,\n"
	_, err := c.Onboard(context.Background(), request("A", csv))
	var verr *portfolio.ValidationError
	if !errors.As(err, &verr) || verr.Code != portfolio.CodePort008 {
		t.Fatalf("err = %v, want ERR_PORT_008", err)
	}
	codes := []string{}
	for _, e := range verr.Errors {
		codes = append(codes, fmt.Sprintf("%d:%s", e.Row, e.Code))
	}
	if got := strings.Join(codes, " "); got != "7:ERR_POS_006 8:ERR_POS_009 8:ERR_POS_013" {
		t.Errorf("errors = %s", got)
	}
	assertNoRows(t, db)
}

// The NOTIFY reaches a listener only once the onboarding commits.
func TestOnboardNotifiesOnCommit(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()

	listener, err := pgx.Connect(ctx, db.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN "+portfolio.DefaultNotifyChannel); err != nil {
		t.Fatal(err)
	}

	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	res, err := c.OnboardTx(ctx, tx, request("A", sampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	// Before commit nothing may arrive. Waiting a bounded time for an
	// event that must not happen is the only way to observe its absence.
	early, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	n, err := listener.WaitForNotification(early)
	cancel()
	if err == nil {
		t.Fatalf("notification %q before commit", n.Payload)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err = listener.WaitForNotification(wait)
	if err != nil {
		t.Fatalf("no notification after commit: %v", err)
	}
	if n.Payload != res.PortfolioID.String() {
		t.Errorf("payload = %q, want %s", n.Payload, res.PortfolioID)
	}
}

func TestOnboardDeterministicIDsAreIdempotent(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	req := func(csv string) *portfolio.OnboardRequest {
		r := request("Det", csv)
		r.DeterministicIDs = true
		return r
	}
	first, err := c.Onboard(ctx, req(sampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	before := tableCounts(t, db)
	again, err := c.Onboard(ctx, req(sampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Existing || again.PortfolioID != first.PortfolioID || again.RunID != first.RunID {
		t.Errorf("repeat = %+v, want the first result", again)
	}
	if after := tableCounts(t, db); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("repeat wrote rows: before %v after %v", before, after)
	}
	// Same account, different positions: a real duplicate.
	if _, err := c.Onboard(ctx, req(sampleCSV+"MSFT,75,380.00,2024-01-22,,,,,,,,\n")); !errors.Is(err, portfolio.ErrDuplicateAccount) {
		t.Errorf("err = %v, want ErrDuplicateAccount", err)
	}
}

func TestRequestBackfillReturnsActiveRun(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	res, err := c.Onboard(ctx, request("A", sampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.RequestBackfill(ctx, res.PortfolioID, portfolio.TriggerCalculate)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != res.RunID || run.Created || run.Trigger != portfolio.TriggerOnboarding {
		t.Errorf("run = %+v, want the pending onboarding run %s", run, res.RunID)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE backfill.batch_runs SET status = 'running' WHERE id = $1`, run.ID); err != nil {
		t.Fatal(err)
	}
	if again, err := c.RequestBackfill(ctx, res.PortfolioID, portfolio.TriggerCalculate); err != nil || again.ID != run.ID {
		t.Errorf("running run not returned: %+v %v", again, err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE backfill.batch_runs SET status = 'completed' WHERE id = $1`, run.ID); err != nil {
		t.Fatal(err)
	}
	next, err := c.RequestBackfill(ctx, res.PortfolioID, portfolio.TriggerCalculate)
	if err != nil || !next.Created || next.ID == run.ID || next.Status != portfolio.RunPending {
		t.Errorf("after completion: %+v %v, want a new pending run", next, err)
	}
	if _, err := c.RequestBackfill(ctx, uuid.New(), portfolio.TriggerCalculate); !errors.Is(err, portfolio.ErrNotFound) {
		t.Errorf("unknown portfolio: %v, want ErrNotFound", err)
	}
	if _, err := c.RequestBackfill(ctx, res.PortfolioID, "cron"); err == nil {
		t.Error("unknown trigger accepted")
	}
}

// Concurrent requests for one portfolio create one run.
func TestRequestBackfillConcurrent(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	req := request("A", sampleCSV)
	req.NoRequest = true
	res, err := c.Onboard(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.RunID != uuid.Nil {
		t.Fatalf("NoRequest created run %s", res.RunID)
	}
	var wg sync.WaitGroup
	ids := make([]uuid.UUID, 8)
	for i := range ids {
		wg.Go(func() {
			run, err := c.RequestBackfill(ctx, res.PortfolioID, portfolio.TriggerCalculate)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = run.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("requests got different runs: %v", ids)
		}
	}
	if n := tableCounts(t, db)["batch_runs"]; n != 1 {
		t.Errorf("%d runs, want 1", n)
	}
}

func TestDeletePortfolio(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	ctx := context.Background()
	res, err := c.Onboard(ctx, request("A", sampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePortfolio(ctx, res.PortfolioID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePortfolio(ctx, res.PortfolioID); !errors.Is(err, portfolio.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	counts := tableCounts(t, db)
	if counts["backfill_state"] != 0 {
		t.Error("deleted portfolio still in backfill_state")
	}
	var status string
	if err := db.Pool.QueryRow(ctx, `SELECT status FROM backfill.batch_runs WHERE id = $1`, res.RunID).Scan(&status); err != nil || status != "failed" {
		t.Errorf("run status %q %v, want failed", status, err)
	}
	if _, err := c.RequestBackfill(ctx, res.PortfolioID, portfolio.TriggerCalculate); !errors.Is(err, portfolio.ErrNotFound) {
		t.Errorf("request on deleted: %v, want ErrNotFound", err)
	}
	// The account name is free again.
	if _, err := c.Onboard(ctx, request("A", sampleCSV)); err != nil {
		t.Errorf("re-onboard after delete: %v", err)
	}
}

// BenchmarkOnboard1000 onboards a 1,000-position file end to end.
func BenchmarkOnboard1000(b *testing.B) {
	db := portfoliotest.NewDB(b)
	c := newClient(b, db)
	var sb strings.Builder
	sb.WriteString("Symbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype\n")
	for i := range 1000 {
		fmt.Fprintf(&sb, "SYM%04d,%d,%d.25,2024-%02d-%02d,PUBLIC,STOCK\n", i, 10+i, 20+i%300, 1+i%12, 1+i%28)
	}
	csv := sb.String()
	for i := 0; b.Loop(); i++ {
		if _, err := c.Onboard(context.Background(), request(fmt.Sprintf("acct-%d", i), csv)); err != nil {
			b.Fatal(err)
		}
	}
}
