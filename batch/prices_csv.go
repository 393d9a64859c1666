package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
)

// DefaultPriceFileMaxBytes is the default size limit of a price file: 256 MiB.
const DefaultPriceFileMaxBytes int64 = 256 << 20

// MaxPriceProblems is how many problems a PriceFileError lists in Problems;
// the parser counts further ones in PriceFileError.More, so that a large,
// thoroughly broken file cannot exhaust memory.
const MaxPriceProblems = 1000

const (
	maxPriceSymbolChars = 100 // market_prices.symbol is varchar(100)
	// maxCloseFracDigits keeps absurd precision (which NUMERIC would accept
	// up to 16383 digits) out of the table; no market quotes 20 decimals.
	maxCloseFracDigits = 20
	// errorListedProblems is how many problems PriceFileError.Error shows.
	errorListedProblems = 20
	// maxShownValue bounds how much of a bad value a reason quotes.
	maxShownValue = 40
)

// PriceRow is one validated row of a price file.
type PriceRow struct {
	// Symbol is the symbol, upper-cased: 1 to 100 characters from A-Z,
	// 0-9, '.', '_' and '-' (written in any case).
	Symbol string
	// Date is the price's date at 00:00 UTC.
	Date time.Time
	// Close is the closing price, exact as written, > 0.
	Close portfolio.Decimal
	// Line is the row's physical line in the file, from 1.
	Line int
}

// PriceFileError reports a bad price file. Nothing of a file with a
// PriceFileError is imported.
//
// It is not a portfolio.ValidationError, on purpose: that is the seed
// system's error envelope for API clients (codes, rows, field names,
// JSON) of an upload without a file name, while this is an operator's
// "FILE:LINE: reason" report, for files that have no seed-system codes.
// Both count lines the same way, from the same reader
// (portfolio.CSVReader).
type PriceFileError struct {
	// File is the file's name, as passed to the parser.
	File string
	// Problems are the problems found, in line order, at most
	// MaxPriceProblems.
	Problems []PriceProblem
	// More counts the problems found beyond those in Problems.
	More int
}

// Error returns "FILE:LINE: reason" for the first problem, followed by one
// line for each further problem up to 20, then "… and N more".
func (e *PriceFileError) Error() string {
	return formatFileProblems(e.File, "bad price file", e.Problems, e.More)
}

// ParsePriceCSV parses a long-format price file: one row per symbol and
// day, with the columns date, symbol and close matched by name (case- and
// whitespace-insensitive, '_' equal to a space; a UTF-8 BOM and CRLF line
// ends are accepted). "adj_close" or "adj close" is accepted for close when
// there is no close column. Extra columns are ignored and blank lines
// skipped. The file is read by portfolio.CSVReader, the reader of position
// files, without comments. name is the file name used in errors.
//
// Each row is validated: date exactly YYYY-MM-DD, a real date, not before
// 1970-01-01 and not after the current session by the system clock (see
// ImportOpts.Now); symbol 1 to 100 characters from A-Z, a-z, 0-9, '.', '_'
// and '-', upper-cased so that aapl and AAPL are one symbol; close a plain
// decimal number (no exponent, NaN, Inf or separators; see
// portfolio.ParseDecimal), greater than 0 and less than 1e9 (MaxClose), with
// at most 20 digits after the decimal point. Surrounding spaces are trimmed
// from values. A symbol may have one price per date: a second row is an
// error naming both lines. Day-over-day moves are checked only on import
// (ImportPrices), where the stored closes are at hand.
//
// The file must be UTF-8 text without NUL bytes, at most
// DefaultPriceFileMaxBytes long (the reader is never read past the limit
// plus one byte), and hold at least one row. Every problem, up to
// MaxPriceProblems, is reported in a *PriceFileError (use errors.As); other
// errors come from reading r. Rows are returned in file order.
func ParsePriceCSV(r io.Reader, name string) ([]PriceRow, error) {
	o, err := (*ImportOpts)(nil).withDefaults(name)
	if err != nil {
		return nil, err
	}
	rows, _, err := parsePrices(context.Background(), r, name, o.limits())
	return rows, err
}

