package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// storedPrices returns market_prices as "SYMBOL DATE CLOSE SOURCE" lines,
// with the close as PostgreSQL stores its text.
func storedPrices(t testing.TB, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT symbol, price_date::text, close::text, source FROM backfill.market_prices ORDER BY symbol, price_date`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sym, day, cl, src string
		if err := rows.Scan(&sym, &day, &cl, &src); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join([]string{sym, day, cl, src}, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func priceGeneration(t testing.TB, src *DBPriceSource) int64 {
	t.Helper()
	g, err := src.Generation(context.Background())
	if err != nil {
		t.Fatalf("Generation: %v", err)
	}
	return g
}

func priceD(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestImportPrices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	src := NewDBPriceSource(db.Pool, portfolio.DefaultSchema)

	// Each step imports a file into the database the previous steps left.
	steps := []struct {
		name   string
		file   string
		input  string
		opts   *ImportOpts
		want   ImportResult
		stored []string
	}{
		{
			name:  "first import inserts",
			file:  "testdata/prices/good.csv",
			input: readPriceTestdata(t, "good.csv"),
			want:  ImportResult{Rows: 9, Inserted: 9, Symbols: 3, From: priceD("2024-01-02"), To: priceD("2024-01-04")},
			stored: []string{
				"AAPL 2024-01-02 185.6400 good.csv",
				"AAPL 2024-01-03 184.25 good.csv",
				"AAPL 2024-01-04 181.91 good.csv",
				"SPY 2024-01-02 472.65 good.csv",
				"SPY 2024-01-03 468.79 good.csv",
				"SPY 2024-01-04 467.28 good.csv",
				"TLT 2024-01-02 98.21 good.csv",
				"TLT 2024-01-03 97.37 good.csv",
				"TLT 2024-01-04 96.52 good.csv",
			},
		},
		{
			name:  "same file again is unchanged",
			file:  "testdata/prices/good.csv",
			input: readPriceTestdata(t, "good.csv"),
			opts:  &ImportOpts{Source: "again"},
			want:  ImportResult{Rows: 9, Unchanged: 9, Symbols: 3, From: priceD("2024-01-02"), To: priceD("2024-01-04")},
		},
		{
			name: "changed closes update, equal values are unchanged, new rows insert",
			file: "fix.csv",
			input: "symbol,date,close\n" +
				"AAPL,2024-01-02,185.64\n" + // equal in value: unchanged, keeps its text
				"AAPL,2024-01-03,184.26\n" +
				"SPY,2024-01-04,467.2800001\n" +
				"SPY,2024-01-05,467.92\n",
			opts: &ImportOpts{Source: "vendor-fix"},
			want: ImportResult{Rows: 4, Inserted: 1, Updated: 2, Unchanged: 1, Symbols: 2, From: priceD("2024-01-02"), To: priceD("2024-01-05")},
			stored: []string{
				"AAPL 2024-01-02 185.6400 good.csv",
				"AAPL 2024-01-03 184.26 vendor-fix",
				"AAPL 2024-01-04 181.91 good.csv",
				"SPY 2024-01-02 472.65 good.csv",
				"SPY 2024-01-03 468.79 good.csv",
				"SPY 2024-01-04 467.2800001 vendor-fix",
				"SPY 2024-01-05 467.92 vendor-fix",
				"TLT 2024-01-02 98.21 good.csv",
				"TLT 2024-01-03 97.37 good.csv",
				"TLT 2024-01-04 96.52 good.csv",
			},
		},
	}
	var stored []string
	for _, st := range steps {
		before := priceGeneration(t, src)
		res, err := ImportPrices(ctx, db.Pool, strings.NewReader(st.input), st.file, st.opts)
		if err != nil {
			t.Fatalf("%s: ImportPrices: %v", st.name, err)
		}
		st.want.File = st.file
		if *res != st.want {
			t.Errorf("%s: result\n got %+v\nwant %+v", st.name, *res, st.want)
		}
		if st.stored != nil {
			stored = st.stored
		}
		if got := storedPrices(t, db.Pool); strings.Join(got, "\n") != strings.Join(stored, "\n") {
			t.Errorf("%s: market_prices\n got %q\nwant %q", st.name, got, stored)
		}
		if after := priceGeneration(t, src); res.Inserted+res.Updated > 0 && after <= before {
			t.Errorf("%s: generation %d after the import, want more than %d", st.name, after, before)
		}
	}
}

func TestImportPricesBadFileWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	src := NewDBPriceSource(db.Pool, "")
	before := priceGeneration(t, src)

	path := filepath.Join("testdata", "prices", "bad_last_row.csv")
	res, err := ImportPriceFiles(ctx, db.Pool, []string{path}, nil)
	var pfe *PriceFileError
	if !errors.As(err, &pfe) {
		t.Fatalf("ImportPriceFiles error %v, want a *PriceFileError", err)
	}
	want := path + `:7: close "1e3" is not a decimal number like 187.25 (no exponent notation)`
	if err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err.Error(), want)
	}
	if len(res) != 0 {
		t.Errorf("results %+v, want none", res)
	}
	if got := storedPrices(t, db.Pool); len(got) != 0 {
		t.Errorf("market_prices holds %q, want nothing", got)
	}
	if after := priceGeneration(t, src); after != before {
		t.Errorf("generation %d after a failed import, want %d unchanged", after, before)
	}
}

func TestImportPriceFilesStopsAtBadFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	dir := t.TempDir()
	paths := []string{
		filepath.Join("testdata", "prices", "good.csv"),
		filepath.Join("testdata", "prices", "bad_last_row.csv"),
		filepath.Join("testdata", "prices", "yahoo.csv"),
	}
	res, err := ImportPriceFiles(ctx, db.Pool, paths, nil)
	if !strings.HasPrefix(fmt.Sprint(err), paths[1]+":7: ") {
		t.Fatalf("ImportPriceFiles error %v, want one about %s:7", err, paths[1])
	}
	if len(res) != 1 || res[0].File != paths[0] || res[0].Inserted != 9 {
		t.Errorf("results %+v, want the first file's only", res)
	}
	if got := storedPrices(t, db.Pool); len(got) != 9 {
		t.Errorf("market_prices holds %d rows, want the first file's 9", len(got))
	}

	missing := filepath.Join(dir, "missing.csv")
	if _, err := ImportPriceFiles(ctx, db.Pool, []string{missing}, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("importing a missing file: error %v, want one naming it", err)
	}
}

func TestImportPricesInCallersTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	// Twice in one transaction: the staging table must not linger.
	for i, want := range []ImportResult{{Inserted: 9}, {Unchanged: 9}} {
		res, err := ImportPrices(ctx, tx, strings.NewReader(readPriceTestdata(t, "good.csv")), "good.csv", nil)
		if err != nil {
			t.Fatalf("import %d: %v", i+1, err)
		}
		if res.Inserted != want.Inserted || res.Unchanged != want.Unchanged {
			t.Errorf("import %d: %+v, want %+v", i+1, res, want)
		}
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM backfill.market_prices`).Scan(&n); err != nil || n != 9 {
		t.Fatalf("inside the transaction: %d rows (%v), want 9", n, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedPrices(t, db.Pool); len(got) != 0 {
		t.Errorf("after rollback market_prices holds %q, want nothing", got)
	}
}

func TestImportPricesOpts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	tests := []struct {
		name    string
		opts    *ImportOpts
		wantErr string
	}{
		{"negative MaxBytes", &ImportOpts{MaxBytes: -1}, "import prices: MaxBytes -1 is negative: use 0 for the default of 256 MiB"},
		{"bad schema", &ImportOpts{Schema: "Bad-Name"}, `import prices: schema "Bad-Name": use lower-case letters, digits and underscores, starting with a letter or underscore`},
		{"MaxBytes too small", &ImportOpts{MaxBytes: 100}, "good.csv: larger than the limit of 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ImportPrices(ctx, db.Pool, strings.NewReader(readPriceTestdata(t, "good.csv")), "good.csv", tt.opts)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	if got := storedPrices(t, db.Pool); len(got) != 0 {
		t.Errorf("market_prices holds %q, want nothing", got)
	}
}

func TestDBPriceSourceCloses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	const prices = `date,symbol,close
2023-12-29,MSFT,376.04
2024-01-04,MSFT,367.75
2024-01-05,AAPL,181.18
2024-01-02,AAPL,185.64
2024-01-04,AAPL,181.91
2024-01-03,AAPL,184.25
2024-02-01,SPY,482.88
`
	if _, err := ImportPrices(ctx, db.Pool, strings.NewReader(prices), "prices.csv", nil); err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	c := func(d string, v float64) Close { return Close{Date: priceD(d), Value: v} }
	all := []string{"AAPL", "MSFT", "SPY", "NOPE"}
	tests := []struct {
		name     string
		symbols  []string
		from, to time.Time
		want     map[string][]Close
	}{
		{
			name: "seed before the range, then the range in order", symbols: all,
			from: priceD("2024-01-03"), to: priceD("2024-01-04"),
			want: map[string][]Close{
				"AAPL": {c("2024-01-02", 185.64), c("2024-01-03", 184.25), c("2024-01-04", 181.91)},
				"MSFT": {c("2023-12-29", 376.04), c("2024-01-04", 367.75)},
			},
		},
		{
			name: "no seed, and a seed alone", symbols: all,
			from: priceD("2024-01-01"), to: priceD("2024-01-02"),
			want: map[string][]Close{
				"AAPL": {c("2024-01-02", 185.64)},
				"MSFT": {c("2023-12-29", 376.04)},
			},
		},
		{
			name: "single day", symbols: all,
			from: priceD("2024-01-04"), to: priceD("2024-01-04"),
			want: map[string][]Close{
				"AAPL": {c("2024-01-03", 184.25), c("2024-01-04", 181.91)},
				"MSFT": {c("2023-12-29", 376.04), c("2024-01-04", 367.75)},
			},
		},
		{
			name: "after every price", symbols: all,
			from: priceD("2024-03-01"), to: priceD("2024-12-31"),
			want: map[string][]Close{
				"AAPL": {c("2024-01-05", 181.18)},
				"MSFT": {c("2024-01-04", 367.75)},
				"SPY":  {c("2024-02-01", 482.88)},
			},
		},
		{
			name: "before every price", symbols: all,
			from: priceD("2023-01-01"), to: priceD("2023-12-28"),
			want: map[string][]Close{},
		},
		{
			name: "dates read in their own location; duplicate and empty symbols", symbols: []string{"AAPL", "", "AAPL"},
			from: time.Date(2024, 1, 4, 23, 30, 0, 0, newYork), to: time.Date(2024, 1, 5, 1, 0, 0, 0, newYork),
			want: map[string][]Close{"AAPL": {c("2024-01-03", 184.25), c("2024-01-04", 181.91), c("2024-01-05", 181.18)}},
		},
		{
			name: "no symbols", symbols: nil,
			from: priceD("2024-01-01"), to: priceD("2024-12-31"),
			want: map[string][]Close{},
		},
	}
	src := NewDBPriceSource(db.Pool, portfolio.DefaultSchema)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := src.Closes(ctx, tt.symbols, tt.from, tt.to)
			if err != nil {
				t.Fatalf("Closes: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Closes\n got %v\nwant %v", got, tt.want)
			}
			for sym, cs := range got {
				for _, cl := range cs {
					if cl.Date.Location() != time.UTC || cl.Date != priceDay(cl.Date) {
						t.Errorf("%s: date %v, want 00:00 UTC", sym, cl.Date)
					}
				}
			}
		})
	}

	t.Run("range end before its start", func(t *testing.T) {
		t.Parallel()
		_, err := src.Closes(ctx, all, priceD("2024-01-05"), priceD("2024-01-04"))
		if want := "load closes: range end 2024-01-04 is before its start 2024-01-05"; err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
	})
	t.Run("in a transaction, in another schema", func(t *testing.T) {
		t.Parallel()
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		if _, err := tx.Exec(ctx, `ALTER SCHEMA backfill RENAME TO other`); err != nil {
			t.Fatal(err)
		}
		got, err := NewDBPriceSource(tx, "other").Closes(ctx, []string{"SPY"}, priceD("2024-02-01"), priceD("2024-02-01"))
		if want := "map[SPY:[{2024-02-01 00:00:00 +0000 UTC 482.88}]]"; err != nil || fmt.Sprint(got) != want {
			t.Errorf("Closes = %v, %v; want %s", got, err, want)
		}
	})
}

