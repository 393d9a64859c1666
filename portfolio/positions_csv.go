package portfolio

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Limits of ParsePositions.
const (
	// DefaultMaxRows is the default limit on data rows in a positions CSV.
	DefaultMaxRows = 10000
	// DefaultMaxBytes is the default limit on the size of a positions CSV:
	// 10 MiB.
	DefaultMaxBytes = 10 << 20
)

// Column limits, equal to the sizes of the positions table's columns.
const (
	maxSymbolChars      = 100 // symbol, underlying_symbol varchar(100)
	maxQuantityIntDigit = 18  // quantity numeric(24,6)
	maxQuantityScale    = 6
	maxPriceIntDigits   = 16 // entry_price, exit_price, strike_price numeric(20,4)
	maxPriceScale       = 4
	maxYearsBack        = 100
	optionMultiplier    = 100

	// maxCSVColumns bounds the header. Without a bound a 10 MiB line of commas
	// would cost hundreds of MiB of field slices.
	maxCSVColumns = 1000
)

// ParseOptions configures ParsePositions. The zero value (and a nil
// *ParseOptions) means the defaults.
type ParseOptions struct {
	// Now is the clock for the "not in the future" and "at most 100 years
	// ago" date rules. Today is the calendar date of Now() in Now's own
	// location. Default: time.Now.
	Now func() time.Time
	// MaxRows is the limit on data rows (comment and blank lines do not
	// count). Default: DefaultMaxRows.
	MaxRows int
	// MaxBytes is the limit on the file size in bytes. Default:
	// DefaultMaxBytes (10 MiB).
	MaxBytes int64
}

