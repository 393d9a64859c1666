package batch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// fixture is a database with a client and an engine whose clock stands
// after the last session the test uses.
type fixture struct {
	t      *testing.T
	db     *portfoliotest.DB
	client *portfolio.Client
	engine *Engine
	cal    Calendar
}

func newFixture(t *testing.T, now string, cfg *Config) *fixture {
	t.Helper()
	db := portfoliotest.NewDB(t)
	clock := func() time.Time { return mustTime(now) }
	client, err := portfolio.NewClient(db.Pool, &portfolio.Config{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	c.Now = clock
	e, err := NewEngine(db.Pool, &c)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, db: db, client: client, engine: e, cal: NewNYSECalendar()}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// prices inserts closes for symbol on consecutive sessions from first;
// NaN leaves a session without a close.
func (f *fixture) prices(symbol, first string, closes ...float64) {
	f.t.Helper()
	d := SessionOnOrAfter(f.cal, date(first))
	var dates []time.Time
	var values []float64
	for _, c := range closes {
		if !math.IsNaN(c) {
			dates = append(dates, d)
			values = append(values, c)
		}
		d = NextSession(f.cal, d)
	}
	_, err := f.db.Pool.Exec(context.Background(), `
		INSERT INTO backfill.market_prices (symbol, price_date, close)
		SELECT $1, d, c FROM unnest($2::date[], $3::float8[]) AS t(d, c)`, symbol, dates, values)
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) onboard(equity string, rows ...string) uuid.UUID {
	f.t.Helper()
	csv := "Symbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype,Underlying Symbol,Strike Price,Expiration Date,Option Type,Exit Date,Exit Price Per Share\n" +
		strings.Join(rows, "\n") + "\n"
	res, err := f.client.Onboard(context.Background(), &portfolio.OnboardRequest{
		OwnerID: "o", PortfolioName: "p", AccountName: uuid.NewString(), AccountType: "taxable",
		StartingEquity: equity, CSV: strings.NewReader(csv),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.PortfolioID
}

func (f *fixture) backfill(id uuid.UUID, opts *BackfillOpts) *Result {
	f.t.Helper()
	res, err := f.engine.Backfill(context.Background(), id, opts)
	if err != nil {
		f.t.Fatalf("backfill: %v (result %+v)", err, res)
	}
	return res
}

// snap is a snapshot row as the tests compare it.
type snap struct {
	Date                                   string
	NAV, Cash, Long, Short, Gross, Net     float64
	PnL, Realized                          float64
	Return                                 *float64
	CumPnL, CumReturn, Flow                float64
	NPos, NLong, NShort, NStale, NUnpriced int
}

func (f *fixture) snapshots(id uuid.UUID) []snap {
	f.t.Helper()
	rows, err := f.db.Pool.Query(context.Background(), `
		SELECT snapshot_date::text, nav::float8, cash::float8, long_value::float8, short_value::float8,
		       gross_exposure::float8, net_exposure::float8, daily_pnl::float8, daily_realized_pnl::float8,
		       daily_return, cumulative_pnl::float8, cumulative_return, capital_flow::float8,
		       num_positions, num_long, num_short, stale_positions, unpriced_positions
		FROM backfill.portfolio_snapshots WHERE portfolio_id = $1 ORDER BY snapshot_date`, id)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (snap, error) {
		var s snap
		err := r.Scan(&s.Date, &s.NAV, &s.Cash, &s.Long, &s.Short, &s.Gross, &s.Net, &s.PnL, &s.Realized,
			&s.Return, &s.CumPnL, &s.CumReturn, &s.Flow, &s.NPos, &s.NLong, &s.NShort, &s.NStale, &s.NUnpriced)
		return s, err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// rowsText returns every stored column of a portfolio's snapshots except
// the run id and computation time, as text, for exact comparisons.
func (f *fixture) rowsText(id uuid.UUID) []string {
	f.t.Helper()
	rows, err := f.db.Pool.Query(context.Background(), `
		SELECT (to_jsonb(s) - 'portfolio_id' - 'batch_run_id' - 'computed_at')::text
		FROM backfill.portfolio_snapshots s WHERE portfolio_id = $1 ORDER BY snapshot_date`, id)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) state(id uuid.UUID) (status string, watermark *time.Time) {
	f.t.Helper()
	err := f.db.Pool.QueryRow(context.Background(),
		`SELECT status, snapshot_through FROM backfill.backfill_state WHERE portfolio_id = $1`, id).Scan(&status, &watermark)
	if err != nil {
		f.t.Fatal(err)
	}
	return status, watermark
}

func (f *fixture) runStatuses(id uuid.UUID) []string {
	f.t.Helper()
	rows, _ := f.db.Pool.Query(context.Background(),
		`SELECT status FROM backfill.batch_runs WHERE portfolio_id = $1 ORDER BY requested_at, id`, id)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func ret(x float64) *float64 { return &x }

func fmtRet(r *float64) string {
	if r == nil {
		return "null"
	}
	return fmt.Sprintf("%.16f", *r)
}

// The worked example: 10 shares; closes 100, 101, 102.01, 100.99; +500 on
// day 3, −200 on day 4.
func TestBackfillFlowExample(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501, 502, 503)
	f.prices("XYZ", "2024-03-04", 100, 101, 102.01, 100.99)
	id := f.onboard("1000", "XYZ,10,100,2024-03-04,PUBLIC,STOCK,,,,,,")
	ctx := context.Background()
	for _, fl := range []portfolio.CapitalFlow{{Date: date("2024-03-06"), Amount: "500"}, {Date: date("2024-03-07"), Amount: "-200"}} {
		if _, err := f.client.RecordCapitalFlow(ctx, id, fl); err != nil {
			t.Fatal(err)
		}
	}
	res := f.backfill(id, nil)
	if res.Status != portfolio.RunCompleted || res.DaysWritten != 4 {
		t.Fatalf("result %+v", res)
	}
	got := f.snapshots(id)
	want := []struct {
		nav float64
		ret *float64
	}{
		{1000, nil}, {1010, ret(0.01)}, {1520.10, ret(0.0066887417218542)}, {1309.90, ret(-0.0077266873721686)},
	}
	if len(got) != len(want) {
		t.Fatalf("%d snapshots, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if !near(g.NAV, w.nav) || (g.Return == nil) != (w.ret == nil) || (w.ret != nil && math.Abs(*g.Return-*w.ret) > 1e-15) {
			t.Errorf("%s: NAV %v return %s, want %v %s", g.Date, g.NAV, fmtRet(g.Return), w.nav, fmtRet(w.ret))
		}
	}
	if last := got[3]; !near(last.CumPnL, 9.90) || !near(last.Flow, -200) || !near(got[2].Flow, 500) {
		t.Errorf("cumulative P&L %v, flows %v %v", last.CumPnL, got[2].Flow, last.Flow)
	}
	if c := got[3]; !near(c.Cash, 1309.90-1009.90) || !near(c.Net, 1009.9) {
		t.Errorf("cash %v net %v", c.Cash, c.Net)
	}
	// Cumulative return chains the daily returns.
	chained := (1+0.01)*(1+0.0066887417218542)*(1-0.0077266873721686) - 1
	if math.Abs(got[3].CumReturn-chained) > 1e-12 {
		t.Errorf("cumulative return %v, want %v", got[3].CumReturn, chained)
	}
}

func TestBackfillLongAndShort(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501)
	f.prices("LNG", "2024-03-04", 100, 110)
	f.prices("SHT", "2024-03-04", 50, 40)
	id := f.onboard("10000", "LNG,10,100,2024-03-04,,,,,,,,", "SHT,-5,50,2024-03-04,,,,,,,,")
	f.backfill(id, &BackfillOpts{Through: date("2024-03-05")})
	got := f.snapshots(id)
	d2 := got[1]
	// P&L = 10×(110−100) + (−5)×(40−50) = 150.
	if !near(d2.PnL, 150) || !near(d2.NAV, 10150) || !near(d2.Long, 1100) || !near(d2.Short, -200) ||
		!near(d2.Gross, 1300) || !near(d2.Net, 900) || !near(d2.Cash, 9250) ||
		d2.NPos != 2 || d2.NLong != 1 || d2.NShort != 1 {
		t.Errorf("day 2 = %+v", d2)
	}
	if !near(*d2.Return, 150.0/10000) {
		t.Errorf("return %v", *d2.Return)
	}
}

// A position entered mid-range counts from its entry price; an entry on a
// Saturday counts from Monday.
func TestBackfillEntryMidRange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-13T12:00:00Z", nil)
	f.prices("SPY", "2024-03-07", 500, 501, 502, 503) // Thu, Fri, Mon, Tue
	f.prices("AAA", "2024-03-07", 10, 10, 10, 10)
	f.prices("BBB", "2024-03-07", 20, 21, 22, 23)
	id := f.onboard("1000", "AAA,10,10,2024-03-07,,,,,,,,", "BBB,10,20.50,2024-03-09,,,,,,,,")
	f.backfill(id, nil)
	got := f.snapshots(id)
	if len(got) != 4 {
		t.Fatalf("%d days", len(got))
	}
	// Friday: BBB not yet held. Monday: 10 × (22 − 20.50) = 15. Tuesday: 10.
	if got[1].NPos != 1 || !near(got[1].PnL, 0) || got[2].NPos != 2 || !near(got[2].PnL, 15) || !near(got[3].PnL, 10) {
		t.Errorf("days = %+v", got)
	}
}

func TestBackfillExitRealized(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501, 502, 503)
	f.prices("EXT", "2024-03-04", 100, 102, 104, 106)
	id := f.onboard("5000", "EXT,10,100,2024-03-04,PUBLIC,STOCK,,,,2024-03-06,105")
	f.backfill(id, nil)
	got := f.snapshots(id)
	// Exited on day 3 at 105 against day 2's close 102: realized 30.
	if !near(got[2].PnL, 30) || !near(got[2].Realized, 30) || got[2].NPos != 0 || !near(got[2].Long, 0) {
		t.Errorf("exit day = %+v", got[2])
	}
	if !near(got[3].PnL, 0) || got[3].NPos != 0 || !near(got[3].NAV, 5050) {
		t.Errorf("after exit = %+v", got[3])
	}
}

// Without its own prices an option is valued at intrinsic value from the
// underlying and settles at intrinsic value on expiration.
func TestBackfillOptionIntrinsic(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501, 502, 503)
	f.prices("UND", "2024-03-04", 105, 110, 108, 120)
	id := f.onboard("10000", ",1,4,2024-03-04,OPTIONS,,UND,100,2024-03-06,CALL,,")
	res := f.backfill(id, nil)
	got := f.snapshots(id)
	// Day 1: 100 × (5 − 4) = 100; day 2: 100 × (10 − 5) = 500, MV 1000;
	// day 3 (expiration): settles at 8: realized 100 × (8 − 10) = −200.
	if !near(got[0].PnL, 100) || !near(got[0].Long, 500) || !near(got[1].PnL, 500) || !near(got[1].Long, 1000) {
		t.Errorf("held days = %+v %+v", got[0], got[1])
	}
	if !near(got[2].PnL, -200) || !near(got[2].Realized, -200) || got[2].NPos != 0 || !near(got[3].PnL, 0) {
		t.Errorf("expiration = %+v, after = %+v", got[2], got[3])
	}
	if !hasWarning(res, WarnOptionIntrinsic, "UND_C100_20240306") {
		t.Errorf("warnings %+v lack option_intrinsic", res.Warnings)
	}
}

func hasWarning(res *Result, code, symbol string) bool {
	for _, w := range res.Warnings {
		if w.Code == code && w.Symbol == symbol {
			return true
		}
	}
	return false
}

// A missing close is carried forward, and flagged stale past the limit.
func TestBackfillStaleCarryForward(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-13T12:00:00Z", &Config{StaleAfter: 2})
	f.prices("SPY", "2024-03-04", 500, 501, 502, 503, 504, 505, 506)
	f.prices("OLD", "2024-03-04", 30, 31)
	id := f.onboard("1000", "OLD,10,30,2024-03-04,,,,,,,,")
	res := f.backfill(id, nil)
	got := f.snapshots(id)
	// Carried at 31 from day 3 on; stale once older than 2 sessions.
	for i, g := range got {
		wantStale := 0
		if i >= 4 {
			wantStale = 1
		}
		if !near(g.Long, 310) && i >= 1 || g.NStale != wantStale {
			t.Errorf("%s: long %v stale %d, want 310 and %d", g.Date, g.Long, g.NStale, wantStale)
		}
	}
	var stale *Warning
	for i := range res.Warnings {
		if res.Warnings[i].Code == WarnStalePrice {
			stale = &res.Warnings[i]
		}
	}
	if stale == nil || stale.Symbol != "OLD" || stale.From != "2024-03-08" || stale.To != "2024-03-12" {
		t.Errorf("stale warning = %+v", stale)
	}
}

func TestBackfillUnpricedAtCost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501)
	id := f.onboard("1000", "NOPRICE,10,25,2024-03-04,,,,,,,,", "CASH_USD,100,1,2024-03-04,,,,,,,,",
		"PE_FUND,1,500,2024-03-04,PRIVATE,PRIVATE_EQUITY,,,,,,")
	res := f.backfill(id, &BackfillOpts{Through: date("2024-03-05")})
	got := f.snapshots(id)
	for _, g := range got {
		if !near(g.Long, 250+100+500) || !near(g.PnL, 0) || g.NUnpriced != 1 || g.NPos != 3 {
			t.Errorf("%s = %+v", g.Date, g)
		}
	}
	if !hasWarning(res, WarnUnpriced, "NOPRICE") {
		t.Errorf("warnings %+v lack unpriced", res.Warnings)
	}
}