func TestDBPriceSourceGeneration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	src := NewDBPriceSource(db.Pool, portfolio.DefaultSchema)
	g0 := priceGeneration(t, src)
	if _, err := ImportPrices(ctx, db.Pool, strings.NewReader(readPriceTestdata(t, "good.csv")), "good.csv", nil); err != nil {
		t.Fatal(err)
	}
	g1 := priceGeneration(t, src)
	if g1 <= g0 {
		t.Errorf("generation %d after an import, want more than %d", g1, g0)
	}
	if _, err := db.Pool.Exec(ctx, `DELETE FROM backfill.market_prices WHERE symbol = 'TLT'`); err != nil {
		t.Fatal(err)
	}
	if g2 := priceGeneration(t, src); g2 <= g1 {
		t.Errorf("generation %d after a delete, want more than %d", g2, g1)
	}

	if _, err := NewDBPriceSource(db.Pool, "nosuchschema").Generation(ctx); err == nil || !strings.HasPrefix(err.Error(), "read price generation: ") {
		t.Errorf("Generation in a missing schema: error %v", err)
	}
}

// BenchmarkImportPrices imports a file of 100,000 rows (100 symbols × 1,000
// days), parsing included: into an empty table (insert), and over the same
// keys with every close changed (update).
func BenchmarkImportPrices(b *testing.B) {
	const rows = 100_000
	files := [][]byte{priceFile(100, 1000, 0), priceFile(100, 1000, 1)}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		want func(*ImportResult) int
	}{
		{"insert", func(r *ImportResult) int { return r.Inserted }},
		{"update", func(r *ImportResult) int { return r.Updated }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			db := portfoliotest.NewDB(b)
			if bc.name == "update" {
				if _, err := ImportPrices(ctx, db.Pool, bytes.NewReader(files[0]), "bench.csv", nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Each iteration starts from a clean table: without the
				// VACUUM, every iteration would pay for the dead rows of
				// all the earlier ones.
				data, prepare := files[0], `TRUNCATE backfill.market_prices`
				if bc.name == "update" {
					data, prepare = files[(i+1)%2], `VACUUM backfill.market_prices`
				}
				b.StopTimer()
				if _, err := db.Pool.Exec(ctx, prepare); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := ImportPrices(ctx, db.Pool, bytes.NewReader(data), "bench.csv", nil)
				if err != nil {
					b.Fatal(err)
				}
				if n := bc.want(res); n != rows {
					b.Fatalf("%s %d rows, want %d: %+v", bc.name, n, rows, res)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
