package batch

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigmasight/backfill/portfolio"
)

// MaxClose is the bound on imported closes: a close must be less than 1e9.
// No listed security trades near it (the highest share prices are in the
// hundreds of thousands), so a larger close is a wrong column, a lost
// decimal point or a corrupted feed, and it would swamp every NAV it
// reaches.
const MaxClose = 1e9

// MaxDailyJump is the largest day-over-day factor an import accepts without
// ImportOpts.AllowJumps: a close more than 10 times, or less than a tenth of,
// the close before it is rejected.
const MaxDailyJump = 10

const (
	// maxCloseIntDigits is MaxClose as a digit count: closes with 10 or
	// more integer digits are ≥ 1e9.
	maxCloseIntDigits = 9
	maxCloseText      = "1e9"
	// jumpSlack keeps float rounding from flagging a move of exactly ×10.
	jumpSlack = 1 + 1e-12
)

// minPriceDay is the earliest date a price may carry.
var minPriceDay = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// currentSession returns the calendar's latest session on or before now's
// date in the market's time zone, as a date at 00:00 UTC: the last day a
// close may exist for (today's once the market has closed).
func currentSession(c Calendar, now time.Time) time.Time {
	return SessionsEnding(c, now.In(c.Location()), 1)[0]
}

// checkPriceDay returns a reason when day, written as text, is before 1970
// or after the current session lastDay.
func checkPriceDay(day time.Time, text string, lastDay time.Time) string {
	switch {
	case day.Before(minPriceDay):
		return "date " + priceQuote(text) + " is before 1970-01-01"
	case day.After(lastDay):
		return "date " + priceQuote(text) + " is after the current session, " + lastDay.Format(time.DateOnly) +
			": no close exists for it yet (the clock is --now / BACKFILL_NOW, or ImportOpts.Now)"
	}
	return ""
}

// upperSymbol upper-cases a valid symbol, so that aapl and AAPL are one.
func upperSymbol(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

// jumpClose is one close of a symbol's series in a jump check: from the file
// (line > 0) or stored (line 0).
type jumpClose struct {
	day   time.Time
	close portfolio.Decimal
	value float64
	line  int
}

// storedNeighbours reads, for each symbol of rows, the stored closes from
// the last one before the symbol's first date in rows through the first one
// after its last date, by symbol and date.
func storedNeighbours(ctx context.Context, q portfolio.Querier, schema portfolio.Schema, rows []PriceRow) (map[string][]jumpClose, error) {
	type span struct{ lo, hi time.Time }
	spans := make(map[string]span)
	for _, r := range rows {
		s, ok := spans[r.Symbol]
		if !ok {
			spans[r.Symbol] = span{r.Date, r.Date}
			continue
		}
		if r.Date.Before(s.lo) {
			s.lo = r.Date
		}
		if r.Date.After(s.hi) {
			s.hi = r.Date
		}
		spans[r.Symbol] = s
	}
	symbols := make([]string, 0, len(spans))
	los := make([]time.Time, 0, len(spans))
	his := make([]time.Time, 0, len(spans))
	for sym, s := range spans {
		symbols, los, his = append(symbols, sym), append(los, s.lo), append(his, s.hi)
	}
	res, err := q.Query(ctx, schema.SQL(`
SELECT f.symbol, m.price_date, m.close::text
FROM unnest($1::text[], $2::date[], $3::date[]) AS f(symbol, lo, hi)
CROSS JOIN LATERAL (
    (SELECT price_date, close FROM {schema}.market_prices
     WHERE symbol = f.symbol AND price_date < f.lo ORDER BY price_date DESC LIMIT 1)
    UNION ALL
    (SELECT price_date, close FROM {schema}.market_prices
     WHERE symbol = f.symbol AND price_date BETWEEN f.lo AND f.hi)
    UNION ALL
    (SELECT price_date, close FROM {schema}.market_prices
     WHERE symbol = f.symbol AND price_date > f.hi ORDER BY price_date LIMIT 1)
) AS m`), symbols, los, his)
	if err != nil {
		return nil, fmt.Errorf("read stored closes: %w", err)
	}
	defer res.Close()
	stored := make(map[string][]jumpClose)
	for res.Next() {
		var (
			sym  string
			day  time.Time
			text string
		)
		if err := res.Scan(&sym, &day, &text); err != nil {
			return nil, fmt.Errorf("read stored closes: %w", err)
		}
		d, err := portfolio.ParseDecimal(text)
		if err != nil {
			return nil, fmt.Errorf("read stored closes: %s on %s: %w", sym, day.Format(time.DateOnly), err)
		}
		stored[sym] = append(stored[sym], jumpClose{day: day, close: d, value: d.Float64()})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("read stored closes: %w", err)
	}
	return stored, nil
}

// checkJumps returns a problem for every pair of consecutive closes of a
// symbol, at least one of them from rows, whose ratio is beyond
// ×MaxDailyJump or ÷MaxDailyJump. The series is rows merged with stored
// (a row replaces the stored close of its date), so that a row is checked
// against the close before it in the file or, when the file has none
// closer, the stored one; and a stored close against a row just before it.
// Problems are named on the row's line, in line order.
func checkJumps(rows []PriceRow, stored map[string][]jumpClose) []PriceProblem {
	series := make(map[string][]jumpClose)
	for _, r := range rows {
		series[r.Symbol] = append(series[r.Symbol], jumpClose{day: r.Date, close: r.Close, value: r.Close.Float64(), line: r.Line})
	}
	var problems []PriceProblem
	for sym, s := range series {
		for _, c := range stored[sym] {
			s = append(s, c)
		}
		// By date, the file's close first on a date both have.
		slices.SortStableFunc(s, func(a, b jumpClose) int {
			if c := a.day.Compare(b.day); c != 0 {
				return c
			}
			return -cmpBool(a.line > 0, b.line > 0)
		})
		s = slices.CompactFunc(s, func(a, b jumpClose) bool { return a.day.Equal(b.day) })
		for i := 1; i < len(s); i++ {
			prev, cur := s[i-1], s[i]
			if prev.line == 0 && cur.line == 0 {
				continue
			}
			if cur.value <= prev.value*MaxDailyJump*jumpSlack && prev.value <= cur.value*MaxDailyJump*jumpSlack {
				continue
			}
			problems = append(problems, jumpProblem(sym, prev, cur))
		}
	}
	slices.SortFunc(problems, func(a, b PriceProblem) int { return a.Line - b.Line })
	return problems
}

// jumpProblem describes the move from prev to cur, on the line of the
// file's close among them.
func jumpProblem(sym string, prev, cur jumpClose) PriceProblem {
	where := func(c jumpClose) string {
		if c.line > 0 {
			return "line " + strconv.Itoa(c.line)
		}
		return "stored"
	}
	factor := cur.value / prev.value
	move := "×" + strconv.FormatFloat(factor, 'g', 3, 64)
	if factor < 1 {
		move = "÷" + strconv.FormatFloat(1/factor, 'g', 3, 64)
	}
	line, what := cur.line, ""
	if line == 0 {
		line, what = prev.line, " (stored)"
	}
	return PriceProblem{Line: line, Reason: fmt.Sprintf(
		"%s close %s on %s%s is %s the close %s on %s (%s): a day-over-day move beyond ×%d or ÷%d; "+
			"fix the close, or import with --allow-jumps (ImportOpts.AllowJumps) if the move is real",
		sym, cur.close, cur.day.Format(time.DateOnly), what, move, prev.close, prev.day.Format(time.DateOnly), where(prev),
		MaxDailyJump, MaxDailyJump)}
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