// Backfilling twice, recomputing, or going day by day gives the same rows
// as one pass.
func TestBackfillIdempotent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-04-01T12:00:00Z", &Config{ChunkDays: 3})
	closes := func(seed float64) []float64 {
		var out []float64
		for i := range 20 {
			out = append(out, seed+float64(i%7)*1.37-float64(i%3)*0.91)
		}
		return out
	}
	f.prices("SPY", "2024-03-01", closes(500)...)
	f.prices("AAA", "2024-03-01", closes(100)...)
	f.prices("BBB", "2024-03-01", closes(37.5)...)
	rows := []string{"AAA,12.5,99.99,2024-03-01,,,,,,,,", "BBB,-40,37,2024-03-05,,,,,,,2024-03-20,40.125"}
	once := f.onboard("25000.50", rows...)
	daily := f.onboard("25000.50", rows...)
	ctx := context.Background()
	if _, err := f.client.RecordCapitalFlow(ctx, once, portfolio.CapitalFlow{Date: date("2024-03-11"), Amount: "1234.5678"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.RecordCapitalFlow(ctx, daily, portfolio.CapitalFlow{Date: date("2024-03-11"), Amount: "1234.5678"}); err != nil {
		t.Fatal(err)
	}

	first := f.backfill(once, nil)
	if first.DaysWritten != 20 {
		t.Fatalf("wrote %d days, want 20", first.DaysWritten)
	}
	want := f.rowsText(once)
	if again := f.backfill(once, nil); again.DaysWritten != 0 || again.Status != portfolio.RunCompleted {
		t.Errorf("second backfill = %+v, want nothing to do", again)
	}
	f.backfill(once, &BackfillOpts{From: date("2024-03-01")})
	if got := f.rowsText(once); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("recomputed rows differ:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for d := date("2024-03-01"); !d.After(date("2024-03-28")); d = NextSession(f.cal, d) {
		f.backfill(daily, &BackfillOpts{Through: d})
	}
	if got := f.rowsText(daily); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("day-by-day rows differ:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Cancelling mid-range leaves whole chunks, a matching watermark and a run
// that is not running; the next call finishes like a clean run.
func TestBackfillCrashResume(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-04-01T12:00:00Z", &Config{ChunkDays: 4})
	var closes []float64
	for i := range 20 {
		closes = append(closes, 100+float64(i))
	}
	f.prices("SPY", "2024-03-01", closes...)
	f.prices("AAA", "2024-03-01", closes...)
	clean := f.onboard("1000", "AAA,3,100,2024-03-01,,,,,,,,")
	crashed := f.onboard("1000", "AAA,3,100,2024-03-01,,,,,,,,")
	f.backfill(clean, nil)

	ctx, cancel := context.WithCancel(context.Background())
	f.engine.afterChunk = func(written int) {
		if written >= 8 {
			cancel()
		}
	}
	res, err := f.engine.Backfill(ctx, crashed, nil)
	f.engine.afterChunk = nil
	if !errors.Is(err, context.Canceled) || res.Status != portfolio.RunPartial || res.DaysWritten != 8 {
		t.Fatalf("cancelled backfill = %+v, %v", res, err)
	}
	if n := len(f.snapshots(crashed)); n != 8 {
		t.Errorf("%d rows after cancel, want 8 (two whole chunks)", n)
	}
	if _, wm := f.state(crashed); wm == nil || wm.Format(time.DateOnly) != f.snapshots(crashed)[7].Date {
		t.Errorf("watermark %v does not match the last written day", wm)
	}
	if st := f.runStatuses(crashed); strings.Join(st, ",") != "partial" {
		t.Errorf("runs = %v, want [partial]", st)
	}
	if res := f.backfill(crashed, nil); res.DaysWritten != 12 {
		t.Errorf("resume wrote %d days, want 12", res.DaysWritten)
	}
	if a, b := f.rowsText(crashed), f.rowsText(clean); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("resumed rows differ from a clean run")
	}
}

// A backfill holding an outdated lease token writes nothing.
func TestBackfillFencedByLease(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501, 502, 503)
	id := f.onboard("1000", "SPY,1,500,2024-03-04,,,,,,,,")
	ctx := context.Background()
	old, err := f.engine.claim(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Another worker takes the portfolio over.
	if _, err := f.db.Pool.Exec(ctx, `UPDATE backfill.backfill_state SET lease_token = $2, lease_owner = 'other' WHERE portfolio_id = $1`, id, uuid.New()); err != nil {
		t.Fatal(err)
	}
	res, err := f.engine.Backfill(ctx, id, &BackfillOpts{LeaseToken: old})
	if !errors.Is(err, ErrLeaseLost) || res.Status != portfolio.RunFailed || res.DaysWritten != 0 {
		t.Fatalf("fenced backfill = %+v, %v", res, err)
	}
	if n := len(f.snapshots(id)); n != 0 {
		t.Errorf("%d rows written by a fenced worker", n)
	}
	if _, err := f.engine.Backfill(ctx, id, nil); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("claim while leased: %v, want ErrLeaseHeld", err)
	}
}

func TestBackfillWaitsForPrices(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501, 502) // Thursday missing
	id := f.onboard("1000", "SPY,1,500,2024-03-04,,,,,,,,")
	res := f.backfill(id, nil)
	if res.Status != portfolio.RunWaitingForPrices || res.DaysWritten != 3 || res.Target.Format(time.DateOnly) != "2024-03-07" {
		t.Fatalf("result = %+v", res)
	}
	if st, wm := f.state(id); st != "waiting_for_prices" || wm.Format(time.DateOnly) != "2024-03-06" {
		t.Errorf("state %s %v", st, wm)
	}
	f.prices("SPY", "2024-03-07", 503)
	if res := f.backfill(id, nil); res.Status != portfolio.RunCompleted || res.DaysWritten != 1 {
		t.Errorf("after prices = %+v", res)
	}
	if st, _ := f.state(id); st != "current" {
		t.Errorf("state %s, want current", st)
	}
}

