package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

// world is the synthetic world of one bench run.
type world struct {
	seed     uint64
	sessions []time.Time // history, then the benchmarked sessions
	first    time.Time   // the portfolios' entry day
	cal      batch.Calendar
	clock    atomic.Int64 // the clock, in Unix nanoseconds: an hour after a close (see at)
	proxies  []string     // SPY and the analytics' proxies
	symbols  []string     // the universe, S0000…
}

func newWorld(f *Options) *world {
	cal := batch.NewNYSECalendar()
	last, _ := time.Parse(time.DateOnly, LastSession)
	history := max(minHistory, (&batch.AnalyticsConfig{}).Lookback())
	sessions := batch.SessionsEnding(cal, last, history+f.Sessions)
	w := &world{
		seed: f.Seed, sessions: sessions, first: sessions[history], cal: cal,
		proxies: []string{batch.DefaultBenchmark, batch.DefaultRatesProxy},
	}
	w.at(last)
	for _, s := range batch.DefaultStyleFactors() {
		w.proxies = append(w.proxies, s.Proxy)
	}
	for _, s := range batch.DefaultSpreadFactors() {
		w.proxies = append(w.proxies, s.Long, s.Short)
	}
	slices.Sort(w.proxies)
	w.proxies = slices.Compact(w.proxies)
	for i := range f.Symbols {
		w.symbols = append(w.symbols, fmt.Sprintf("S%04d", i))
	}
	return w
}

// at sets the world's clock to an hour after day's close.
func (w *world) at(day time.Time) {
	closeAt, _ := w.cal.Close(day)
	w.clock.Store(closeAt.Add(time.Hour).UnixNano())
}

// now is the world's clock.
func (w *world) now() time.Time { return time.Unix(0, w.clock.Load()).UTC() }

// The world's random streams: one per symbol's prices and one per
// portfolio, so each is the same whatever the order of generation.
const (
	priceStream     = 1 << 40
	portfolioStream = 2 << 40
)

// pricesCSV writes the closes of symbols in the price import's format: a
// geometric random walk from a price between 20 and 200, 1.5% daily
// volatility, in cents. A symbol's walk depends only on the seed and its
// index in the import order: k0 for the first of symbols. Only the
// sessions from from through to are written.
func (w *world) pricesCSV(buf *bytes.Buffer, symbols []string, k0 int, from, to time.Time) {
	buf.WriteString("date,symbol,close\n")
	for i, s := range symbols {
		rng := rand.New(rand.NewPCG(w.seed, priceStream+uint64(k0+i)))
		p := 20 + rng.Float64()*180
		for _, d := range w.sessions {
			p *= math.Exp(rng.NormFloat64() * 0.015)
			if d.Before(from) || d.After(to) {
				continue
			}
			fmt.Fprintf(buf, "%s,%s,%.2f\n", d.Format(time.DateOnly), s, max(p, 0.01))
		}
	}
}

// positionsCSV is portfolio i's positions file: n distinct symbols of the
// universe with random quantities (one in five short) and entry prices,
// entered on the first session.
func (w *world) positionsCSV(i, n int) string {
	rng := rand.New(rand.NewPCG(w.seed, portfolioStream+uint64(i)))
	entry := w.first.Format(time.DateOnly)
	var b strings.Builder
	b.WriteString("Symbol,Quantity,Entry Price Per Share,Entry Date\n")
	for _, k := range rng.Perm(len(w.symbols))[:n] {
		q := 1 + rng.IntN(500)
		if rng.IntN(5) == 0 {
			q = -q
		}
		fmt.Fprintf(&b, "%s,%d,%.2f,%s\n", w.symbols[k], q, 10+rng.Float64()*100, entry)
	}
	return b.String()
}

// importPrices imports the world's closes from from through to in chunks
// of symbols and returns the number of rows.
func importPrices(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, w *world, from, to time.Time) (int, error) {
	all := append(slices.Clone(w.proxies), w.symbols...)
	per := max(1, priceChunkRows/len(w.sessions))
	rows := 0
	var buf bytes.Buffer
	for k := 0; k < len(all); k += per {
		chunk := all[k:min(k+per, len(all))]
		buf.Reset()
		w.pricesCSV(&buf, chunk, k, from, to)
		res, err := batch.ImportPrices(ctx, pool, &buf, "bench", &batch.ImportOpts{Schema: schema, Source: "bench", Now: w.now})
		if err != nil {
			return rows, fmt.Errorf("import prices: %w", err)
		}
		rows += res.Rows
	}
	return rows, nil
}