// priceStats summarises the rows of a parsed file.
type priceStats struct {
	symbols  int
	from, to time.Time
}

// priceKey identifies a row for duplicate detection.
type priceKey struct {
	symbol string
	day    int64 // Unix seconds of the date
}

// priceColumn indexes the columns the parser reads.
type priceColumn int

const (
	colPriceDate priceColumn = iota
	colPriceSymbol
	colPriceClose
	colPriceAdjClose
	numPriceColumns
)

// priceColumnNames are the header names of the columns, normalized.
var priceColumnNames = [numPriceColumns]string{"date", "symbol", "close", "adj close"}

// priceParser holds the state of one parse.
type priceParser struct {
	name     string
	maxBytes int64
	lastDay  time.Time // the current session: later dates are rejected
	cr       *portfolio.CSVReader

	idx [numPriceColumns]int // field index of each column, -1 if absent

	rows []PriceRow
	fileProblems
	seen    map[priceKey]int  // line of each (symbol, date)
	symbols map[string]string // interned symbols, detached from the input
	stats   priceStats
}

// priceLimits are the bounds a parse checks a file against.
type priceLimits struct {
	maxBytes int64     // the file's size limit
	lastDay  time.Time // the current session; later dates are rejected
}

// parsePrices parses a price file within lim.
func parsePrices(ctx context.Context, r io.Reader, name string, lim priceLimits) ([]PriceRow, priceStats, error) {
	maxBytes := lim.maxBytes
	p := &priceParser{
		name:     name,
		maxBytes: maxBytes,
		lastDay:  lim.lastDay,
		seen:     make(map[priceKey]int, 1024),
		symbols:  make(map[string]string, 64),
	}
	p.cr = portfolio.NewCSVReader(r, maxBytes)
	if err := p.parse(ctx); err != nil {
		return nil, priceStats{}, err
	}
	if len(p.problems) > 0 {
		return nil, priceStats{}, &PriceFileError{File: name, Problems: p.problems, More: p.more}
	}
	p.stats.symbols = len(p.symbols)
	return p.rows, p.stats, nil
}

// errPriceStop ends parsing after a problem that makes the rest of the file
// unreadable; the problem is already recorded.
var errPriceStop = errors.New("stop parsing")

// parse reads the header and every row, recording problems. It returns an
// error only when reading fails.
func (p *priceParser) parse(ctx context.Context) error {
	rec, line, err := p.next()
	switch {
	case err == errPriceStop:
		return nil
	case err == io.EOF:
		p.fail(1, "empty file: want a header naming the columns date, symbol and close, then one row per symbol and day")
		return nil
	case err != nil:
		return err
	}
	headerLine := line
	if !p.parseHeader(rec, line) {
		return nil
	}
	closeCol := p.idx[colPriceClose]
	if closeCol < 0 {
		closeCol = p.idx[colPriceAdjClose]
	}
	// Columns after the last one read are not kept.
	p.cr.MaxFields = max(p.idx[colPriceDate], p.idx[colPriceSymbol], closeCol) + 1
	for n := 1; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("read prices %s: %w", p.name, err)
			}
		}
		rec, line, err := p.next()
		switch {
		case err == errPriceStop:
			return nil
		case err == io.EOF:
			if len(p.rows) == 0 && len(p.problems) == 0 {
				p.fail(headerLine, "no price rows after the header")
			}
			return nil
		case err != nil:
			return err
		}
		p.parseRow(rec, line, closeCol)
	}
}