// withDefaults returns a copy of o with defaults filled in, or an error if
// a field is invalid.
func (o *ParseOptions) withDefaults() (ParseOptions, error) {
	var c ParseOptions
	if o != nil {
		c = *o
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxRows < 0 {
		return c, fmt.Errorf("parse options: MaxRows is %d; use 0 for the default (%d) or a positive limit", c.MaxRows, DefaultMaxRows)
	}
	c.MaxRows = cmp.Or(c.MaxRows, DefaultMaxRows)
	if c.MaxBytes < 0 {
		return c, fmt.Errorf("parse options: MaxBytes is %d; use 0 for the default (%d) or a positive limit", c.MaxBytes, DefaultMaxBytes)
	}
	c.MaxBytes = cmp.Or(c.MaxBytes, DefaultMaxBytes)
	return c, nil
}

// ParsePositions reads a positions CSV in the seed system's format and
// returns its validated positions, or nil and an error.
//
// The format is the one documented by the seed system's Sample_Template.csv:
//
//	Symbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype,Underlying Symbol,Strike Price,Expiration Date,Option Type,Exit Date,Exit Price Per Share
//
// Reading (by CSVReader, with comments on):
//   - At most MaxBytes bytes (plus one, to notice the excess) are read from r;
//     a larger file is ERR_CSV_001. More than MaxRows data rows is also
//     ERR_CSV_001, and reading stops there.
//   - A UTF-8 byte order mark is skipped; lines end in LF or CRLF. A NUL byte
//     or invalid UTF-8 is ERR_CSV_002, naming the line.
//   - Lines whose first non-blank character is '#' are comments, anywhere
//     (except inside a quoted field); blank lines are skipped; records whose
//     fields are all empty (",,,,") are skipped too. None of them count as
//     rows.
//   - Fields follow RFC 4180: quoted fields may contain commas, doubled
//     quotes and line breaks (a CRLF inside a quoted field becomes "\n").
//     Spaces around a quoted field are allowed. A quote inside an unquoted
//     field, text after a closing quote, or an unclosed quote is ERR_CSV_006.
//   - The header is the first record. Columns are matched by name, ignoring
//     case and runs of whitespace. Symbol, Quantity, Entry Price Per Share
//     and Entry Date are required (ERR_CSV_004 names every missing one); the
//     other documented columns are optional; unknown columns (even repeated
//     ones) are ignored. A documented column given twice, an empty column
//     name followed by a named one, or more than 1000 columns is
//     ERR_CSV_005; empty names at the end of the header (a trailing comma)
//     are tolerated. A one-column header containing ';' or a tab is
//     ERR_CSV_006 (wrong delimiter).
//   - A row shorter than the header has empty trailing fields. A row with a
//     non-empty value beyond the header's last named column gets a row error
//     ERR_CSV_006. Every field is trimmed of surrounding whitespace.
//   - One repair, for the seed system's own template, whose closed-position
//     example has one comma too few: when Option Type, Exit Date and Exit
//     Price Per Share are adjacent in the header and a row ends just before
//     Exit Price Per Share with a date under Option Type and a number under
//     Exit Date, those two values are read as the exit date and exit price.
//     As written, such a row could never be valid (an option type is never
//     a date).
//
// Validation is complete and all-or-nothing: every row is checked, all
// problems are returned together in row order in one *ValidationError with
// Code CodeCSVValidation, and no positions are returned if any row fails.
// A row may have several errors, but never two for the same cause. The rules:
//   - Symbol: required (ERR_POS_001) except for options given by their
//     contract fields; at most 100 characters (002); only letters, digits,
//     '.', '_' and '-' (003). Symbols and underlyings are upper-cased
//     (ASCII), so that aapl and AAPL are one symbol.
//   - Quantity: required (004); strict decimal syntax as in ParseDecimal, and
//     at most 18 integer digits (005); non-zero (006); at most 6 decimal
//     places (007). Negative means short.
//   - Entry Price Per Share: required (008); strict syntax and at most 16
//     integer digits (009); > 0 (010); at most 4 decimal places (011). Four,
//     not two, because fund NAVs and sub-dollar stocks are quoted in
//     fractions of a cent; the column is NUMERIC(20,4).
//   - Decimal places are counted without trailing zeros ("1.500000" has one),
//     since trailing zeros lose nothing in the column.
//   - Entry Date: required (012); exactly YYYY-MM-DD and a real calendar date
//     (013); not after today (014); not before today minus 100 years (015).
//   - Exit Date and Exit Price Per Share: optional, but given together or not
//     at all (018 on the missing one). The exit date follows the date rules
//     (013, 014) and is not before the entry date (018). The exit price
//     follows the price rules (009, 010, 011), reported with the field "Exit
//     Price Per Share"; an unparsable exit price is an error, not ignored.
//   - Investment Class: PUBLIC, OPTIONS or PRIVATE, any case (016). When
//     blank, it is derived: a CASH_* symbol is PRIVATE cash; an OCC option
//     symbol (e.g. AAPL240315C00160000) or any option column given makes
//     OPTIONS; a subtype valid for exactly one class gives that class;
//     otherwise PUBLIC.
//   - Investment Subtype: must be valid for the class (017): PUBLIC takes
//     STOCK, ETF, MUTUAL_FUND, BOND, CASH; OPTIONS takes CALL, PUT or blank;
//     PRIVATE requires one of PRIVATE_EQUITY, VENTURE_CAPITAL, HEDGE_FUND,
//     PRIVATE_REIT, REAL_ESTATE, CRYPTOCURRENCY, CRYPTO, ART, MONEY_MARKET,
//     TREASURY_BILLS, CASH, COMMODITY, OTHER. An invalid class is not also
//     reported as an invalid subtype.
//   - Cash: subtype CASH, or a symbol starting with CASH_ (any case), makes
//     IsCash. A CASH_* symbol is always cash: its subtype defaults to CASH
//     and must be CASH if given (017), and it cannot be OPTIONS (016).
//   - Options (class OPTIONS): Underlying Symbol (019), Strike Price > 0 with
//     at most 4 decimals and 16 integer digits (020), Expiration Date as
//     YYYY-MM-DD, not before the entry date (021), and Option Type CALL or
//     PUT, any case (022) are required. A blank Option Type is taken from a
//     CALL/PUT subtype; a contradicting one is 022. When the symbol is an
//     OCC symbol and all four option columns are blank, they are decoded from
//     the symbol. With an empty Symbol, one is derived as
//     UNDERLYING_{C|P}{strike}_{YYYYMMDD} with the strike's trailing zeros
//     dropped (DIA, 395.00, 2024-08-16, CALL → DIA_C395_20240816). The type
//     is LC/LP for a positive quantity and SC/SP for a negative one; the
//     multiplier is 100. Expired options are accepted (history).
//   - Rows that are not options (PUBLIC or PRIVATE) ignore the option
//     columns; their type is LONG or SHORT by the sign of the quantity and
//     their multiplier 1.
//   - Duplicates (023, reported on the later row): two rows with the same
//     symbol (case-insensitive) and entry date; for options, the same
//     contract (underlying, option type, strike, expiration) and entry date.
//
// A nil opts means the defaults. Invalid input is always a *ValidationError
// (use errors.As); other errors come from reading r or from invalid opts.
func ParsePositions(r io.Reader, opts *ParseOptions) ([]Position, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := newPositionsParser(r, o)
	positions, err := p.parse()
	if err != nil {
		return nil, err
	}
	return positions, nil
}

// csvFileError returns a file-level ValidationError.
func csvFileError(code Code, msg string, errs ...FieldError) *ValidationError {
	if len(errs) == 0 {
		errs = []FieldError{{Code: code, Message: msg}}
	}
	return &ValidationError{Code: code, Message: msg, Errors: errs}
}

// positionsParser holds the state of one ParsePositions call.
type positionsParser struct {
	opts   ParseOptions
	today  time.Time // UTC midnight of today's date
	oldest time.Time // earliest entry date allowed

	cr     *CSVReader
	fields []string // the current record

	// The header.
	idx        [numColumns]int // field index of each documented column, -1 if absent
	width      int             // fields up to the last named column
	headerSeen bool
	exitShift  bool // Option Type, Exit Date, Exit Price Per Share are adjacent, in that order

	// The current data row.
	rows int // data rows so far
	row  int // seed row number of the current row
	line int // physical line of the current row

	// Positions are collected in fixed-size chunks and copied once into a
	// slice of the exact size at the end: growing one slice by appending
	// would allocate several times the final size.
	chunks [][]Position
	chunk  []Position
	count  int
	errs   []FieldError
	seen   map[positionKey]int // first row of each position
}

// newPositionsParser returns a parser reading r with the options o (defaults
// already applied).
func newPositionsParser(r io.Reader, o ParseOptions) *positionsParser {
	p := &positionsParser{opts: o, seen: make(map[positionKey]int, 64)}
	p.cr = NewCSVReader(r, o.MaxBytes)
	p.cr.Comments = true
	// Fields past the header's width (past maxCSVColumns for the header)
	// are not kept: only the first non-empty one is remembered.
	p.cr.MaxFields = maxCSVColumns
	y, m, d := o.Now().Date()
	p.today = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	p.oldest = p.today.AddDate(-maxYearsBack, 0, 0)
	return p
}

// parse reads the whole input.
func (p *positionsParser) parse() ([]Position, error) {
	ok, err := p.next()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, csvFileError(CodeCSV003, "CSV file is empty: it has no header and no data rows")
	}
	if err := p.parseHeader(); err != nil {
		return nil, err
	}
	p.headerSeen = true
	p.cr.MaxFields = p.width
	for {
		ok, err := p.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if p.rows == p.opts.MaxRows {
			msg := "Too many rows: the limit is " + strconv.Itoa(p.opts.MaxRows) + " data rows"
			return nil, csvFileError(CodeCSV001, msg, FieldError{Line: p.cr.Line(), Code: CodeCSV001, Message: msg})
		}
		p.rows++
		p.row = p.rows + 1
		p.line = p.cr.Line()
		p.validateRow()
	}
	if p.rows == 0 {
		msg := "CSV file has a header but no data rows"
		return nil, csvFileError(CodeCSV003, msg)
	}
	if len(p.errs) > 0 {
		return nil, &ValidationError{
			Code:    CodeCSVValidation,
			Message: "CSV validation failed with " + strconv.Itoa(len(p.errs)) + " error(s)",
			Errors:  p.errs,
		}
	}
	positions := make([]Position, 0, p.count)
	for _, c := range p.chunks {
		positions = append(positions, c...)
	}
	return append(positions, p.chunk...), nil
}

