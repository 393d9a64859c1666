package batch

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sigmasight/backfill/portfolio"
)

// DefaultSymbolFileMaxBytes is the default size limit of a symbols file:
// 10 MiB.
const DefaultSymbolFileMaxBytes int64 = 10 << 20

// Symbol file columns, as the header names them (matched case- and
// whitespace-insensitively, '_' equal to a space).
const (
	SymbolColSymbol    = "symbol"
	SymbolColName      = "name"
	SymbolColAssetType = "asset_type"
	SymbolColSector    = "sector"
	SymbolColIndustry  = "industry"
	SymbolColCountry   = "country"
	SymbolColCurrency  = "currency"
	SymbolColMarketCap = "market_cap"
	SymbolColBeta      = "beta"
)

// symbolFileColumns are the columns in header order; the table column of
// each (beta is provider_beta).
var symbolFileColumns = []struct{ file, table string }{
	{SymbolColSymbol, "symbol"}, {SymbolColName, "name"}, {SymbolColAssetType, "asset_type"},
	{SymbolColSector, "sector"}, {SymbolColIndustry, "industry"}, {SymbolColCountry, "country"},
	{SymbolColCurrency, "currency"}, {SymbolColMarketCap, "market_cap"}, {SymbolColBeta, "provider_beta"},
}

const (
	maxSymbolNameChars    = 255
	maxSymbolCountryChars = 100
	maxProviderBeta       = 100
	maxMarketCapIntDigits = 20
)

// SymbolFileError reports a bad symbols file; nothing of it is imported.
type SymbolFileError struct {
	// File is the file's name, as passed to the parser.
	File string
	// Problems are the problems found, in line order, at most
	// MaxPriceProblems; Line 0 is a problem of the whole file.
	Problems []PriceProblem
	// More counts the problems found beyond those in Problems.
	More int
}

// Error returns "FILE:LINE: reason" lines, as PriceFileError does.
func (e *SymbolFileError) Error() string {
	return formatFileProblems(e.File, "bad symbols file", e.Problems, e.More)
}

// SymbolFile is a parsed symbols file.
type SymbolFile struct {
	// Rows are the symbols in file order, upper-cased.
	Rows []Symbol
	// Lines are the rows' physical lines, from 1.
	Lines []int
	// Columns lists the columns the header names, in symbolFileColumns'
	// order: an import sets exactly these (an empty field clears the
	// stored value) and leaves the others of an existing row alone.
	Columns []string
}

// ParseSymbolCSV parses a symbols file: a header naming some of the
// columns symbol, name, asset_type, sector, industry, country, currency,
// market_cap and beta (only symbol is required; unknown columns are
// ignored), then one row per symbol. A UTF-8 BOM and CRLF line ends are
// accepted, lines whose first non-blank character is '#' are comments,
// blank lines are skipped (the file is read by portfolio.CSVReader).
//
// Symbols are upper-cased and must be unique in the file; asset_type is
// one of stock, etf, mutual_fund, option, cash, private, other; sector one
// of the 11 GICS sectors or an alias (ParseSector); currency three
// letters; market_cap a plain decimal ≥ 0; beta a plain decimal within
// ±100. Every problem, up to MaxPriceProblems, is reported in a
// *SymbolFileError. maxBytes ≤ 0 means DefaultSymbolFileMaxBytes.
func ParseSymbolCSV(r io.Reader, name string, maxBytes int64) (*SymbolFile, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultSymbolFileMaxBytes
	}
	p := &symbolParser{name: name, maxBytes: maxBytes, seen: map[string]int{}}
	p.cr = portfolio.NewCSVReader(r, maxBytes)
	p.cr.Comments = true
	if err := p.parse(); err != nil {
		return nil, err
	}
	if len(p.problems) > 0 {
		return nil, p.err()
	}
	return &p.file, nil
}

type symbolParser struct {
	name     string
	maxBytes int64
	cr       *portfolio.CSVReader
	idx      []int // field index of each symbolFileColumns entry, -1 if absent
	file     SymbolFile
	fileProblems
	seen map[string]int // line of each symbol
}