// next returns the next record that is not blank, with its line. It
// returns io.EOF at the end and errPriceStop after a problem that ends
// parsing (the size limit, NUL bytes, invalid UTF-8, malformed quoting).
func (p *priceParser) next() ([]string, int, error) {
	rec, err := p.cr.Read()
	if err == nil || err == io.EOF {
		return rec, p.cr.Line(), err
	}
	prob, _, ok := csvProblem(err, p.maxBytes)
	if !ok {
		return nil, 0, fmt.Errorf("read prices %s: %w", p.name, err)
	}
	if prob.Line == 0 {
		// The file was not read to its end: the size is the problem to
		// fix, and the others found so far would be a partial list.
		p.reset()
	}
	p.fail(prob.Line, prob.Reason)
	return nil, 0, errPriceStop
}

// normalizePriceColumn lower-cases a header name, reads '_' as a space and
// collapses whitespace: "Adj_Close" and " adj  close" become "adj close".
func normalizePriceColumn(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, "_", " "))
	return strings.Join(strings.Fields(s), " ")
}

// parseHeader finds the columns; it reports false after a problem.
func (p *priceParser) parseHeader(rec []string, line int) bool {
	for c := range p.idx {
		p.idx[c] = -1
	}
	for i, f := range rec {
		name := normalizePriceColumn(f)
		for c, want := range priceColumnNames {
			if name != want {
				continue
			}
			if prev := p.idx[c]; prev >= 0 {
				p.fail(line, fmt.Sprintf("column %q appears twice in the header (columns %d and %d)", want, prev+1, i+1))
				return false
			}
			p.idx[c] = i
		}
	}
	var missing []string
	if p.idx[colPriceDate] < 0 {
		missing = append(missing, "date")
	}
	if p.idx[colPriceSymbol] < 0 {
		missing = append(missing, "symbol")
	}
	if p.idx[colPriceClose] < 0 && p.idx[colPriceAdjClose] < 0 {
		missing = append(missing, "close (or adj_close)")
	}
	switch len(missing) {
	case 0:
		return true
	case 1:
		p.fail(line, "missing column "+missing[0]+": the header must name the columns date, symbol and close")
	default:
		p.fail(line, "missing columns "+strings.Join(missing, ", ")+": the header must name the columns date, symbol and close")
	}
	return false
}

// parseRow validates one record and appends a row or problems.
func (p *priceParser) parseRow(rec []string, line, closeCol int) {
	field := func(i int) string {
		if i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	dateText, symbol, closeText := field(p.idx[colPriceDate]), field(p.idx[colPriceSymbol]), field(closeCol)
	failed := len(p.problems) + p.more

	day, reason := parsePriceDate(dateText)
	if reason == "" {
		reason = checkPriceDay(day, dateText, p.lastDay)
	}
	if reason != "" {
		p.fail(line, reason)
	}
	if reason := checkPriceSymbol(symbol); reason != "" {
		p.fail(line, reason)
	} else {
		symbol = upperSymbol(symbol)
	}
	if p.cr.RecordLen() > 256 {
		// A Decimal shares the record's memory; do not let a row pin a
		// long record (an ignored column may be large).
		closeText = strings.Clone(closeText)
	}
	value, reason := parseClose(closeText)
	if reason != "" {
		p.fail(line, reason)
	}
	if len(p.problems)+p.more > failed {
		return
	}

	key := priceKey{symbol: symbol, day: day.Unix()}
	if first, dup := p.seen[key]; dup {
		p.fail(line, fmt.Sprintf("duplicate price for %s on %s (first on line %d)", symbol, dateText, first))
		return
	}
	p.seen[key] = line
	if len(p.problems) > 0 {
		// Rows are not returned once one failed; only keep checking.
		return
	}
	sym, ok := p.symbols[symbol]
	if !ok {
		sym = strings.Clone(symbol)
		p.symbols[sym] = sym
	}
	if len(p.rows) == 0 || day.Before(p.stats.from) {
		p.stats.from = day
	}
	if len(p.rows) == 0 || day.After(p.stats.to) {
		p.stats.to = day
	}
	p.rows = append(p.rows, PriceRow{Symbol: sym, Date: day, Close: value, Line: line})
}

// parsePriceDate parses YYYY-MM-DD (portfolio.ParseDate); it returns a
// reason when s is not a real date in that form.
func parsePriceDate(s string) (time.Time, string) {
	if s == "" {
		return time.Time{}, "date is empty"
	}
	t, err := portfolio.ParseDate(s)
	if err != nil {
		return time.Time{}, "date " + priceQuote(s) + " " + err.Error()
	}
	return t, ""
}

// checkPriceSymbol returns a reason when s is not a valid symbol.
func checkPriceSymbol(s string) string {
	switch {
	case s == "":
		return "symbol is empty"
	case len(s) > maxPriceSymbolChars && utf8.RuneCountInString(s) > maxPriceSymbolChars:
		return "symbol " + priceQuote(s) + " is longer than 100 characters"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "symbol " + priceQuote(s) + " has characters other than letters, digits, '.', '_' and '-'"
		}
	}
	return ""
}

