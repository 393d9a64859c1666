package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
)

// advanceTemplates are the positions of the portfolios the advance tests
// onboard: longs, shorts, calls and puts (one expiring within the tested
// days), cash, a private holding, exits before and within the tested
// days, an ETF, and an unpriced symbol.
var advanceTemplates = [][]string{
	{"XBETA,100,50,2024-01-02,,,,,,,,"},
	{"XBETA,100,50,2024-01-02,,,,,,,,", "OTHER,-200,30,2024-01-02,,,,,,,,"},
	{",2,5,2024-01-02,OPTIONS,,XBETA,40,2025-06-20,CALL,,", "OTHER,50,30,2024-01-02,,,,,,,,"},
	{",-3,4,2024-02-01,OPTIONS,,XBETA,45,2024-12-27,PUT,,", "XBETA,20,48,2024-02-01,,,,,,,,"},
	{"CASH_USD,50000,1,2024-01-02,,,,,,,,", "VTV,100,150,2024-01-02,,,,,,,,"},
	{"PE_FUND,1,5000,2024-01-02,PRIVATE,PRIVATE_EQUITY,,,,,,", "QUAL,-40,160,2024-03-01,,,,,,,,"},
	{"XBETA,300,45,2024-01-02,,,,,,,2024-12-30,60", "OTHER,100,30,2024-01-02,,,,,,,,"},
	{"OTHER,400,28,2024-01-02,,,,,,,2024-06-03,31", "IWM,25,200,2024-06-04,,,,,,,,"},
	{"NOPRICE,10,25,2024-01-02,,,,,,,,", "USMV,-60,80,2024-01-02,,,,,,,,", "MTUM,30,180,2024-01-02,,,,,,,,"},
	{"XBETA,-150,52,2024-01-02,,,,,,,,", "SPY,20,400,2024-01-02,,,,,,,,", "TLT,-40,90,2024-01-02,,,,,,,,"},
}

// advanceWorld is the analytics fixture with a movable clock and a set of
// portfolios per path, portfolio i of every set holding the same positions
// and flows.
type advanceWorld struct {
	*fixture
	clock    atomic.Int64
	sessions []time.Time
}

func newAdvanceWorld(t *testing.T) *advanceWorld {
	f, sessions := analyticsFixture(t)
	if _, err := f.engine.ApplyPriceChanges(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return &advanceWorld{fixture: f, sessions: sessions}
}

func (w *advanceWorld) now() time.Time { return time.Unix(0, w.clock.Load()).UTC() }

// at moves the clock to the evening of session d.
func (w *advanceWorld) at(d time.Time) { w.clock.Store(d.Add(23 * time.Hour).UnixNano()) }

func (w *advanceWorld) newEngine(cfg *Config) *Engine {
	w.t.Helper()
	var c Config
	if cfg != nil {
		c = *cfg
	}
	c.Now = w.now
	e, err := NewEngine(w.db.Pool, &c)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// portfolios onboards one portfolio per template, with capital flows on
// every third.
func (w *advanceWorld) portfolios(n int) []uuid.UUID {
	w.t.Helper()
	out := make([]uuid.UUID, n)
	for i := range n {
		out[i] = w.onboard("1000000", advanceTemplates[i%len(advanceTemplates)]...)
		if i%3 == 0 {
			w.exec(`INSERT INTO backfill.capital_flows (portfolio_id, id, flow_date, amount)
				VALUES ($1, gen_random_uuid(), '2024-05-01', 25000), ($1, gen_random_uuid(), '2024-12-30', -10000.5)`, out[i])
		}
	}
	return out
}

func (w *advanceWorld) exec(sql string, args ...any) {
	w.t.Helper()
	if _, err := w.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		w.t.Fatal(err)
	}
}

// lease gives the portfolios leases, as a reconciler's claim does.
func (w *advanceWorld) lease(ids []uuid.UUID) []AdvanceClaim {
	w.t.Helper()
	rows, err := w.db.Pool.Query(context.Background(), `
		UPDATE backfill.backfill_state SET lease_owner = 'test', lease_token = gen_random_uuid(),
		       lease_expires_at = now() + interval '2 minutes', status = 'running'
		WHERE portfolio_id = ANY($1) RETURNING portfolio_id, lease_token`, ids)
	if err != nil {
		w.t.Fatal(err)
	}
	claims, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AdvanceClaim, error) {
		var c AdvanceClaim
		return c, r.Scan(&c.PortfolioID, &c.LeaseToken)
	})
	if err != nil || len(claims) != len(ids) {
		w.t.Fatalf("lease: %d of %d: %v", len(claims), len(ids), err)
	}
	return claims
}

