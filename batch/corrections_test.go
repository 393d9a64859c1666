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

	"github.com/sigmasight/backfill/portfolio"
)

// correctionWorld is the analytics fixture with three portfolios backfilled
// through 2024-12-31: two hold XBETA (one through an option on it), one
// holds only OTHER.
type correctionWorld struct {
	*fixture
	sessions []time.Time
	holder   uuid.UUID // XBETA and OTHER
	optHold  uuid.UUID // a call on XBETA, and OTHER
	other    uuid.UUID // OTHER only
}

var (
	holderRows = []string{"XBETA,100,50,2024-01-02,,,,,,,,", "OTHER,-200,30,2024-01-02,,,,,,,,"}
	optRows    = []string{",2,5,2024-01-02,OPTIONS,,XBETA,40,2025-06-20,CALL,,", "OTHER,50,30,2024-01-02,,,,,,,,"}
	otherRows  = []string{"OTHER,300,30,2024-01-02,,,,,,,,"}
)

func newCorrectionWorld(t *testing.T) *correctionWorld {
	f, sessions := analyticsFixture(t)
	w := &correctionWorld{fixture: f, sessions: sessions}
	// The fixture's own closes are changes too: apply them first.
	if _, err := f.engine.ApplyPriceChanges(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	w.holder = f.onboard("1000000", holderRows...)
	w.optHold = f.onboard("1000000", optRows...)
	w.other = f.onboard("1000000", otherRows...)
	for _, id := range []uuid.UUID{w.holder, w.optHold, w.other} {
		if res := f.backfill(id, nil); res.DaysWritten != 252 {
			t.Fatalf("backfill wrote %d days", res.DaysWritten)
		}
	}
	return w
}

// sweep applies the recorded price changes and backfills every portfolio
// that is behind, as one reconciler sweep does, with the fixture's engine
// (whose caches hold the closes from before the change).
func (w *correctionWorld) sweep() Applied {
	w.t.Helper()
	ctx := context.Background()
	applied, err := w.engine.ApplyPriceChanges(ctx, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, id := range []uuid.UUID{w.holder, w.optHold, w.other} {
		if st, wm := w.state(id); st != "current" || wm == nil || !wm.Equal(date("2024-12-31")) {
			w.backfill(id, nil)
		}
	}
	return applied
}

// twin onboards a portfolio with rows and backfills it with a fresh engine
// (empty caches), returning its rows.
func (w *correctionWorld) twin(rows []string) []string {
	w.t.Helper()
	id := w.onboard("1000000", rows...)
	fresh, err := NewEngine(w.db.Pool, &Config{Now: w.engine.cfg.Now})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := fresh.Backfill(context.Background(), id, nil); err != nil {
		w.t.Fatal(err)
	}
	return w.rowsText(id)
}

func (w *correctionWorld) exec(sql string, args ...any) {
	w.t.Helper()
	if _, err := w.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		w.t.Fatal(err)
	}
}

func sameRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: row %d differs:\n got %s\nwant %s", what, i, got[i], want[i])
		}
	}
}