// parseClose parses a closing price; it returns a reason when s is not a
// valid one.
func parseClose(s string) (portfolio.Decimal, string) {
	if s == "" {
		return portfolio.Decimal{}, "close is empty"
	}
	d, err := portfolio.ParseDecimal(s)
	if err != nil {
		hint := ""
		switch {
		case strings.ContainsRune(s, ','):
			hint = " (no thousands separators)"
		case strings.ContainsAny(s, "eE") && strings.Trim(s, "+-.0123456789eE") == "":
			hint = " (no exponent notation)"
		}
		return portfolio.Decimal{}, "close " + priceQuote(s) + " is not a decimal number like 187.25" + hint
	}
	switch {
	case d.Sign() <= 0:
		return portfolio.Decimal{}, "close " + priceQuote(s) + " is not positive"
	case d.IntDigits() > maxCloseIntDigits:
		return portfolio.Decimal{}, "close " + priceQuote(s) + " is " + maxCloseText + " or more: no security trades that high; check the column and the decimal point"
	case d.Scale() > maxCloseFracDigits:
		return portfolio.Decimal{}, "close " + priceQuote(s) + " has more than 20 digits after the decimal point"
	}
	return d, ""
}

// priceQuote quotes s for a reason, shortened when long.
func priceQuote(s string) string {
	if utf8.RuneCountInString(s) > maxShownValue {
		r := []rune(s)
		return strconv.Quote(string(r[:maxShownValue])) + "…"
	}
	return strconv.Quote(s)
}

// priceFormatBytes formats a byte count for messages: "256 MiB" or "1000 bytes".
func priceFormatBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// ImportOpts configures ImportPrices and ImportPriceFiles. A nil *ImportOpts
// means the defaults.
type ImportOpts struct {
	// Schema holds market_prices. Default portfolio.DefaultSchema.
	Schema portfolio.Schema
	// Source is recorded in market_prices.source for every inserted or
	// updated row. Default: the base name of the file.
	Source string
	// MaxBytes is the size limit of a file, in bytes. Default
	// DefaultPriceFileMaxBytes (256 MiB). Parsing holds the whole file's
	// rows in memory, a few hundred bytes per row.
	MaxBytes int64
	// Now is the clock: a date after the current session at Now (the
	// calendar's latest session on or before Now's date in the market's
	// time zone) is rejected, since no close exists for it yet. Default
	// time.Now.
	Now func() time.Time
	// Calendar gives the sessions for Now. Default NewNYSECalendar().
	Calendar Calendar
	// AllowJumps accepts day-over-day moves beyond ×10 or ÷10, which are
	// otherwise rejected (see ImportPrices). Set it for a file whose moves
	// are real, such as a reverse split on unadjusted closes.
	AllowJumps bool
}

