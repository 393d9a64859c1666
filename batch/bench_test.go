package batch

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// benchWorld is a database with prices for a universe of symbols over a
// range of sessions and onboarded portfolios.
type benchWorld struct {
	db         *portfoliotest.DB
	engine     *Engine // with analytics
	plain      *Engine // without
	portfolios []uuid.UUID
	sessions   []time.Time
	timings    map[*Engine]*Timings // summed over backfills, per engine
	// noCheckpoint: the server refused CHECKPOINT (said once).
	noCheckpoint bool
}

// newBenchWorld loads closes for nSymbols symbols (and SPY) over the
// sessions ending 2024-12-31, and onboards nPortfolios portfolios of
// nPositions positions each, entered on the first session.
func newBenchWorld(b *testing.B, nSessions, nSymbols, nPortfolios, nPositions int) *benchWorld {
	b.Helper()
	ctx := context.Background()
	db := portfoliotest.NewDB(b)
	cal := NewNYSECalendar()
	last := date("2024-12-31")
	// Prices start a look-back before the portfolios' first day, so that
	// every backfilled day has full analytics windows.
	const lookback = 200
	sessions := SessionsEnding(cal, last, nSessions+lookback)
	rng := rand.New(rand.NewPCG(1, 2))
	symbols := []string{"SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"}
	for i := range nSymbols {
		symbols = append(symbols, fmt.Sprintf("S%04d", i))
	}
	var syms []string
	var dates []time.Time
	var closes []float64
	for _, s := range symbols {
		p := 20 + rng.Float64()*180
		for _, d := range sessions {
			p *= math.Exp(rng.NormFloat64() * 0.015)
			syms, dates, closes = append(syms, s), append(dates, d), append(closes, math.Round(p*100)/100)
		}
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO backfill.market_prices (symbol, price_date, close)
		SELECT * FROM unnest($1::text[], $2::date[], $3::float8[])`, syms, dates, closes); err != nil {
		b.Fatal(err)
	}
	// Reference data for every symbol but one in ten: sectors, betas.
	refRng := rand.New(rand.NewPCG(3, 4))
	var refs strings.Builder
	refs.WriteString("symbol,asset_type,sector,beta\n")
	for i, s := range symbols {
		if i%10 != 9 {
			fmt.Fprintf(&refs, "%s,stock,%s,%.2f\n", s, Sectors[i%len(Sectors)], 0.5+refRng.Float64())
		}
	}
	if _, err := ImportSymbols(ctx, db.Pool, strings.NewReader(refs.String()), "bench-symbols.csv", nil); err != nil {
		b.Fatal(err)
	}
	now := func() time.Time { return last.Add(36 * time.Hour) }
	client, err := portfolio.NewClient(db.Pool, &portfolio.Config{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	sessions = sessions[lookback:]
	w := &benchWorld{db: db, sessions: sessions, timings: map[*Engine]*Timings{}}
	entry := sessions[0].Format(time.DateOnly)
	for i := range nPortfolios {
		var sb strings.Builder
		sb.WriteString("Symbol,Quantity,Entry Price Per Share,Entry Date\n")
		for _, k := range rng.Perm(nSymbols)[:nPositions] {
			q := 1 + rng.IntN(500)
			if rng.IntN(5) == 0 {
				q = -q
			}
			fmt.Fprintf(&sb, "S%04d,%d,%.2f,%s\n", k, q, 10+rng.Float64()*100, entry)
		}
		res, err := client.Onboard(ctx, &portfolio.OnboardRequest{
			OwnerID: "bench", PortfolioName: "p", AccountName: fmt.Sprint("acct-", i), AccountType: "taxable",
			StartingEquity: "1000000", CSV: strings.NewReader(sb.String()), NoRequest: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		w.portfolios = append(w.portfolios, res.PortfolioID)
	}
	w.engine, err = NewEngine(db.Pool, &Config{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	w.plain, err = NewEngine(db.Pool, &Config{Now: now, Analytics: AnalyticsConfig{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// reset forgets every snapshot and run, as before a first backfill, and
// checkpoints: the timed backfills then start alike, rather than the one
// after a COPY baseline writing out the baseline's dirty pages.
func (w *benchWorld) reset(b *testing.B) {
	b.Helper()
	_, err := w.db.Pool.Exec(context.Background(), `
		TRUNCATE backfill.portfolio_snapshots, backfill.batch_runs;
		UPDATE backfill.backfill_state SET snapshot_through = NULL, status = 'pending'`)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.db.Pool.Exec(context.Background(), `VACUUM ANALYZE backfill.backfill_state`); err != nil {
		b.Fatal(err)
	}
	// CHECKPOINT needs a superuser or pg_checkpoint, which a server given
	// by TEST_DATABASE_URL may not grant: the benchmark then runs without.
	if _, err := w.db.Pool.Exec(context.Background(), `CHECKPOINT`); err != nil && !w.noCheckpoint {
		w.noCheckpoint = true
		b.Logf("no checkpoint between runs: %v", err)
	}
}

// backfillAll backfills every portfolio with workers goroutines.
func (w *benchWorld) backfillAll(b *testing.B, e *Engine, workers int) int {
	b.Helper()
	ids := make(chan uuid.UUID)
	var mu sync.Mutex
	days := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for id := range ids {
				res, err := e.Backfill(context.Background(), id, nil)
				if err != nil {
					b.Error(err)
					continue
				}
				mu.Lock()
				days += res.DaysWritten
				t := w.timings[e]
				if t == nil {
					t = new(Timings)
					w.timings[e] = t
				}
				t.Load += res.Timings.Load
				t.Prices += res.Timings.Prices
				t.Compute += res.Timings.Compute
				t.Write += res.Timings.Write
				t.Total += res.Timings.Total
				mu.Unlock()
			}
		})
	}
	for _, id := range w.portfolios {
		ids <- id
	}
	close(ids)
	wg.Wait()
	return days
}

// BenchmarkBackfill13Positions254Days: the system we replace needed 894 s
// for this portfolio.
func BenchmarkBackfill13Positions254Days(b *testing.B) {
	w := newBenchWorld(b, 254, 13, 1, 13)
	for b.Loop() {
		b.StopTimer()
		w.reset(b)
		b.StartTimer()
		if days := w.backfillAll(b, w.engine, 1); days != 254 {
			b.Fatalf("wrote %d days, want 254", days)
		}
	}
}

// BenchmarkBackfill1000x50x252 backfills 1,000 portfolios of 50 positions
// over 252 sessions with 4 concurrent backfills (the reconciler's default),
// without and with risk analytics, and, in the same run, COPYs the same
// snapshot rows into the same table in one stream. It reports
// portfolio-days/s, the engine/COPY time ratio (without analytics), and
// how much analytics add to the wall time.
func BenchmarkBackfill1000x50x252(b *testing.B) {
	const portfolios, positions, sessions, workers = 1000, 50, 252, 4
	w := newBenchWorld(b, sessions, 500, portfolios, positions)
	ctx := context.Background()
	var plainTime, analyticsTime, copyTime, analyticsCopyTime time.Duration
	for b.Loop() {
		b.StopTimer()
		w.reset(b)
		b.StartTimer()
		t0 := time.Now()
		if days := w.backfillAll(b, w.plain, workers); days != portfolios*sessions {
			b.Fatalf("wrote %d days, want %d", days, portfolios*sessions)
		}
		plainTime += time.Since(t0)
		b.StopTimer()

		// The baseline: the same rows, in the binary COPY format the
		// engine writes,
		// COPYed in one stream into the emptied table.
		var data bytes.Buffer
		cols := strings.Join(snapshotColumns, ", ")
		conn, err := w.db.Pool.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Conn().PgConn().CopyTo(ctx, &data, `COPY backfill.portfolio_snapshots (`+cols+`) TO STDOUT (FORMAT binary)`); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `TRUNCATE backfill.portfolio_snapshots`); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		tag, err := conn.Conn().PgConn().CopyFrom(ctx, &data, `COPY backfill.portfolio_snapshots (`+cols+`) FROM STDIN (FORMAT binary)`)
		if err != nil || tag.RowsAffected() != portfolios*sessions {
			b.Fatal(tag, err)
		}
		copyTime += time.Since(t1)
		conn.Release()

		w.reset(b)
		b.StartTimer()
		t2 := time.Now()
		if days := w.backfillAll(b, w.engine, workers); days != portfolios*sessions {
			b.Fatalf("wrote %d days with analytics, want %d", days, portfolios*sessions)
		}
		analyticsTime += time.Since(t2)

		// The same baseline for the wider rows with analytics.
		b.StopTimer()
		data.Reset()
		conn, err = w.db.Pool.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Conn().PgConn().CopyTo(ctx, &data, `COPY backfill.portfolio_snapshots (`+cols+`) TO STDOUT (FORMAT binary)`); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `TRUNCATE backfill.portfolio_snapshots`); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if _, err := conn.Conn().PgConn().CopyFrom(ctx, &data, `COPY backfill.portfolio_snapshots (`+cols+`) FROM STDIN (FORMAT binary)`); err != nil {
			b.Fatal(err)
		}
		analyticsCopyTime += time.Since(t3)
		conn.Release()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(portfolios*sessions)*n/plainTime.Seconds(), "portfolio-days/s")
	b.ReportMetric(float64(portfolios*sessions)*n/analyticsTime.Seconds(), "analytics-portfolio-days/s")
	b.ReportMetric(plainTime.Seconds()/copyTime.Seconds(), "engine/copy")
	b.ReportMetric(analyticsTime.Seconds()/plainTime.Seconds(), "analytics/plain")
	b.ReportMetric(copyTime.Seconds()/n, "copy-s/op")
	b.ReportMetric(analyticsTime.Seconds()/analyticsCopyTime.Seconds(), "analytics-engine/copy")
	b.Logf("engine phases summed over workers, without analytics: %+v", *w.timings[w.plain])
	b.Logf("engine phases summed over workers, with analytics: %+v", *w.timings[w.engine])
}