// A correction made any way — import, SQL update, delete, insert of a
// carried-forward day, of a held symbol, the benchmark or a style ETF —
// reaches every holder after one sweep: their rows equal a fresh twin's,
// every column, and portfolios that do not depend on the symbol are not
// touched.
func TestCorrectionsReachEveryHolder(t *testing.T) {
	t.Parallel()
	mid := date("2024-06-12")
	cases := []struct {
		name     string
		change   func(w *correctionWorld)
		everyone bool
	}{
		{"import", func(w *correctionWorld) {
			old := closeOn(t, w.fixture, "XBETA", mid)
			csv := fmt.Sprintf("symbol,date,close\nXBETA,%s,%.4f\n", mid.Format(time.DateOnly), old*1.07)
			res, err := ImportPrices(context.Background(), w.db.Pool, strings.NewReader(csv), "fix.csv", nil)
			if err != nil || res.Updated != 1 {
				t.Fatalf("import: %+v %v", res, err)
			}
		}, false},
		{"sql_update", func(w *correctionWorld) {
			w.exec(`UPDATE backfill.market_prices SET close = close * 0.9 WHERE symbol = 'XBETA' AND price_date = $1`, mid)
		}, false},
		{"sql_delete", func(w *correctionWorld) {
			w.exec(`DELETE FROM backfill.market_prices WHERE symbol = 'XBETA' AND price_date = $1`, mid)
		}, false},
		{"spy_update", func(w *correctionWorld) {
			w.exec(`UPDATE backfill.market_prices SET close = close * 1.02 WHERE symbol = 'SPY' AND price_date = $1`, mid)
		}, true},
		{"style_etf_update", func(w *correctionWorld) {
			w.exec(`UPDATE backfill.market_prices SET close = close * 1.05 WHERE symbol = 'VTV' AND price_date = $1`, mid)
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newCorrectionWorld(t)
			before := w.rowsText(w.other)
			tc.change(w)
			applied := w.sweep()
			if applied.Changes != 1 || applied.Rewound == 0 {
				t.Errorf("applied %+v", applied)
			}
			sameRows(t, "holder", w.rowsText(w.holder), w.twin(holderRows))
			sameRows(t, "option holder", w.rowsText(w.optHold), w.twin(optRows))
			if tc.everyone {
				sameRows(t, "other", w.rowsText(w.other), w.twin(otherRows))
			} else {
				sameRows(t, "untouched", w.rowsText(w.other), before)
				if runs := w.runStatuses(w.other); len(runs) != 1 {
					t.Errorf("a portfolio without the symbol got runs %v", runs)
				}
			}
			var trig string
			w.db.Pool.QueryRow(context.Background(), `SELECT trigger FROM backfill.batch_runs
				WHERE portfolio_id = $1 ORDER BY requested_at DESC LIMIT 1`, w.holder).Scan(&trig)
			if trig != string(portfolio.TriggerPriceCorrection) {
				t.Errorf("holder's last run has trigger %q", trig)
			}
		})
	}
}

