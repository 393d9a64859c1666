package batch

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// testPriceLimits are the parse limits of the defaults (the system clock)
// with the size limit maxBytes.
func testPriceLimits(maxBytes int64) priceLimits {
	return priceLimits{maxBytes: maxBytes, lastDay: currentSession(NewNYSECalendar(), time.Now())}
}

func TestCurrentSession(t *testing.T) {
	t.Parallel()
	cal := NewNYSECalendar()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2024, 1, 5, 9, 0, 0, 0, ny), "2024-01-05"},       // a Friday morning: the session in progress
		{time.Date(2024, 1, 6, 12, 0, 0, 0, ny), "2024-01-05"},      // Saturday
		{time.Date(2024, 1, 8, 3, 0, 0, 0, time.UTC), "2024-01-05"}, // Sunday evening in New York
		{time.Date(2024, 1, 1, 12, 0, 0, 0, ny), "2023-12-29"},      // New Year's Day
	} {
		if got := currentSession(cal, tt.now).Format(time.DateOnly); got != tt.want {
			t.Errorf("currentSession(%s) = %s, want %s", tt.now, got, tt.want)
		}
	}
}

// TestImportPricesPlausibility imports files with implausible rows into a
// database holding closes: each is rejected naming the file and line, and
// nothing of it is written; AllowJumps lets real jumps through.
func TestImportPricesPlausibility(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	src := NewDBPriceSource(db.Pool, "")
	// Saturday 2024-01-13: the current session is Friday the 12th.
	clock := func() time.Time { return time.Date(2024, 1, 13, 12, 0, 0, 0, time.UTC) }
	opts := &ImportOpts{Now: clock, Source: "base"}
	base := "date,symbol,close\n" +
		"2024-01-02,AAPL,185.64\n2024-01-03,AAPL,184.25\n" +
		"2024-01-08,AAPL,185.56\n2024-01-09,AAPL,185.14\n" +
		"2024-01-02,spy,472.65\n2024-01-03,Spy,468.79\n"
	if _, err := ImportPrices(ctx, db.Pool, strings.NewReader(base), "base.csv", opts); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"AAPL 2024-01-02 185.64 base", "AAPL 2024-01-03 184.25 base", "AAPL 2024-01-08 185.56 base",
		"AAPL 2024-01-09 185.14 base", "SPY 2024-01-02 472.65 base", "SPY 2024-01-03 468.79 base",
	}
	if got := storedPrices(t, db.Pool); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("market_prices\n got %q\nwant %q (symbols upper-cased)", got, want)
	}
	generation := priceGeneration(t, src)

	const head = "date,symbol,close\n2024-01-04,MSFT,370.87\n" // line 2 is fine
	for _, tt := range []struct {
		name, input, want string
	}{
		{"close of 1e9", head + "2024-01-04,AAPL,1000000000.00\n",
			`bad.csv:3: close "1000000000.00" is 1e9 or more: no security trades that high; check the column and the decimal point`},
		{"close of 1e300 in digits", head + "2024-01-04,AAPL,1" + strings.Repeat("0", 300) + "\n",
			`bad.csv:3: close "1000000000000000000000000000000000000000"… is 1e9 or more: no security trades that high; check the column and the decimal point`},
		{"date after the current session", head + "2024-01-16,AAPL,185.92\n",
			`bad.csv:3: date "2024-01-16" is after the current session, 2024-01-12: no close exists for it yet (the clock is --now / BACKFILL_NOW, or ImportOpts.Now)`},
		{"date on the weekend of the clock", head + "2024-01-13,AAPL,185.92\n",
			`bad.csv:3: date "2024-01-13" is after the current session, 2024-01-12: no close exists for it yet (the clock is --now / BACKFILL_NOW, or ImportOpts.Now)`},
		{"date before 1970", head + "1969-12-31,AAPL,1.5\n",
			`bad.csv:3: date "1969-12-31" is before 1970-01-01`},
		{"duplicate in another case", head + "2024-01-04,msft,370.87\n",
			`bad.csv:3: duplicate price for MSFT on 2024-01-04 (first on line 2)`},
		{"jump within the file", head + "2024-01-05,MSFT,3708.71\n" + "2024-01-08,MSFT,367.75\n",
			"bad.csv:3: MSFT close 3708.71 on 2024-01-05 is ×10 the close 370.87 on 2024-01-04 (line 2): " + jumpAdvice},
		{"jump against the stored close before", head + "2024-01-04,AAPL,18.1\n",
			"bad.csv:3: AAPL close 18.1 on 2024-01-04 is ÷10.2 the close 184.25 on 2024-01-03 (stored): " + jumpAdvice},
		{"correction making the stored close after a jump", head + "2024-01-02,SPY,46.8\n",
			"bad.csv:3: SPY close 468.79 on 2024-01-03 (stored) is ×10 the close 46.8 on 2024-01-02 (line 3): " + jumpAdvice},
		{"correction making the stored next close a jump", head + "2024-01-03,spy,46.8\n",
			"bad.csv:3: SPY close 46.8 on 2024-01-03 is ÷10.1 the close 472.65 on 2024-01-02 (stored): " + jumpAdvice},
		{"jump in lower case against the stored close", head + "2024-01-10,aapl,1851.5\n",
			"bad.csv:3: AAPL close 1851.5 on 2024-01-10 is ×10 the close 185.14 on 2024-01-09 (stored): " + jumpAdvice},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Sequential: each case starts from the same stored closes.
			res, err := ImportPrices(ctx, db.Pool, strings.NewReader(tt.input), "bad.csv", opts)
			var perr *PriceFileError
			if !errors.As(err, &perr) {
				t.Fatalf("ImportPrices = %+v, %v; want a *PriceFileError", res, err)
			}
			if got := strings.SplitN(err.Error(), "\n", 2)[0]; got != tt.want {
				t.Errorf("error\n got %q\nwant %q", got, tt.want)
			}
			if got := storedPrices(t, db.Pool); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("market_prices changed: %q", got)
			}
			if g := priceGeneration(t, src); g != generation {
				t.Errorf("price generation %d, want %d unchanged", g, generation)
			}
		})
	}

	// A move of exactly ×10 is not beyond it; AllowJumps lets a real jump
	// through; a later session than the clock's is fine with a later clock.
	if _, err := ImportPrices(ctx, db.Pool, strings.NewReader("date,symbol,close\n2024-01-10,AAPL,1851.4\n"), "ten.csv", opts); err != nil {
		t.Errorf("a move of exactly ×10: %v", err)
	}
	jumpy := &ImportOpts{Now: clock, AllowJumps: true}
	res, err := ImportPrices(ctx, db.Pool, strings.NewReader("date,symbol,close\n2024-01-11,AAPL,18.5\n"), "split.csv", jumpy)
	if err != nil || res.Inserted != 1 {
		t.Errorf("AllowJumps: %+v, %v; want one row inserted", res, err)
	}
	later := &ImportOpts{Now: func() time.Time { return time.Date(2024, 1, 16, 22, 0, 0, 0, time.UTC) }}
	if _, err := ImportPrices(ctx, db.Pool, strings.NewReader("date,symbol,close\n2024-01-16,AAPL,18.6\n"), "later.csv", later); err != nil {
		t.Errorf("the session of a later clock: %v", err)
	}
}

// jumpAdvice ends the reason of a jump.
const jumpAdvice = "a day-over-day move beyond ×10 or ÷10; fix the close, or import with --allow-jumps (ImportOpts.AllowJumps) if the move is real"
