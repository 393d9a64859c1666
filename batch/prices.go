package batch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sigmasight/backfill/portfolio"
)

// Close is one closing price.
type Close struct {
	// Date is the trading day, at 00:00 UTC.
	Date time.Time
	// Value is the closing price, in the symbol's currency.
	Value float64
}

// PriceSource supplies closing prices to the engine. Implementations must be
// safe for concurrent use.
type PriceSource interface {
	// Closes returns, for each requested symbol that has any, its closes
	// dated in [from, to] in date order, preceded by its last close before
	// from when one exists (so callers can carry a price forward into the
	// range). Symbols without any price are absent from the map. Only the
	// calendar dates of from and to count (year, month and day in their
	// own locations).
	Closes(ctx context.Context, symbols []string, from, to time.Time) (map[string][]Close, error)
	// Generation returns a number that changes whenever prices may have
	// changed; caches compare it to know when to reload. Read it before
	// Closes: a cache that stored the generation read before loading never
	// misses a change made during the load.
	Generation(ctx context.Context) (int64, error)
}

// DBPriceSource is the PriceSource that reads the market_prices table.
type DBPriceSource struct {
	db            portfolio.Querier
	closesSQL     string
	generationSQL string
	changesSQL    string
	prunedSQL     string
}

var _ PriceSource = (*DBPriceSource)(nil)

// NewDBPriceSource returns a PriceSource reading market_prices in schema (the
// zero Schema means portfolio.DefaultSchema) through db, which may be a pool,
// a connection or a transaction.
func NewDBPriceSource(db portfolio.Querier, schema portfolio.Schema) *DBPriceSource {
	return &DBPriceSource{
		db: db,
		// One round trip for every symbol. The first branch scans the
		// primary key (symbol, price_date) for the range; the second
		// finds each symbol's as-of seed with one backward index probe,
		// which stays cheap however old the seed is.
		closesSQL: schema.SQL(`
SELECT m.symbol, m.price_date, m.close::float8
FROM {schema}.market_prices AS m
WHERE m.symbol = ANY($1::text[]) AND m.price_date >= $2::date AND m.price_date <= $3::date
UNION ALL
SELECT s.symbol, p.price_date, p.close::float8
FROM unnest($1::text[]) AS s(symbol)
CROSS JOIN LATERAL (
    SELECT m.price_date, m.close
    FROM {schema}.market_prices AS m
    WHERE m.symbol = s.symbol AND m.price_date < $2::date
    ORDER BY m.price_date DESC
    LIMIT 1
) AS p`),
		generationSQL: schema.SQL(`SELECT generation FROM {schema}.price_generation`),
		changesSQL:    schema.SQL(`SELECT id, symbol, from_date, generation FROM {schema}.price_changes WHERE id > $1 ORDER BY id`),
		prunedSQL:     schema.SQL(`SELECT pruned_through FROM {schema}.price_generation`),
	}
}

// Closes implements PriceSource with one query for all symbols. Duplicate
// and empty symbols in the request are ignored.
func (s *DBPriceSource) Closes(ctx context.Context, symbols []string, from, to time.Time) (map[string][]Close, error) {
	from, to = priceDay(from), priceDay(to)
	if to.Before(from) {
		return nil, fmt.Errorf("load closes: range end %s is before its start %s", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	index := make(map[string]int, len(symbols))
	unique := make([]string, 0, len(symbols))
	for _, sym := range symbols {
		if _, dup := index[sym]; dup || sym == "" {
			continue
		}
		index[sym] = len(unique)
		unique = append(unique, sym)
	}
	out := make(map[string][]Close, len(unique))
	if len(unique) == 0 {
		return out, nil
	}

	rows, err := s.db.Query(ctx, s.closesSQL, unique, from, to)
	if err != nil {
		return nil, fmt.Errorf("load closes: %w", err)
	}
	defer rows.Close()
	seeds := make([]Close, len(unique)) // zero Date: no seed
	series := make([][]Close, len(unique))
	var (
		sym   string
		day   time.Time
		value float64
	)
	for rows.Next() {
		if err := rows.Scan(&sym, &day, &value); err != nil {
			return nil, fmt.Errorf("load closes: %w", err)
		}
		i, ok := index[sym]
		if !ok {
			return nil, fmt.Errorf("load closes: unexpected symbol %q in the result", sym)
		}
		c := Close{Date: day, Value: value}
		if day.Before(from) {
			seeds[i] = c
		} else {
			series[i] = append(series[i], c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load closes: %w", err)
	}

	for i, sym := range unique {
		cs := series[i]
		if len(cs) == 0 && seeds[i].Date.IsZero() {
			continue
		}
		// The index scan usually returns the range in order; sort only
		// when it did not.
		byDate := func(a, b Close) int { return a.Date.Compare(b.Date) }
		if !slices.IsSortedFunc(cs, byDate) {
			slices.SortFunc(cs, byDate)
		}
		if !seeds[i].Date.IsZero() {
			cs = slices.Insert(cs, 0, seeds[i])
		}
		out[sym] = cs
	}
	return out, nil
}

// Generation implements PriceSource: it returns the counter that a trigger
// on market_prices increments with every statement that changes it.
func (s *DBPriceSource) Generation(ctx context.Context) (int64, error) {
	var g int64
	if err := s.db.QueryRow(ctx, s.generationSQL).Scan(&g); err != nil {
		return 0, fmt.Errorf("read price generation: %w", err)
	}
	return g, nil
}

// priceDay returns the calendar date of t, read in t's own location, at
// 00:00 UTC.
func priceDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