// A close inserted on a day that was carried forward is a correction too,
// and the watermark moves back to the session before the change.
func TestCorrectionInsertOfCarriedDay(t *testing.T) {
	t.Parallel()
	mid := date("2024-06-12")
	f, _ := analyticsFixture(t)
	saved := closeOn(t, f, "XBETA", mid)
	w := &correctionWorld{fixture: f}
	w.exec(`DELETE FROM backfill.market_prices WHERE symbol = 'XBETA' AND price_date = $1`, mid)
	if _, err := f.engine.ApplyPriceChanges(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	w.holder = f.onboard("1000000", holderRows...)
	w.optHold = f.onboard("1000000", optRows...)
	w.other = f.onboard("1000000", otherRows...)
	for _, id := range []uuid.UUID{w.holder, w.optHold, w.other} {
		f.backfill(id, nil)
	}
	w.exec(`INSERT INTO backfill.market_prices (symbol, price_date, close) VALUES ('XBETA', $1, $2)`, mid, saved)
	if _, err := f.engine.ApplyPriceChanges(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if st, wm := f.state(w.holder); st != "pending" || !wm.Equal(PrevSession(f.cal, mid)) {
		t.Errorf("holder after the insert: %s, watermark %v; want pending at %s", st, wm, PrevSession(f.cal, mid).Format(time.DateOnly))
	}
	w.sweep()
	sameRows(t, "holder", w.rowsText(w.holder), w.twin(holderRows))
	sameRows(t, "option holder", w.rowsText(w.optHold), w.twin(optRows))
}

// An import of the same values (in another spelling) changes nothing and
// rewinds nothing.
func TestCorrectionSameValuesRewindNothing(t *testing.T) {
	t.Parallel()
	w := newCorrectionWorld(t)
	ctx := context.Background()
	var csv strings.Builder
	csv.WriteString("symbol,date,close\n")
	for _, d := range w.sessions[len(w.sessions)-30:] {
		var text string
		w.db.Pool.QueryRow(ctx, `SELECT close::text FROM backfill.market_prices WHERE symbol = 'XBETA' AND price_date = $1`, d).Scan(&text)
		if !strings.Contains(text, ".") {
			text += "."
		}
		fmt.Fprintf(&csv, "XBETA,%s,%s0\n", d.Format(time.DateOnly), text) // 12.5 as 12.50
	}
	res, err := ImportPrices(ctx, w.db.Pool, strings.NewReader(csv.String()), "same.csv", nil)
	if err != nil || res.Unchanged != 30 {
		t.Fatalf("import %+v %v", res, err)
	}
	w.exec(`UPDATE backfill.market_prices SET close = close WHERE symbol = 'OTHER'`)
	applied, err := w.engine.ApplyPriceChanges(ctx, nil)
	if err != nil || applied.Changes != 0 || applied.Rewound != 0 {
		t.Errorf("applied %+v %v, want nothing", applied, err)
	}
	for _, id := range []uuid.UUID{w.holder, w.optHold, w.other} {
		if st, wm := w.state(id); st != "current" || !wm.Equal(date("2024-12-31")) {
			t.Errorf("%s: %s at %v", id, st, wm)
		}
	}
}

// A correction committed while a backfill of the portfolio runs is not
// lost: the running backfill still writes its days but leaves the
// watermark where the rewind put it, the portfolio stays requested, and
// the next backfill makes its rows equal a fresh twin's.
func TestCorrectionDuringBackfill(t *testing.T) {
	t.Parallel()
	f, _ := analyticsFixture(t)
	f.engine.cfg.ChunkDays = 50
	w := &correctionWorld{fixture: f}
	if _, err := f.engine.ApplyPriceChanges(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	id := f.onboard("1000000", holderRows...)
	mid := date("2024-03-12")
	ctx := context.Background()
	f.engine.afterChunk = func(written int) {
		if written != 50 {
			return
		}
		// Days through 2024-03-14 are written; the correction is dated
		// before them.
		w.exec(`UPDATE backfill.market_prices SET close = close * 1.3 WHERE symbol = 'XBETA' AND price_date = $1`, mid)
		if _, err := f.engine.ApplyPriceChanges(ctx, nil); err != nil {
			t.Error(err)
		}
	}
	res := f.backfill(id, nil)
	f.engine.afterChunk = nil
	if res.DaysWritten != 252 {
		t.Fatalf("first backfill wrote %d", res.DaysWritten)
	}
	st, wm := f.state(id)
	if st != "pending" || wm == nil || !wm.Equal(PrevSession(f.cal, mid)) {
		t.Fatalf("after a correction during the backfill: %s at %v, want pending at %s", st, wm, PrevSession(f.cal, mid).Format(time.DateOnly))
	}
	var requested bool
	f.db.Pool.QueryRow(ctx, `SELECT requested_at IS NOT NULL FROM backfill.backfill_state WHERE portfolio_id = $1`, id).Scan(&requested)
	if !requested {
		t.Error("the rewound portfolio is no longer requested")
	}
	if res := f.backfill(id, nil); !res.From.Equal(mid) {
		t.Errorf("next backfill from %s, want %s", res.From.Format(time.DateOnly), mid.Format(time.DateOnly))
	}
	sameRows(t, "after the correction", f.rowsText(id), w.twin(holderRows))
}

// Closes of 1e300 or Infinity (stored past the database's bound, e.g.
// before it existed, or supplied by a custom source) make the backfill fail
// naming the portfolio, day, field, value and symbol; nothing is written.
func TestImplausibleClosesRefused(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"1e300", "Infinity"} {
		t.Run(bad, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, "2024-03-08T12:00:00Z", nil)
			f.prices("SPY", "2024-03-04", 500, 501, 502, 503)
			f.prices("XYZ", "2024-03-04", 100, 101)
			ctx := context.Background()
			// The database refuses it…
			if _, err := f.db.Pool.Exec(ctx, `INSERT INTO backfill.market_prices (symbol, price_date, close) VALUES ('XYZ', '2024-03-06', $1::numeric)`, bad); err == nil {
				t.Fatal("the database accepted a close of " + bad)
			}
			// …unless its bound is gone.
			f.db.Pool.Exec(ctx, `ALTER TABLE backfill.market_prices DROP CONSTRAINT market_prices_close_bounds`)
			if _, err := f.db.Pool.Exec(ctx, `INSERT INTO backfill.market_prices (symbol, price_date, close) VALUES ('XYZ', '2024-03-06', $1::numeric)`, bad); err != nil {
				t.Fatal(err)
			}
			id := f.onboard("1000", "XYZ,10,100,2024-03-04,,,,,,,,")
			res, err := f.engine.Backfill(ctx, id, nil)
			var ie *ImplausibleError
			if !errors.As(err, &ie) || res.Status != portfolio.RunFailed {
				t.Fatalf("backfill: %+v, %v", res, err)
			}
			msg := err.Error()
			for _, want := range []string{id.String(), "2024-03-06", "nav", "XYZ"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %s", msg, want)
				}
			}
			if len(ie.Closes) == 0 || ie.Closes[0].Symbol != "XYZ" || !(ie.Closes[0].Value >= 1e300 || math.IsInf(ie.Closes[0].Value, 1)) {
				t.Errorf("suspects %+v", ie.Closes)
			}
			if n := len(f.snapshots(id)); n != 0 {
				t.Errorf("%d rows written", n)
			}
			if st, _ := f.state(id); st != "failing" {
				t.Errorf("state %s, want failing", st)
			}
			// Fixed: the next backfill completes.
			f.db.Pool.Exec(ctx, `UPDATE backfill.market_prices SET close = 102 WHERE symbol = 'XYZ' AND price_date = '2024-03-06'`)
			if res := f.backfill(id, nil); res.Status != portfolio.RunCompleted || res.DaysWritten != 4 {
				t.Errorf("after the fix: %+v", res)
			}
		})
	}
}