func (p *symbolParser) err() error {
	return &SymbolFileError{File: p.name, Problems: p.problems, More: p.more}
}

// next returns the next record that is not blank, and its line; ok is
// false at the end or after a problem that ends parsing (recorded). A
// problem of the whole file (its size, NUL bytes, invalid UTF-8) replaces
// those of the rows before it.
func (p *symbolParser) next() (rec []string, line int, ok bool, err error) {
	rec, err = p.cr.Read()
	switch {
	case err == nil:
		return rec, p.cr.Line(), true, nil
	case err == io.EOF:
		return nil, 0, false, nil
	}
	prob, whole, ok := csvProblem(err, p.maxBytes)
	if !ok {
		return nil, 0, false, fmt.Errorf("read symbols %s: %w", p.name, err)
	}
	if whole {
		p.reset()
	}
	p.fail(prob.Line, prob.Reason)
	return nil, 0, false, nil
}

func (p *symbolParser) parse() error {
	rec, line, ok, err := p.next()
	if err != nil || !ok {
		if err == nil && len(p.problems) == 0 {
			p.fail(1, "empty file: want a header naming the column symbol (and any of name, asset_type, sector, industry, country, currency, market_cap, beta), then one row per symbol")
		}
		return err
	}
	if !p.header(rec, line) {
		return nil
	}
	headerLine := line
	for {
		rec, line, ok, err := p.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		p.row(rec, line)
	}
	if len(p.file.Rows) == 0 && len(p.problems) == 0 {
		p.fail(headerLine, "no symbol rows after the header")
	}
	return nil
}

func (p *symbolParser) header(rec []string, line int) bool {
	p.idx = make([]int, len(symbolFileColumns))
	for c := range p.idx {
		p.idx[c] = -1
	}
	for i, f := range rec {
		name := normalizePriceColumn(f)
		if name == "provider beta" {
			name = "beta"
		}
		for c, col := range symbolFileColumns {
			if name != strings.ReplaceAll(col.file, "_", " ") {
				continue
			}
			if prev := p.idx[c]; prev >= 0 {
				p.fail(line, fmt.Sprintf("column %q appears twice in the header (columns %d and %d)", col.file, prev+1, i+1))
				return false
			}
			p.idx[c] = i
		}
	}
	if p.idx[0] < 0 {
		p.fail(line, "missing column symbol: the header must name it (and any of name, asset_type, sector, industry, country, currency, market_cap, beta)")
		return false
	}
	for c, col := range symbolFileColumns {
		if p.idx[c] >= 0 {
			p.file.Columns = append(p.file.Columns, col.file)
		}
	}
	return true
}

func (p *symbolParser) row(rec []string, line int) {
	field := func(c int) string {
		if i := p.idx[c]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	failed := len(p.problems) + p.more
	var s Symbol
	s.Symbol = strings.ToUpper(field(0))
	if reason := checkPriceSymbol(s.Symbol); reason != "" {
		p.fail(line, reason)
	}
	text := func(c int, limit int) string {
		v := field(c)
		if utf8.RuneCountInString(v) > limit {
			p.fail(line, fmt.Sprintf("%s %s is longer than %d characters", symbolFileColumns[c].file, priceQuote(v), limit))
		}
		return v
	}
	s.Name = text(1, maxSymbolNameChars)
	if v := field(2); v != "" {
		a, err := ParseAssetType(v)
		if err != nil {
			p.fail(line, err.Error())
		}
		s.AssetType = a
	}
	if v := field(3); v != "" {
		sec, err := ParseSector(v)
		if err != nil {
			p.fail(line, err.Error())
		}
		s.Sector = sec
	}
	s.Industry = text(4, maxSymbolNameChars)
	s.Country = text(5, maxSymbolCountryChars)
	if v := strings.ToUpper(field(6)); v != "" {
		if len(v) != 3 || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			p.fail(line, "currency "+priceQuote(field(6))+" is not a three-letter code like USD")
		}
		s.Currency = v
	}
	if v := field(7); v != "" {
		d, err := portfolio.ParseDecimal(v)
		switch {
		case err != nil:
			p.fail(line, "market_cap "+priceQuote(v)+" is not a decimal number like 2950000000000 (no separators or exponents)")
		case d.Sign() < 0:
			p.fail(line, "market_cap "+priceQuote(v)+" is negative")
		case d.IntDigits() > maxMarketCapIntDigits:
			p.fail(line, "market_cap "+priceQuote(v)+" has more than 20 digits before the decimal point")
		default:
			f := d.Float64()
			s.MarketCap = &f
		}
	}
	if v := field(8); v != "" {
		d, err := portfolio.ParseDecimal(v)
		var f float64
		if err == nil {
			f = d.Float64()
		}
		switch {
		case err != nil:
			p.fail(line, "beta "+priceQuote(v)+" is not a decimal number like 1.12")
		case f < -maxProviderBeta || f > maxProviderBeta:
			p.fail(line, "beta "+priceQuote(v)+" is outside ±100")
		default:
			s.Beta = &f
		}
	}
	if len(p.problems)+p.more > failed {
		return
	}
	if first, dup := p.seen[s.Symbol]; dup {
		p.fail(line, fmt.Sprintf("duplicate symbol %s (first on line %d)", s.Symbol, first))
		return
	}
	p.seen[s.Symbol] = line
	p.file.Rows = append(p.file.Rows, s)
	p.file.Lines = append(p.file.Lines, line)
}