// withDefaults returns a copy of opts with defaults filled in for the file
// name, validated.
func (opts *ImportOpts) withDefaults(name string) (ImportOpts, error) {
	var o ImportOpts
	if opts != nil {
		o = *opts
	}
	if _, err := portfolio.ParseSchema(o.Schema.Name()); err != nil {
		return o, err
	}
	o.Schema = cmp.Or(o.Schema, portfolio.DefaultSchema)
	if o.Source == "" && name != "" {
		o.Source = filepath.Base(name)
	}
	switch {
	case o.MaxBytes < 0:
		return o, fmt.Errorf("MaxBytes %d is negative: use 0 for the default of %s", o.MaxBytes, priceFormatBytes(DefaultPriceFileMaxBytes))
	case o.MaxBytes == 0:
		o.MaxBytes = DefaultPriceFileMaxBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Calendar == nil {
		o.Calendar = NewNYSECalendar()
	}
	return o, nil
}

// limits returns the parse limits of o, with the defaults filled in.
func (o *ImportOpts) limits() priceLimits {
	return priceLimits{maxBytes: o.MaxBytes, lastDay: currentSession(o.Calendar, o.Now())}
}

// ImportResult describes one imported price file.
type ImportResult struct {
	// File is the file's name.
	File string
	// Rows is the number of price rows in the file.
	Rows int
	// Inserted counts rows new to market_prices, Updated rows whose close
	// changed, Unchanged rows whose close was already stored (a close equal
	// in value, like 1.5 and 1.50, is unchanged and keeps its stored text,
	// source and loaded_at).
	Inserted, Updated, Unchanged int
	// Symbols is the number of distinct symbols in the file.
	Symbols int
	// From and To are the earliest and latest dates in the file, at 00:00
	// UTC.
	From, To time.Time
}

// ImportPrices imports a long-format price file (see ParsePriceCSV) into
// market_prices. It parses r completely first: a bad file returns a
// *PriceFileError and writes nothing. Unless opts.AllowJumps, a close more
// than MaxDailyJump (10) times, or less than a tenth of, the close before it
// (in the file, or stored when the file has none closer) is a problem too,
// as is a stored close right after a file's row that moves that much from it. Then, in one transaction, it copies the
// rows into a temporary table and upserts them with a single statement:
// new (symbol, date) rows are inserted, rows whose close changed are updated
// (with Source and the load time), equal ones left alone.
//
// db may be a pool, a connection or a pgx.Tx (the import then runs in a
// savepoint and commits with the caller's transaction). Each import that
// changes market_prices increments the price generation (see
// PriceSource.Generation). name is the file name used in errors and results.
func ImportPrices(ctx context.Context, db portfolio.Beginner, r io.Reader, name string, opts *ImportOpts) (*ImportResult, error) {
	o, err := opts.withDefaults(name)
	if err != nil {
		return nil, fmt.Errorf("import prices: %w", err)
	}
	rows, stats, err := parsePrices(ctx, r, name, o.limits())
	if err != nil {
		return nil, err
	}
	res := &ImportResult{
		File:    name,
		Rows:    len(rows),
		Symbols: stats.symbols,
		From:    stats.from,
		To:      stats.to,
	}
	if err := upsertPrices(ctx, db, rows, o, res); err != nil {
		var perr *PriceFileError
		if errors.As(err, &perr) {
			return nil, perr
		}
		return nil, fmt.Errorf("import prices %s: %w", name, err)
	}
	return res, nil
}

// ImportPriceFiles imports the files at paths in order, each with
// ImportPrices in its own transaction (Source defaults to each file's base
// name). A path that is not a regular file (a directory, FIFO or
// device) is a *PriceFileError, found before it is opened. It stops at the first file that fails and returns its error with the
// results of the files before it: those stay imported, and the files after it
// are not read.
func ImportPriceFiles(ctx context.Context, db portfolio.Beginner, paths []string, opts *ImportOpts) ([]ImportResult, error) {
	if _, err := opts.withDefaults(""); err != nil {
		return nil, fmt.Errorf("import prices: %w", err)
	}
	return importFiles(paths, "import prices", func(path, reason string) error {
		return &PriceFileError{File: path, Problems: []PriceProblem{{Reason: reason + ": give the price file itself"}}}
	}, func(f *os.File, path string) (*ImportResult, error) {
		return ImportPrices(ctx, db, f, path, opts)
	})
}

// importFiles imports the files at paths in order with importOne, and
// stops at the first that fails: it returns that error with the results
// of the files before it. what names the import in errors opening a file;
// badFile makes the error for a path that is not a regular file.
func importFiles[R any](paths []string, what string, badFile func(path, reason string) error, importOne func(f *os.File, path string) (*R, error)) ([]R, error) {
	results := make([]R, 0, len(paths))
	for _, path := range paths {
		res, err := func() (*R, error) {
			// Checked before opening: opening a FIFO waits for a writer,
			// and a device such as /dev/zero never ends.
			if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
				return nil, badFile(path, "not a regular file ("+st.Mode().Type().String()+")")
			}
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			defer f.Close()
			return importOne(f, path)
		}()
		if err != nil {
			return results, err
		}
		results = append(results, *res)
	}
	return results, nil
}