// advance runs one batched advance of ids and fails on any error.
func (w *advanceWorld) advance(e *Engine, ids []uuid.UUID) []AdvanceResult {
	w.t.Helper()
	out := e.Advance(context.Background(), w.lease(ids), nil)
	for _, r := range out {
		if r.Err != nil || !r.Settled {
			w.t.Fatalf("advance %s: settled %v, %v", r.Result.PortfolioID, r.Settled, r.Err)
		}
	}
	return out
}

// texts runs a query of one text column with $1 = id.
func (w *advanceWorld) texts(sql string, id uuid.UUID) []string {
	w.t.Helper()
	rows, err := w.db.Pool.Query(context.Background(), sql, id)
	if err != nil {
		w.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// everything is every row a backfill writes of a portfolio, but its ids
// and timestamps: snapshots, correlation sets on or after since, the
// latest run's outcome and stress columns, the rolling state and the
// watermark.
func (w *advanceWorld) everything(id uuid.UUID, since time.Time) map[string][]string {
	w.t.Helper()
	return map[string][]string{
		"snapshots": w.rowsText(id),
		"correlation_sets": w.texts(fmt.Sprintf(`
			SELECT (to_jsonb(c) - 'portfolio_id' - 'batch_run_id' - 'computed_at')::text
			FROM backfill.correlation_sets c WHERE portfolio_id = $1 AND as_of_date >= '%s' ORDER BY as_of_date`,
			since.Format(time.DateOnly)), id),
		"run": w.texts(`
			SELECT row(status, from_date, through_date, days_total, days_written, warnings, error)::text
			FROM backfill.batch_runs WHERE portfolio_id = $1 ORDER BY started_at DESC LIMIT 1`, id),
		"run_stress": w.texts(`
			SELECT row(factors, stress_scenarios, stress_categories, stress_factors_missing, stress_factors, stress_shocks)::text
			FROM backfill.batch_runs WHERE portfolio_id = $1 ORDER BY started_at DESC LIMIT 1`, id),
		"rolling_state": w.texts(`
			SELECT (to_jsonb(r) - 'portfolio_id' - 'updated_at' - 'rewind_seq')::text
			FROM backfill.portfolio_rolling_state r WHERE portfolio_id = $1`, id),
		"state": w.texts(`
			SELECT row(status, snapshot_through, target_date, attempts, requested_at IS NULL, behind_since IS NULL,
			           lease_token IS NULL, last_error)::text
			FROM backfill.backfill_state WHERE portfolio_id = $1`, id),
	}
}

// sameEverything fails unless portfolios a and b have written the same;
// skip names what not to compare.
func (w *advanceWorld) sameEverything(what string, a, b uuid.UUID, since time.Time, skip ...string) {
	w.t.Helper()
	ga, gb := w.everything(a, since), w.everything(b, since)
	for k, rows := range ga {
		if slices.Contains(skip, k) {
			continue
		}
		if len(rows) == 0 && k != "correlation_sets" {
			w.t.Fatalf("%s: %s: no rows", what, k)
		}
		sameRows(w.t, what+": "+k, rows, gb[k])
	}
}

// A batched nightly advance writes exactly what a one-portfolio-at-a-time
// backfill writes — every column of the snapshots, the correlation sets,
// the runs' outcome and stress columns, the rolling state and the state —
// on each of several consecutive days, and what a full recompute from
// inception writes; a portfolio without a valid rolling state (none, or
// one a rewind outdated) advances from its snapshots to the same rows.
func TestAdvanceEqualsPerPortfolio(t *testing.T) {
	t.Parallel()
	w := newAdvanceWorld(t)
	const n = 20
	batched, single := w.portfolios(n), w.portfolios(n)
	eb, es := w.newEngine(nil), w.newEngine(nil)
	days := w.sessions[len(w.sessions)-4:]
	w.at(days[0])
	for i := range n {
		for _, id := range []uuid.UUID{batched[i], single[i]} {
			if _, err := es.Backfill(context.Background(), id, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k, d := range days[1:] {
		w.at(d)
		switch k {
		case 1:
			// No rolling state: the advance reads the snapshots.
			w.exec(`DELETE FROM backfill.portfolio_rolling_state WHERE portfolio_id = $1`, batched[0])
		case 2:
			// A rolling state that a rewind outdated is not trusted.
			w.exec(`UPDATE backfill.backfill_state SET rewind_seq = rewind_seq + 1 WHERE portfolio_id = $1`, batched[1])
			w.exec(`UPDATE backfill.portfolio_rolling_state SET nav = nav + 1 WHERE portfolio_id = $1`, batched[1])
		}
		out := w.advance(eb, batched)
		for i, r := range out {
			if r.Result.DaysWritten != 1 || !r.Result.Through.Equal(d) {
				t.Fatalf("day %s: portfolio %d wrote %d days through %s", dayText(d), i, r.Result.DaysWritten, dayText(r.Result.Through))
			}
		}
		for i := range n {
			if _, err := es.Backfill(context.Background(), single[i], nil); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			w.sameEverything(fmt.Sprintf("day %s portfolio %d", dayText(d), i), batched[i], single[i], days[0])
		}
	}
	// A full recompute from inception by a fresh engine.
	last := days[len(days)-1]
	full := w.portfolios(n)
	ef := w.newEngine(nil)
	for i := range n {
		if _, err := ef.Backfill(context.Background(), full[i], nil); err != nil {
			t.Fatal(err)
		}
		// The recompute's run covers every day: its outcome differs.
		w.sameEverything(fmt.Sprintf("full recompute portfolio %d", i), batched[i], full[i], last, "run")
	}
}

func dayText(t time.Time) string { return t.Format(time.DateOnly) }

// An implausible portfolio fails alone: its run is recorded failed with the
// value it refused, nothing of it is written, and the rest of the batch is.
func TestAdvanceImplausibleFailsAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-09T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501, 502, 503, 504)
	f.prices("XYZ", "2024-03-04", 100, 101, 102, 103, 104)
	f.prices("BAD", "2024-03-04", 100, 101, 102, 103, 10400)
	ctx := context.Background()
	var ids []uuid.UUID
	for i := range 4 {
		rows := []string{"XYZ,10,100,2024-03-04,,,,,,,,"}
		if i == 2 {
			rows = append(rows, "BAD,10,100,2024-03-04,,,,,,,,")
		}
		id := f.onboard("1000", rows...)
		f.backfill(id, &BackfillOpts{Through: date("2024-03-07")})
		ids = append(ids, id)
	}
	w := &advanceWorld{fixture: f}
	out := f.engine.Advance(ctx, w.lease(ids), nil)
	for i, r := range out {
		if i != 2 {
			if r.Err != nil || !r.Settled || r.Result.DaysWritten != 1 {
				t.Errorf("portfolio %d: settled %v, %d days, %v", i, r.Settled, r.Result.DaysWritten, r.Err)
			}
			continue
		}
		var ie *ImplausibleError
		if !errors.As(r.Err, &ie) || r.Settled || r.Result.Status != portfolio.RunFailed || r.Result.DaysWritten != 0 {
			t.Fatalf("implausible portfolio: settled %v, %+v, %v", r.Settled, r.Result, r.Err)
		}
	}
	var status, runErr string
	if err := f.db.Pool.QueryRow(ctx, `SELECT status, coalesce(error, '') FROM backfill.batch_runs
		WHERE portfolio_id = $1 ORDER BY started_at DESC LIMIT 1`, ids[2]).Scan(&status, &runErr); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.Contains(runErr, "BAD") {
		t.Errorf("the implausible portfolio's run: %s, %q", status, runErr)
	}
	if n := len(f.snapshots(ids[2])); n != 4 {
		t.Errorf("the implausible portfolio has %d days, want the 4 before", n)
	}
	if st, wm := f.state(ids[2]); st != "failing" || !wm.Equal(date("2024-03-07")) {
		t.Errorf("the implausible portfolio: %s through %v", st, wm)
	}
	for _, i := range []int{0, 1, 3} {
		if st, wm := f.state(ids[i]); st != "current" || !wm.Equal(date("2024-03-08")) {
			t.Errorf("portfolio %d: %s through %v", i, st, wm)
		}
	}
}