// SymbolImportOpts configures ImportSymbols and ImportSymbolFiles; nil
// means the defaults.
type SymbolImportOpts struct {
	// Schema holds the symbols table. Default portfolio.DefaultSchema.
	Schema portfolio.Schema
	// MaxBytes is a file's size limit, in bytes. Default
	// DefaultSymbolFileMaxBytes (10 MiB).
	MaxBytes int64
}

func (opts *SymbolImportOpts) withDefaults() (SymbolImportOpts, error) {
	var o SymbolImportOpts
	if opts != nil {
		o = *opts
	}
	if _, err := portfolio.ParseSchema(o.Schema.Name()); err != nil {
		return o, err
	}
	o.Schema = cmp.Or(o.Schema, portfolio.DefaultSchema)
	if o.MaxBytes < 0 {
		return o, fmt.Errorf("MaxBytes %d is negative: use 0 for the default of %s", o.MaxBytes, priceFormatBytes(DefaultSymbolFileMaxBytes))
	}
	o.MaxBytes = cmp.Or(o.MaxBytes, DefaultSymbolFileMaxBytes)
	return o, nil
}

// SymbolImportResult describes one imported symbols file.
type SymbolImportResult struct {
	File string `json:"file"`
	// Rows is the number of symbols in the file; Inserted counts those new
	// to the table, Updated those whose stored values changed, Unchanged
	// the rest.
	Rows      int `json:"rows"`
	Inserted  int `json:"inserted"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// ImportSymbols imports a symbols file (see ParseSymbolCSV) into the
// symbols table, all or nothing: a bad file returns a *SymbolFileError and
// writes nothing; a good one is upserted in one transaction. The columns
// the header names are set (an empty field clears the value); the others
// of an existing row are kept. A changed sector or beta rewinds no
// snapshot: backfills use it from the next day they compute.
func ImportSymbols(ctx context.Context, db portfolio.Beginner, r io.Reader, name string, opts *SymbolImportOpts) (*SymbolImportResult, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("import symbols: %w", err)
	}
	f, err := ParseSymbolCSV(r, name, o.MaxBytes)
	if err != nil {
		return nil, err
	}
	res := &SymbolImportResult{File: name, Rows: len(f.Rows)}
	if res.Inserted, res.Updated, err = upsertSymbols(ctx, db, o.Schema, f.Rows, f.Columns); err != nil {
		return nil, fmt.Errorf("import symbols %s: %w", name, err)
	}
	res.Unchanged = res.Rows - res.Inserted - res.Updated
	return res, nil
}

// SaveSymbols upserts reference data, for example what a vendor's
// SymbolSource returned, setting every column. Symbols are upper-cased;
// their values are validated as a file's would be.
func SaveSymbols(ctx context.Context, db portfolio.Beginner, syms []Symbol, opts *SymbolImportOpts) (*SymbolImportResult, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("save symbols: %w", err)
	}
	// Through the file parser, so that both paths validate alike.
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	cols := make([]string, len(symbolFileColumns))
	for i, c := range symbolFileColumns {
		cols[i] = c.file
	}
	w.Write(cols) //nolint:errcheck // a bytes.Buffer does not fail; Flush reports
	num := func(x *float64) string {
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'f', -1, 64)
	}
	for _, s := range syms {
		w.Write([]string{s.Symbol, s.Name, string(s.AssetType), s.Sector, s.Industry, s.Country, s.Currency, num(s.MarketCap), num(s.Beta)}) //nolint:errcheck // as above
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("save symbols: %w", err)
	}
	return ImportSymbols(ctx, db, &b, "symbols", &o)
}

// ImportSymbolFiles imports the files at paths in order, each with
// ImportSymbols in its own transaction. It stops at the first file that
// fails and returns its error with the results of the files before it:
// those stay imported, and the files after it are not read.
func ImportSymbolFiles(ctx context.Context, db portfolio.Beginner, paths []string, opts *SymbolImportOpts) ([]SymbolImportResult, error) {
	if _, err := opts.withDefaults(); err != nil {
		return nil, fmt.Errorf("import symbols: %w", err)
	}
	return importFiles(paths, "import symbols", func(path, reason string) error {
		return &SymbolFileError{File: path, Problems: []PriceProblem{{Reason: reason + ": give the symbols file itself"}}}
	}, func(f *os.File, path string) (*SymbolImportResult, error) {
		return ImportSymbols(ctx, db, f, path, opts)
	})
}

// upsertSymbols writes rows in one transaction: new symbols are inserted,
// existing ones get the columns listed (the others kept) when a value
// differs. It returns how many rows were inserted and updated.
func upsertSymbols(ctx context.Context, db portfolio.Beginner, schema portfolio.Schema, rows []Symbol, columns []string) (inserted, updated int, err error) {
	n := len(rows)
	sym := make([]string, n)
	name, asset, sector, industry, country, currency := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
	mcap, beta := make([]*float64, n), make([]*float64, n)
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	for i, r := range rows {
		sym[i] = r.Symbol
		name[i], asset[i], sector[i] = opt(r.Name), opt(string(r.AssetType)), opt(r.Sector)
		industry[i], country[i], currency[i] = opt(r.Industry), opt(r.Country), opt(r.Currency)
		mcap[i], beta[i] = r.MarketCap, r.Beta
	}
	// The columns to update come from a fixed list, never from the file.
	var set, old, neu []string
	for _, c := range symbolFileColumns[1:] {
		for _, have := range columns {
			if have == c.file {
				set = append(set, c.table+" = EXCLUDED."+c.table)
				old, neu = append(old, "s."+c.table), append(neu, "EXCLUDED."+c.table)
			}
		}
	}
	conflict := "DO NOTHING"
	if len(set) > 0 {
		conflict = "DO UPDATE SET " + strings.Join(set, ", ") + ", updated_at = now() WHERE (" +
			strings.Join(old, ", ") + ", NULL) IS DISTINCT FROM (" + strings.Join(neu, ", ") + ", NULL)"
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	// In symbol order, so that concurrent imports lock rows in one order.
	err = tx.QueryRow(ctx, schema.SQL(`
WITH upserted AS (
    INSERT INTO {schema}.symbols AS s (symbol, name, asset_type, sector, industry, country, currency, market_cap, provider_beta)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[]::numeric[], $9::float8[])
    ORDER BY 1
    ON CONFLICT (symbol) `+conflict+`
    RETURNING s.xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted`),
		sym, name, asset, sector, industry, country, currency, mcap, beta).Scan(&inserted, &updated)
	if err != nil {
		return 0, 0, fmt.Errorf("upsert symbols: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, fmt.Errorf("commit: %w", err)
	}
	return inserted, updated, nil
}