// positionChunk is the number of positions per chunk.
const positionChunk = 256

// add appends a valid position.
func (p *positionsParser) add(pos *Position) {
	if len(p.chunk) == cap(p.chunk) {
		if p.chunk != nil {
			p.chunks = append(p.chunks, p.chunk)
		}
		p.chunk = make([]Position, 0, positionChunk)
	}
	p.chunk = append(p.chunk, *pos)
	p.count++
}

// next reads the next record into p.fields; it returns false at the end of
// the input. Problems of the file become their ValidationError.
func (p *positionsParser) next() (bool, error) {
	rec, err := p.cr.Read()
	if err == nil {
		p.fields = rec
		return true, nil
	}
	var le *CSVLineError
	switch {
	case err == io.EOF:
		return false, nil
	case errors.Is(err, ErrCSVTooLarge):
		limit := strconv.FormatInt(p.opts.MaxBytes, 10) + " bytes"
		if p.opts.MaxBytes%(1<<20) == 0 {
			limit = strconv.FormatInt(p.opts.MaxBytes>>20, 10) + " MiB"
		}
		return false, csvFileError(CodeCSV001, "File too large: the limit is "+limit)
	case !errors.As(err, &le):
		return false, fmt.Errorf("read positions: %w", err)
	}
	line := strconv.Itoa(le.Line)
	switch le.Err {
	case ErrCSVBinary:
		msg := "Line " + line + " " + ErrCSVBinary.Error()
		return false, csvFileError(CodeCSV002, msg, FieldError{Line: le.Line, Code: CodeCSV002, Message: msg})
	case ErrCSVNotUTF8:
		msg := "Line " + line + " is " + ErrCSVNotUTF8.Error()
		return false, csvFileError(CodeCSV002, msg, FieldError{Line: le.Line, Code: CodeCSV002, Message: msg})
	case ErrCSVUnclosedQuote:
		q := strconv.Itoa(le.QuoteLine)
		return false, p.malformed(le.QuoteLine, "a quoted field starting at line "+q+" is never closed (unbalanced quotes)")
	}
	return false, p.malformed(le.Line, le.Err.Error())
}

// malformed returns an ERR_CSV_006 error for the current record.
func (p *positionsParser) malformed(line int, msg string) error {
	fe := FieldError{Line: line, Code: CodeCSV006, Message: msg}
	if p.headerSeen {
		fe.Row = p.rows + 2
	} else {
		fe.Row = 1
	}
	return csvFileError(CodeCSV006, "Malformed CSV at line "+strconv.Itoa(line)+": "+msg, fe)
}