// A daily return beyond ±1,000 % is refused and names the close that moved.
func TestImplausibleReturnRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "2024-03-08T12:00:00Z", nil)
	f.prices("SPY", "2024-03-04", 500, 501, 502, 503)
	f.prices("XYZ", "2024-03-04", 100, 101, 5000, 5001)
	id := f.onboard("1000", "XYZ,10,100,2024-03-04,,,,,,,,")
	_, err := f.engine.Backfill(context.Background(), id, nil)
	var ie *ImplausibleError
	if !errors.As(err, &ie) || ie.Field != "daily_return" || len(ie.Closes) == 0 || ie.Closes[0].Symbol != "XYZ" || ie.Closes[0].Previous != 101 {
		t.Fatalf("err %v (%+v)", err, ie)
	}
}

// A change that a backfill has already seen — it loaded its prices after
// the change — causes no second computation, whether the backfill is done
// or still running.
func TestCorrectionAlreadySeenRewindsNothing(t *testing.T) {
	t.Parallel()
	f, _ := analyticsFixture(t) // its closes are recorded, not yet applied
	ctx := context.Background()
	done := f.onboard("1000000", holderRows...)
	f.backfill(done, nil)
	running := f.onboard("1000000", holderRows...)
	f.engine.cfg.ChunkDays = 100
	var applied Applied
	f.engine.afterChunk = func(written int) {
		if written == 100 {
			var err error
			if applied, err = f.engine.ApplyPriceChanges(ctx, nil); err != nil {
				t.Error(err)
			}
		}
	}
	f.backfill(running, nil)
	f.engine.afterChunk = nil
	if applied.Changes == 0 || applied.Rewound != 0 {
		t.Errorf("applied %+v: want the fixture's changes, and no rewind of portfolios that saw them", applied)
	}
	for _, id := range []uuid.UUID{done, running} {
		if st, wm := f.state(id); st != "current" || !wm.Equal(date("2024-12-31")) {
			t.Errorf("%s: %s at %v, want current", id, st, wm)
		}
		if runs := f.runStatuses(id); len(runs) != 1 {
			t.Errorf("%s: runs %v, want one", id, runs)
		}
	}
}