// panicSource panics when asked for closes.
type panicSource struct{ PriceSource }

func (panicSource) Closes(context.Context, []string, time.Time, time.Time) (map[string][]Close, error) {
	panic("price feed exploded")
}

func (panicSource) Generation(context.Context) (int64, error) { return 1, nil }

func TestBackfillPanicRecordsFailedRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", &Config{Prices: panicSource{}})
	id := f.onboard("1000", "SPY,1,500,2024-03-04,,,,,,,,")
	res, err := f.engine.Backfill(context.Background(), id, nil)
	if err == nil || !strings.Contains(err.Error(), "price feed exploded") || res.Status != portfolio.RunFailed {
		t.Fatalf("result %+v, err %v", res, err)
	}
	if st := f.runStatuses(id); strings.Join(st, ",") != "failed" {
		t.Errorf("runs = %v, want the onboarding run failed", st)
	}
	var leased bool
	var attempts int
	var lastErr string
	f.db.Pool.QueryRow(context.Background(), `SELECT lease_token IS NOT NULL, attempts, last_error FROM backfill.backfill_state WHERE portfolio_id = $1`, id).Scan(&leased, &attempts, &lastErr)
	if leased || attempts != 1 || !strings.Contains(lastErr, "exploded") {
		t.Errorf("state leased=%v attempts=%d last_error=%q", leased, attempts, lastErr)
	}
}