// priceImportTable is the temporary table an import copies rows into.
const priceImportTable = "backfill_price_import"

// upsertPrices writes rows in one transaction and fills in res's counts.
func upsertPrices(ctx context.Context, db portfolio.Beginner, rows []PriceRow, o ImportOpts, res *ImportResult) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op

	if !o.AllowJumps {
		stored, err := storedNeighbours(ctx, tx, o.Schema, rows)
		if err != nil {
			return err
		}
		if problems := checkJumps(rows, stored); len(problems) > 0 {
			perr := &PriceFileError{File: res.File, Problems: problems}
			if len(problems) > MaxPriceProblems {
				perr.Problems, perr.More = problems[:MaxPriceProblems], len(problems)-MaxPriceProblems
			}
			return perr
		}
	}
	// The close travels as text: exact, and much cheaper to encode than
	// NUMERIC. ON COMMIT DROP cleans up after a failure in the caller's
	// transaction; the DROP below lets one transaction import twice.
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE `+priceImportTable+` (
		symbol     text NOT NULL,
		price_date date NOT NULL,
		close      text NOT NULL
	) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	src := &priceCopySource{rows: rows}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", priceImportTable}, []string{"symbol", "price_date", "close"}, src); err != nil {
		return fmt.Errorf("copy rows: %w", err)
	}
	// Rows are upserted in key order, so that concurrent imports lock
	// shared rows in the same order and cannot deadlock. xmax = 0 marks a
	// freshly inserted row; rows whose close is equal are not returned.
	var inserted, updated int
	err = tx.QueryRow(ctx, o.Schema.SQL(`
WITH upserted AS (
    INSERT INTO {schema}.market_prices AS m (symbol, price_date, close, source, loaded_at)
    SELECT i.symbol, i.price_date, i.close::numeric, $1, now()
    FROM pg_temp.`+priceImportTable+` AS i
    ORDER BY i.symbol, i.price_date
    ON CONFLICT (symbol, price_date) DO UPDATE
        SET close = EXCLUDED.close, source = EXCLUDED.source, loaded_at = EXCLUDED.loaded_at
        WHERE m.close IS DISTINCT FROM EXCLUDED.close
    RETURNING m.xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted`),
		o.Source).Scan(&inserted, &updated)
	if err != nil {
		return fmt.Errorf("upsert prices: %w", err)
	}
	if _, err := tx.Exec(ctx, `DROP TABLE pg_temp.`+priceImportTable); err != nil {
		return fmt.Errorf("drop staging table: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	res.Inserted, res.Updated = inserted, updated
	res.Unchanged = len(rows) - inserted - updated
	return nil
}

// priceCopySource feeds rows to COPY, reusing one values slice (pgx encodes
// each row before asking for the next).
type priceCopySource struct {
	rows []PriceRow
	i    int
	vals [3]any
}

func (s *priceCopySource) Next() bool {
	s.i++
	return s.i <= len(s.rows)
}

func (s *priceCopySource) Values() ([]any, error) {
	r := &s.rows[s.i-1]
	s.vals[0], s.vals[1], s.vals[2] = r.Symbol, r.Date, r.Close.String()
	return s.vals[:], nil
}

func (s *priceCopySource) Err() error { return nil }