// A flow dated before the watermark rewinds it: the next backfill
// recomputes exactly the affected days.
func TestBackfillRewindOnFlowAndPosition(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501, 502, 503)
	f.prices("XYZ", "2024-03-04", 100, 101, 102.01, 100.99)
	id := f.onboard("1000", "XYZ,10,100,2024-03-04,,,,,,,,")
	f.backfill(id, nil)
	ctx := context.Background()
	if _, err := f.client.RecordCapitalFlow(ctx, id, portfolio.CapitalFlow{Date: date("2024-03-06"), Amount: "500"}); err != nil {
		t.Fatal(err)
	}
	if _, wm := f.state(id); wm.Format(time.DateOnly) != "2024-03-05" {
		t.Errorf("watermark after flow = %v, want 2024-03-05", wm)
	}
	if res := f.backfill(id, nil); res.DaysWritten != 2 || res.From.Format(time.DateOnly) != "2024-03-06" {
		t.Errorf("recompute = %+v, want 2024-03-06..07", res)
	}
	if got := f.snapshots(id); !near(got[3].NAV, 1509.9) {
		t.Errorf("NAV after flow %v, want 1509.9", got[3].NAV)
	}
	// A position entered before the inception moves inception and
	// recomputes everything.
	if _, err := f.client.AddPositions(ctx, id, strings.NewReader("Symbol,Quantity,Entry Price Per Share,Entry Date\nSPY,1,499,2024-03-01\n")); err != nil {
		t.Fatal(err)
	}
	f.prices("SPY", "2024-03-01", 499)
	res := f.backfill(id, nil)
	if res.From.Format(time.DateOnly) != "2024-03-01" || res.DaysWritten != 5 {
		t.Errorf("after adding a position: %+v", res)
	}
}

// A panic in the analytics is recovered: the run is recorded failed with
// the panic, nothing is written, the lease is released, and the next
// backfill completes.
func TestBackfillPanicInAnalytics(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501, 502, 503)
	id := f.onboard("1000", "SPY,1,500,2024-03-04,,,,,,,,")
	f.engine.beforeAnalytics = func() { panic("factor model exploded") }
	res, err := f.engine.Backfill(context.Background(), id, nil)
	f.engine.beforeAnalytics = nil
	if !errors.Is(err, ErrPanic) || !strings.Contains(err.Error(), "factor model exploded") || res.Status != portfolio.RunFailed {
		t.Fatalf("result %+v, err %v", res, err)
	}
	if n := len(f.snapshots(id)); n != 0 {
		t.Errorf("%d rows written by a panicking backfill", n)
	}
	if st, _ := f.state(id); st != "failing" {
		t.Errorf("state %s, want failing", st)
	}
	if res := f.backfill(id, nil); res.Status != portfolio.RunCompleted || res.DaysWritten != 4 {
		t.Errorf("next backfill = %+v", res)
	}
	if st := f.runStatuses(id); strings.Join(st, ",") != "failed,completed" {
		t.Errorf("runs = %v", st)
	}
}
