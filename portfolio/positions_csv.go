package portfolio

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

// csvColumn identifies one of the documented columns of the positions CSV.
type csvColumn int

// The documented columns, in the template's order.
const (
	colSymbol csvColumn = iota
	colQuantity
	colEntryPrice
	colEntryDate
	colClass
	colSubtype
	colUnderlying
	colStrike
	colExpiration
	colOptionType
	colExitDate
	colExitPrice
	numColumns

	noColumn csvColumn = -1
)

// columnNames are the documented column names; FieldError.Field uses them.
var columnNames = [numColumns]string{
	"Symbol",
	"Quantity",
	"Entry Price Per Share",
	"Entry Date",
	"Investment Class",
	"Investment Subtype",
	"Underlying Symbol",
	"Strike Price",
	"Expiration Date",
	"Option Type",
	"Exit Date",
	"Exit Price Per Share",
}

// normalizedColumnNames are columnNames as normalizeColumnName returns them.
var normalizedColumnNames = func() (n [numColumns]string) {
	for c, name := range columnNames {
		n[c] = normalizeColumnName(name)
	}
	return n
}()

// requiredColumns must be present in the header.
var requiredColumns = []csvColumn{colSymbol, colQuantity, colEntryPrice, colEntryDate}

// name returns the documented name of c, or "" for noColumn.
func (c csvColumn) name() string {
	if c < 0 || c >= numColumns {
		return ""
	}
	return columnNames[c]
}

// Investment subtypes valid for each class.
var (
	publicSubtypes  = []string{"STOCK", "ETF", "MUTUAL_FUND", "BOND", "CASH"}
	optionSubtypes  = []string{"CALL", "PUT"}
	privateSubtypes = []string{
		"PRIVATE_EQUITY", "VENTURE_CAPITAL", "HEDGE_FUND", "PRIVATE_REIT", "REAL_ESTATE",
		"CRYPTOCURRENCY", "CRYPTO", "ART", "MONEY_MARKET", "TREASURY_BILLS", "CASH", "COMMODITY", "OTHER",
	}
)

const subtypeCash = "CASH"

// Messages used by the row validation beyond the defaults of Message. They
// are constants so that reporting an error does not format strings.
const (
	msgQuantitySyntax   = "Quantity must be a valid number (digits with an optional sign and decimal point, like -12.5; no exponent, thousands separators or currency symbols)"
	msgQuantityTooLarge = "Quantity is too large (at most 18 digits before the decimal point)"

	msgEntryPriceSyntax   = "Entry price must be a valid number (digits with an optional decimal point, like 12.50; no exponent, thousands separators or currency symbols)"
	msgEntryPriceTooLarge = "Entry price is too large (at most 16 digits before the decimal point)"
	msgExitPriceSyntax    = "Exit price must be a valid number (digits with an optional decimal point, like 12.50; no exponent, thousands separators or currency symbols)"
	msgExitPriceTooLarge  = "Exit price is too large (at most 16 digits before the decimal point)"
	msgExitPricePositive  = "Exit price must be positive"
	msgExitPriceScale     = "Exit price has too many decimal places (max 4)"

	msgEntryDateFormat = "Entry date must be a valid date in YYYY-MM-DD format"
	msgExitDateFormat  = "Exit date must be a valid date in YYYY-MM-DD format"
	msgExitDateFuture  = "Exit date cannot be in the future"
	msgExitPriceNeeded = "Exit price is required when an exit date is given"
	msgExitDateNeeded  = "Exit date is required when an exit price is given"

	msgCashOptions     = "Symbols starting with CASH_ are cash and cannot be OPTIONS"
	msgSubtypeCash     = "Symbols starting with CASH_ are cash: Investment subtype must be CASH or blank"
	msgSubtypeRequired = "Investment subtype is required for PRIVATE holdings"
	msgSubtypePublic   = "Investment subtype is not valid for PUBLIC (use STOCK, ETF, MUTUAL_FUND, BOND or CASH)"
	msgSubtypeOptions  = "Investment subtype is not valid for OPTIONS (use CALL, PUT or leave it blank)"
	msgSubtypePrivate  = "Investment subtype is not valid for PRIVATE (use PRIVATE_EQUITY, VENTURE_CAPITAL, HEDGE_FUND, PRIVATE_REIT, REAL_ESTATE, CRYPTOCURRENCY, CRYPTO, ART, MONEY_MARKET, TREASURY_BILLS, CASH, COMMODITY or OTHER)"

	msgUnderlyingRequired = "Underlying symbol is required for options"
	msgUnderlyingTooLong  = "Underlying symbol must be at most 100 characters"
	msgUnderlyingChars    = "Underlying symbol contains invalid characters (allowed: letters, digits, '.', '_' and '-')"
	msgUnderlyingDerived  = "Underlying symbol is too long to derive an option symbol from it (a symbol is at most 100 characters); give the Symbol"
	msgStrikeRequired     = "Strike price is required for options"
	msgStrikeSyntax       = "Strike price must be a valid number (digits with an optional decimal point, like 450.00)"
	msgStrikePositive     = "Strike price must be positive"
	msgStrikeTooLarge     = "Strike price is too large (at most 16 digits before the decimal point)"
	msgStrikeScale        = "Strike price has too many decimal places (max 4)"
	msgExpirationRequired = "Expiration date is required for options"
	msgExpirationFormat   = "Expiration date must be a valid date in YYYY-MM-DD format"
	msgExpirationBefore   = "Expiration date cannot be before the entry date"
	msgOptionTypeRequired = "Option type is required for options (CALL or PUT)"
	msgOptionTypeMismatch = "Option type does not match the investment subtype (CALL or PUT)"
)

// priceMessages are the messages for one price column.
type priceMessages struct {
	required, syntax, tooLarge, positive, scale string
}

var (
	entryPriceMessages = priceMessages{
		required: codeMessages[CodePos008],
		syntax:   msgEntryPriceSyntax,
		tooLarge: msgEntryPriceTooLarge,
		positive: codeMessages[CodePos010],
		scale:    codeMessages[CodePos011],
	}
	exitPriceMessages = priceMessages{
		syntax:   msgExitPriceSyntax,
		tooLarge: msgExitPriceTooLarge,
		positive: msgExitPricePositive,
		scale:    msgExitPriceScale,
	}
)

// ParsePositions reads a positions CSV in the seed system's format and
// returns its validated positions, or nil and an error.
//
// The format is the one documented by the seed system's Sample_Template.csv:
//
//	Symbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype,Underlying Symbol,Strike Price,Expiration Date,Option Type,Exit Date,Exit Price Per Share
//
// Reading:
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

// errFileTooLarge is returned by lineReader.next once more than the limit has
// been read.
var errFileTooLarge = errors.New("file too large")

// csvByteCounter counts the bytes read through it.
type csvByteCounter struct {
	r io.Reader
	n int64
}

func (c *csvByteCounter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// lineReader returns physical lines, checked for NUL bytes and UTF-8, and
// counts them.
type lineReader struct {
	src  csvByteCounter
	br   *bufio.Reader
	max  int64
	line int    // number of the last line returned
	long []byte // holds lines longer than br's buffer
}

// next returns the next line without its line terminator. The slice is
// valid until the following call.
func (lr *lineReader) next() ([]byte, error) {
	b, err := lr.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		lr.long = append(lr.long[:0], b...)
		for err == bufio.ErrBufferFull {
			if lr.src.n > lr.max {
				return nil, errFileTooLarge
			}
			b, err = lr.br.ReadSlice('\n')
			lr.long = append(lr.long, b...)
		}
		b = lr.long
	}
	// Checked before anything else: the last line of a file cut at the limit
	// may end inside a UTF-8 sequence.
	if lr.src.n > lr.max {
		return nil, errFileTooLarge
	}
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read positions: %w", err)
	}
	if len(b) == 0 {
		return nil, io.EOF
	}
	lr.line++
	if n := len(b); b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	if lr.line == 1 {
		b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	}
	if bytes.IndexByte(b, 0) >= 0 {
		msg := "Line " + strconv.Itoa(lr.line) + " contains NUL bytes: the file is binary (or UTF-16), not CSV text; save it as CSV UTF-8"
		return nil, csvFileError(CodeCSV002, msg, FieldError{Line: lr.line, Code: CodeCSV002, Message: msg})
	}
	if !utf8.Valid(b) {
		msg := "Line " + strconv.Itoa(lr.line) + " is not valid UTF-8: save the file as CSV UTF-8"
		return nil, csvFileError(CodeCSV002, msg, FieldError{Line: lr.line, Code: CodeCSV002, Message: msg})
	}
	return b, nil
}

// csvFileError returns a file-level ValidationError.
func csvFileError(code Code, msg string, errs ...FieldError) *ValidationError {
	if len(errs) == 0 {
		errs = []FieldError{{Code: code, Message: msg}}
	}
	return &ValidationError{Code: code, Message: msg, Errors: errs}
}

// positionKey identifies a position for duplicate detection.
type positionKey struct {
	symbol string // upper-case symbol, or underlying for options
	strike string // options: strike without trailing zeros
	expiry int32  // options: expiration, days since 1970-01-01
	entry  int32  // entry date, days since 1970-01-01
	kind   uint8  // 0 for non-options, 1 for a call, 2 for a put
}

// epochDay returns the days since 1970-01-01 of a UTC midnight.
func epochDay(t time.Time) int32 {
	return int32(t.Unix() / 86400)
}

// positionsParser holds the state of one ParsePositions call.
type positionsParser struct {
	opts   ParseOptions
	today  time.Time // UTC midnight of today's date
	oldest time.Time // earliest entry date allowed

	lr lineReader

	// The current record: its fields are substrings of one string built
	// from buf, so a record costs one allocation.
	recLine int
	recLen  int
	buf     []byte
	ends    []int
	fields  []string
	// Fields past the header's width (past maxCSVColumns for the header) are
	// not kept: only the first non-empty one is remembered.
	extraCol int    // 1-based column of the first non-empty extra field; 0 if none
	extraVal string // its value, trimmed and truncated

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
	p.lr.src.r = io.LimitReader(r, o.MaxBytes+1)
	p.lr.br = bufio.NewReaderSize(&p.lr.src, 16<<10)
	p.lr.max = o.MaxBytes
	y, m, d := o.Now().Date()
	p.today = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	p.oldest = p.today.AddDate(-maxYearsBack, 0, 0)
	return p
}

// parse reads the whole input.
func (p *positionsParser) parse() ([]Position, error) {
	ok, err := p.nextRecord()
	if err != nil {
		return nil, p.mapErr(err)
	}
	if !ok {
		return nil, csvFileError(CodeCSV003, "CSV file is empty: it has no header and no data rows")
	}
	if err := p.parseHeader(); err != nil {
		return nil, err
	}
	p.headerSeen = true
	for {
		ok, err := p.nextRecord()
		if err != nil {
			return nil, p.mapErr(err)
		}
		if !ok {
			break
		}
		if p.rows == p.opts.MaxRows {
			msg := "Too many rows: the limit is " + strconv.Itoa(p.opts.MaxRows) + " data rows"
			return nil, csvFileError(CodeCSV001, msg, FieldError{Line: p.recLine, Code: CodeCSV001, Message: msg})
		}
		p.rows++
		p.row = p.rows + 1
		p.line = p.recLine
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

// mapErr turns errFileTooLarge into its ValidationError.
func (p *positionsParser) mapErr(err error) error {
	if err != errFileTooLarge {
		return err
	}
	limit := strconv.FormatInt(p.opts.MaxBytes, 10) + " bytes"
	if p.opts.MaxBytes%(1<<20) == 0 {
		limit = strconv.FormatInt(p.opts.MaxBytes>>20, 10) + " MiB"
	}
	return csvFileError(CodeCSV001, "File too large: the limit is "+limit)
}

// nextRecord reads the next record that is not a comment, blank line or
// all-empty record into p.fields. It returns false at the end of the input.
func (p *positionsParser) nextRecord() (bool, error) {
	for {
		ok, err := p.readRecord()
		if err != nil || !ok {
			return ok, err
		}
		if p.extraCol > 0 {
			return true, nil
		}
		for _, f := range p.fields {
			if strings.TrimSpace(f) != "" {
				return true, nil
			}
		}
	}
}

// isSkippable reports whether a line is blank or a comment.
func isSkippable(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\v', '\f', '\r':
		case '#':
			return true
		default:
			return false
		}
	}
	return true
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

// readRecord reads one record, skipping blank and comment lines before it.
func (p *positionsParser) readRecord() (bool, error) {
	var line []byte
	for {
		b, err := p.lr.next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !isSkippable(b) {
			line = b
			break
		}
	}
	p.recLine = p.lr.line
	p.buf = p.buf[:0]
	p.ends = p.ends[:0]
	p.extraCol, p.extraVal = 0, ""
	limit := maxCSVColumns
	if p.headerSeen {
		limit = p.width
	}
	i := 0
	for column := 1; ; column++ {
		fieldStart := len(p.buf)
		j := i
		for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
			j++
		}
		if j < len(line) && line[j] == '"' {
			// Quoted field, possibly spanning lines.
			i = j + 1
			quoteLine := p.lr.line
			for {
				k := bytes.IndexByte(line[i:], '"')
				if k < 0 {
					p.buf = append(p.buf, line[i:]...)
					p.buf = append(p.buf, '\n')
					b, err := p.lr.next()
					if err == io.EOF {
						return false, p.malformed(quoteLine, "a quoted field starting at line "+strconv.Itoa(quoteLine)+" is never closed (unbalanced quotes)")
					}
					if err != nil {
						return false, err
					}
					line, i = b, 0
					continue
				}
				p.buf = append(p.buf, line[i:i+k]...)
				i += k + 1
				if i < len(line) && line[i] == '"' {
					p.buf = append(p.buf, '"')
					i++
					continue
				}
				break
			}
			for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
			if i < len(line) && line[i] != ',' {
				return false, p.malformed(p.lr.line, `unexpected text after a closing quote (a " inside a quoted field must be doubled)`)
			}
		} else {
			end := len(line)
			if k := bytes.IndexByte(line[i:], ','); k >= 0 {
				end = i + k
			}
			field := line[i:end]
			if bytes.IndexByte(field, '"') >= 0 {
				return false, p.malformed(p.lr.line, `a " in an unquoted field (quote the whole field and double the " inside it)`)
			}
			p.buf = append(p.buf, field...)
			i = end
		}
		if column <= limit {
			p.ends = append(p.ends, len(p.buf))
		} else {
			if v := bytes.TrimSpace(p.buf[fieldStart:]); p.extraCol == 0 && len(v) > 0 {
				n := min(len(v), maxValueBytes)
				for n < len(v) && n > 0 && !utf8.RuneStart(v[n]) {
					n--
				}
				p.extraCol, p.extraVal = column, string(v[:n])
			}
			p.buf = p.buf[:fieldStart]
		}
		if i >= len(line) {
			break
		}
		i++ // the comma
	}
	rec := string(p.buf)
	p.recLen = len(rec)
	p.fields = p.fields[:0]
	start := 0
	for _, end := range p.ends {
		p.fields = append(p.fields, rec[start:end])
		start = end
	}
	return true, nil
}

// normalizeColumnName lower-cases a header name and collapses whitespace.
func normalizeColumnName(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// parseHeader maps the documented columns to field indexes.
func (p *positionsParser) parseHeader() error {
	line := p.recLine
	if p.extraCol > 0 {
		msg := "The header has more than " + strconv.Itoa(maxCSVColumns) + " columns"
		return csvFileError(CodeCSV005, "Invalid CSV header: "+msg, FieldError{Row: 1, Line: line, Code: CodeCSV005, Message: msg, Value: p.extraVal})
	}
	if len(p.fields) < 2 {
		f := p.fields[0]
		switch {
		case strings.Contains(f, ";"):
			return p.malformed(line, "the header has a single column containing ';': use commas as the delimiter")
		case strings.Contains(f, "\t"):
			return p.malformed(line, "the header has a single column containing tabs: use commas as the delimiter")
		}
	}
	p.width = 0
	for i, f := range p.fields {
		if strings.TrimSpace(f) != "" {
			p.width = i + 1
		}
	}
	for c := range p.idx {
		p.idx[c] = -1
	}
	var problems []FieldError
	for i := 0; i < p.width; i++ {
		name := normalizeColumnName(p.fields[i])
		if name == "" {
			msg := "Column " + strconv.Itoa(i+1) + " of the header has no name"
			problems = append(problems, FieldError{Row: 1, Line: line, Code: CodeCSV005, Message: msg})
			continue
		}
		for c, want := range columnNames {
			if normalizedColumnNames[c] != name {
				continue
			}
			if prev := p.idx[c]; prev >= 0 {
				msg := fmt.Sprintf("Column %q appears twice in the header (columns %d and %d)", want, prev+1, i+1)
				problems = append(problems, FieldError{Row: 1, Line: line, Field: want, Code: CodeCSV005, Message: msg, Value: truncateValue(p.fields[i])})
			} else {
				p.idx[c] = i
			}
		}
	}
	if len(problems) > 0 {
		msg := "Invalid CSV header: " + problems[0].Message
		if len(problems) > 1 {
			msg += " (and " + strconv.Itoa(len(problems)-1) + " more)"
		}
		return csvFileError(CodeCSV005, msg, problems...)
	}
	p.exitShift = p.idx[colOptionType] >= 0 &&
		p.idx[colExitDate] == p.idx[colOptionType]+1 &&
		p.idx[colExitPrice] == p.idx[colExitDate]+1
	var missing []string
	for _, c := range requiredColumns {
		if p.idx[c] < 0 {
			missing = append(missing, c.name())
			problems = append(problems, FieldError{Row: 1, Line: line, Field: c.name(), Code: CodeCSV004, Message: "Missing required column: " + c.name()})
		}
	}
	if len(missing) > 0 {
		return csvFileError(CodeCSV004, "Missing required columns: "+strings.Join(missing, ", "), problems...)
	}
	return nil
}

// fail records an error of the current row.
func (p *positionsParser) fail(c csvColumn, code Code, msg, value string) {
	p.errs = append(p.errs, FieldError{
		Row:     p.row,
		Line:    p.line,
		Field:   c.name(),
		Code:    code,
		Message: msg,
		Value:   strings.Clone(truncateValue(value)),
	})
}

// validateRow validates the current record and appends a Position or errors.
func (p *positionsParser) validateRow() {
	var v [numColumns]string
	for c, i := range p.idx {
		if i >= 0 && i < len(p.fields) {
			v[c] = strings.TrimSpace(p.fields[i])
		}
	}
	first := len(p.errs)

	// The seed system's own template writes its closed-position example
	// with one comma too few: the exit date lands under Option Type and the
	// exit price under Exit Date. As written such a row can never be valid
	// (an option type is never a date), so it is read as meant.
	if p.exitShift && len(p.fields) == p.idx[colExitPrice] && v[colOptionType] != "" {
		if _, ok := parseCSVDate(v[colOptionType]); ok {
			if _, ok := parseDecimal(v[colExitDate]); ok {
				v[colOptionType], v[colExitDate], v[colExitPrice] = "", v[colOptionType], v[colExitDate]
			}
		}
	}

	if p.extraCol > 0 {
		msg := "Row has a value in column " + strconv.Itoa(p.extraCol) + " but the header names only " + strconv.Itoa(p.width) + " columns"
		p.fail(noColumn, CodeCSV006, msg, p.extraVal)
	}

	symbol := v[colSymbol]
	qty, _ := p.checkQuantity(v[colQuantity])
	price, _ := p.checkPrice(colEntryPrice, v[colEntryPrice], &entryPriceMessages)
	entry, entryOK := p.checkEntryDate(v[colEntryDate])

	// Class, with auto-classification when blank.
	classRaw, subRaw := v[colClass], v[colSubtype]
	class, classOK := parseInvestmentClass(classRaw)
	if !classOK {
		p.fail(colClass, CodePos016, codeMessages[CodePos016], classRaw)
	}
	subtype := canonicalSubtype(subRaw)
	cashSymbol := len(symbol) >= 5 && strings.EqualFold(symbol[:5], "CASH_")
	optionCols := v[colUnderlying] != "" || v[colStrike] != "" || v[colExpiration] != "" || v[colOptionType] != ""
	occ := isOCCSymbol(symbol)
	if classOK && class == "" {
		switch {
		case cashSymbol:
			class = ClassPrivate
		case occ || optionCols:
			class = ClassOptions
		default:
			class = classOfSubtype(subtype)
		}
	}
	if classOK && class == ClassOptions && cashSymbol {
		p.fail(colClass, CodePos016, msgCashOptions, classRaw)
		classOK = false
	}

	// Subtype.
	isCash := false
	if classOK {
		switch class {
		case ClassPublic, ClassPrivate:
			switch {
			case cashSymbol:
				if subRaw == "" {
					subtype = subtypeCash
				} else if subtype != subtypeCash {
					p.fail(colSubtype, CodePos017, msgSubtypeCash, subRaw)
				}
			case subRaw == "":
				if class == ClassPrivate {
					p.fail(colSubtype, CodePos017, msgSubtypeRequired, subRaw)
				}
			case class == ClassPublic && !slices.Contains(publicSubtypes, subtype):
				p.fail(colSubtype, CodePos017, msgSubtypePublic, subRaw)
			case class == ClassPrivate && !slices.Contains(privateSubtypes, subtype):
				p.fail(colSubtype, CodePos017, msgSubtypePrivate, subRaw)
			}
			isCash = subtype == subtypeCash
		case ClassOptions:
			if subRaw != "" && !slices.Contains(optionSubtypes, subtype) {
				p.fail(colSubtype, CodePos017, msgSubtypeOptions, subRaw)
			}
		}
	}

	// Option contract.
	isOption := classOK && class == ClassOptions
	var (
		underlying                     string
		strike                         Decimal
		expiry                         time.Time
		optType                        OptionType
		undOK, strikeOK, expOK, typeOK bool
	)
	if isOption {
		undRaw, strikeRaw, expRaw, typeRaw := v[colUnderlying], v[colStrike], v[colExpiration], v[colOptionType]
		if occ && !optionCols {
			undRaw, strikeRaw, expRaw, typeRaw = decodeOCCSymbol(symbol)
		}
		underlying, undOK = p.checkUnderlying(undRaw)
		strike, strikeOK = p.checkStrike(strikeRaw)
		expiry, expOK = p.checkExpiration(expRaw)
		optType, typeOK = p.checkOptionType(typeRaw, subtype)
		if expOK && entryOK && expiry.Before(entry) {
			p.fail(colExpiration, CodePos021, msgExpirationBefore, expRaw)
			expOK = false
		}
	}
	contractOK := isOption && undOK && strikeOK && expOK && typeOK

	// Symbol, or one derived from the contract.
	posSymbol := symbol
	symOK := false
	switch {
	case symbol == "":
		if isOption {
			if contractOK {
				posSymbol = deriveOptionSymbol(underlying, strike, expiry, optType)
				if len(posSymbol) > maxSymbolChars {
					p.fail(colUnderlying, CodePos019, msgUnderlyingDerived, underlying)
					contractOK = false
				}
			}
		} else if classOK || !optionCols {
			p.fail(colSymbol, CodePos001, codeMessages[CodePos001], symbol)
		}
	case len(symbol) > maxSymbolChars && utf8.RuneCountInString(symbol) > maxSymbolChars:
		p.fail(colSymbol, CodePos002, codeMessages[CodePos002], symbol)
	case !isSymbolText(symbol):
		p.fail(colSymbol, CodePos003, codeMessages[CodePos003], symbol)
	default:
		symOK = true
	}

	// Exit.
	exitDateRaw, exitPriceRaw := v[colExitDate], v[colExitPrice]
	var exitDate time.Time
	exitDateOK := false
	if exitDateRaw != "" {
		d, ok := parseCSVDate(exitDateRaw)
		switch {
		case !ok:
			p.fail(colExitDate, CodePos013, msgExitDateFormat, exitDateRaw)
		case d.After(p.today):
			p.fail(colExitDate, CodePos014, msgExitDateFuture, exitDateRaw)
		case entryOK && d.Before(entry):
			p.fail(colExitDate, CodePos018, codeMessages[CodePos018], exitDateRaw)
		default:
			exitDate, exitDateOK = d, true
		}
	}
	var exitPrice Decimal
	if exitPriceRaw != "" {
		exitPrice, _ = p.checkPrice(colExitPrice, exitPriceRaw, &exitPriceMessages)
	}
	switch {
	case exitDateRaw != "" && exitPriceRaw == "":
		p.fail(colExitPrice, CodePos018, msgExitPriceNeeded, "")
	case exitDateRaw == "" && exitPriceRaw != "":
		p.fail(colExitDate, CodePos018, msgExitDateNeeded, "")
	}

	// Duplicates: the first row with a key keeps it; later ones are errors.
	if entryOK && (contractOK || (!isOption && symOK)) {
		key := positionKey{entry: epochDay(entry)}
		if isOption {
			key.symbol = upperASCII(underlying)
			key.strike = strike.trimmed()
			key.expiry = epochDay(expiry)
			key.kind = 1
			if optType == OptionPut {
				key.kind = 2
			}
		} else {
			key.symbol = upperASCII(symbol)
		}
		if prev, dup := p.seen[key]; dup {
			what := "symbol"
			if isOption {
				what = "option contract (underlying, type, strike, expiration)"
			}
			p.fail(colSymbol, CodePos023, "Duplicate position: same "+what+" and entry date as row "+strconv.Itoa(prev), posSymbol)
		} else {
			p.seen[key] = p.row
		}
	}

	if len(p.errs) > first {
		s := strings.Clone(truncateValue(posSymbol))
		for i := first; i < len(p.errs); i++ {
			p.errs[i].Symbol = s
		}
		return
	}
	if len(p.errs) > 0 {
		// Positions are not returned once a row failed; skip building them.
		return
	}

	// Symbols are upper-cased, so that aapl and AAPL are one symbol, as in
	// market_prices.
	pos := Position{
		Row:        p.row,
		Line:       p.line,
		Symbol:     upperASCII(posSymbol),
		Quantity:   qty,
		EntryPrice: price,
		EntryDate:  entry,
		Class:      class,
		Subtype:    subtype,
		IsCash:     isCash,
		Multiplier: 1,
	}
	long := qty.Sign() > 0
	switch {
	case isOption:
		pos.Multiplier = optionMultiplier
		pos.Underlying = upperASCII(underlying)
		k := strike
		pos.Strike = &k
		e := expiry
		pos.Expiration = &e
		pos.OptionType = optType
		switch {
		case optType == OptionCall && long:
			pos.Type = PositionLongCall
		case optType == OptionCall:
			pos.Type = PositionShortCall
		case long:
			pos.Type = PositionLongPut
		default:
			pos.Type = PositionShortPut
		}
	case long:
		pos.Type = PositionLong
	default:
		pos.Type = PositionShort
	}
	if exitDateOK {
		d, x := exitDate, exitPrice
		pos.ExitDate = &d
		pos.ExitPrice = &x
	}
	if p.recLen > 4096 {
		// The strings share the record's memory; do not let a position pin a
		// large record (an ignored column may hold megabytes).
		pos.detach()
	}
	p.add(&pos)
}

// detach copies the strings of pos that may share memory with the input.
func (pos *Position) detach() {
	pos.Symbol = strings.Clone(pos.Symbol)
	pos.Underlying = strings.Clone(pos.Underlying)
	pos.Quantity.s = strings.Clone(pos.Quantity.s)
	pos.EntryPrice.s = strings.Clone(pos.EntryPrice.s)
	if pos.Strike != nil {
		pos.Strike.s = strings.Clone(pos.Strike.s)
	}
	if pos.ExitPrice != nil {
		pos.ExitPrice.s = strings.Clone(pos.ExitPrice.s)
	}
}

// checkQuantity validates the Quantity field.
func (p *positionsParser) checkQuantity(s string) (Decimal, bool) {
	if s == "" {
		p.fail(colQuantity, CodePos004, codeMessages[CodePos004], s)
		return Decimal{}, false
	}
	d, ok := parseDecimal(s)
	switch {
	case !ok:
		p.fail(colQuantity, CodePos005, msgQuantitySyntax, s)
	case d.IsZero():
		p.fail(colQuantity, CodePos006, codeMessages[CodePos006], s)
	case d.IntDigits() > maxQuantityIntDigit:
		p.fail(colQuantity, CodePos005, msgQuantityTooLarge, s)
	case d.significantScale() > maxQuantityScale:
		p.fail(colQuantity, CodePos007, codeMessages[CodePos007], s)
	default:
		return d, true
	}
	return Decimal{}, false
}

// checkPrice validates a price field (entry or exit price).
func (p *positionsParser) checkPrice(c csvColumn, s string, m *priceMessages) (Decimal, bool) {
	if s == "" {
		p.fail(c, CodePos008, m.required, s)
		return Decimal{}, false
	}
	d, ok := parseDecimal(s)
	switch {
	case !ok:
		p.fail(c, CodePos009, m.syntax, s)
	case d.Sign() <= 0:
		p.fail(c, CodePos010, m.positive, s)
	case d.IntDigits() > maxPriceIntDigits:
		p.fail(c, CodePos009, m.tooLarge, s)
	case d.significantScale() > maxPriceScale:
		p.fail(c, CodePos011, m.scale, s)
	default:
		return d, true
	}
	return Decimal{}, false
}

// checkEntryDate validates the Entry Date field.
func (p *positionsParser) checkEntryDate(s string) (time.Time, bool) {
	if s == "" {
		p.fail(colEntryDate, CodePos012, codeMessages[CodePos012], s)
		return time.Time{}, false
	}
	d, ok := parseCSVDate(s)
	switch {
	case !ok:
		p.fail(colEntryDate, CodePos013, msgEntryDateFormat, s)
	case d.After(p.today):
		p.fail(colEntryDate, CodePos014, codeMessages[CodePos014], s)
	case d.Before(p.oldest):
		p.fail(colEntryDate, CodePos015, codeMessages[CodePos015], s)
	default:
		return d, true
	}
	return time.Time{}, false
}

// checkUnderlying validates an option's underlying symbol.
func (p *positionsParser) checkUnderlying(s string) (string, bool) {
	switch {
	case s == "":
		p.fail(colUnderlying, CodePos019, msgUnderlyingRequired, s)
	case len(s) > maxSymbolChars && utf8.RuneCountInString(s) > maxSymbolChars:
		p.fail(colUnderlying, CodePos019, msgUnderlyingTooLong, s)
	case !isSymbolText(s):
		p.fail(colUnderlying, CodePos019, msgUnderlyingChars, s)
	default:
		return s, true
	}
	return "", false
}

// checkStrike validates an option's strike price.
func (p *positionsParser) checkStrike(s string) (Decimal, bool) {
	if s == "" {
		p.fail(colStrike, CodePos020, msgStrikeRequired, s)
		return Decimal{}, false
	}
	d, ok := parseDecimal(s)
	switch {
	case !ok:
		p.fail(colStrike, CodePos020, msgStrikeSyntax, s)
	case d.Sign() <= 0:
		p.fail(colStrike, CodePos020, msgStrikePositive, s)
	case d.IntDigits() > maxPriceIntDigits:
		p.fail(colStrike, CodePos020, msgStrikeTooLarge, s)
	case d.significantScale() > maxPriceScale:
		p.fail(colStrike, CodePos020, msgStrikeScale, s)
	default:
		return d, true
	}
	return Decimal{}, false
}

// checkExpiration validates an option's expiration date.
func (p *positionsParser) checkExpiration(s string) (time.Time, bool) {
	if s == "" {
		p.fail(colExpiration, CodePos021, msgExpirationRequired, s)
		return time.Time{}, false
	}
	d, ok := parseCSVDate(s)
	if !ok {
		p.fail(colExpiration, CodePos021, msgExpirationFormat, s)
		return time.Time{}, false
	}
	return d, true
}

// checkOptionType validates an option's type. A blank type is taken from a
// CALL or PUT subtype.
func (p *positionsParser) checkOptionType(s, subtype string) (OptionType, bool) {
	var fromSubtype OptionType
	switch subtype {
	case "CALL":
		fromSubtype = OptionCall
	case "PUT":
		fromSubtype = OptionPut
	}
	var t OptionType
	switch {
	case s == "":
		if fromSubtype != "" {
			return fromSubtype, true
		}
		p.fail(colOptionType, CodePos022, msgOptionTypeRequired, s)
		return "", false
	case strings.EqualFold(s, "CALL"):
		t = OptionCall
	case strings.EqualFold(s, "PUT"):
		t = OptionPut
	default:
		p.fail(colOptionType, CodePos022, codeMessages[CodePos022], s)
		return "", false
	}
	if fromSubtype != "" && t != fromSubtype {
		p.fail(colOptionType, CodePos022, msgOptionTypeMismatch, s)
		return "", false
	}
	return t, true
}

// parseInvestmentClass parses a class in any case; "" (blank) is valid and
// means "derive it".
func parseInvestmentClass(s string) (InvestmentClass, bool) {
	switch {
	case s == "":
		return "", true
	case strings.EqualFold(s, string(ClassPublic)):
		return ClassPublic, true
	case strings.EqualFold(s, string(ClassOptions)):
		return ClassOptions, true
	case strings.EqualFold(s, string(ClassPrivate)):
		return ClassPrivate, true
	}
	return "", false
}

// canonicalSubtype returns the upper-case constant for a known subtype in any
// case, or "" when s is blank or unknown.
func canonicalSubtype(s string) string {
	if s == "" {
		return ""
	}
	for _, list := range [][]string{publicSubtypes, optionSubtypes, privateSubtypes} {
		for _, t := range list {
			if strings.EqualFold(s, t) {
				return t
			}
		}
	}
	return ""
}

// classOfSubtype returns the class a subtype belongs to when it belongs to
// exactly one, and PUBLIC otherwise.
func classOfSubtype(subtype string) InvestmentClass {
	if subtype == "" {
		return ClassPublic
	}
	var class InvestmentClass
	n := 0
	if slices.Contains(publicSubtypes, subtype) {
		class, n = ClassPublic, n+1
	}
	if slices.Contains(optionSubtypes, subtype) {
		class, n = ClassOptions, n+1
	}
	if slices.Contains(privateSubtypes, subtype) {
		class, n = ClassPrivate, n+1
	}
	if n == 1 {
		return class
	}
	return ClassPublic
}

// isSymbolText reports whether s has only letters, digits, '.', '_' and '-'
// (the pattern ^[A-Za-z0-9._-]+$, checked by hand for speed).
func isSymbolText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// upperASCII upper-cases ASCII letters, without allocating when s has none in
// lower case.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

// isOCCSymbol reports whether s is an OCC option symbol without padding,
// ^[A-Z]{1,6}\d{6}[CP]\d{8}$ in any case: root, YYMMDD expiration, C or P,
// and the strike in thousandths.
func isOCCSymbol(s string) bool {
	root := len(s) - 15
	if root < 1 || root > 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i < root:
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return false
			}
		case i == root+6:
			if c != 'C' && c != 'P' && c != 'c' && c != 'p' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// decodeOCCSymbol returns the option columns encoded in an OCC symbol (which
// isOCCSymbol accepted), as text for the usual checks: AAPL240315C00160500 →
// AAPL, 160.5, 2024-03-15, CALL.
func decodeOCCSymbol(s string) (underlying, strike, expiration, optionType string) {
	n := len(s)
	root := n - 15
	underlying = s[:root]
	yymmdd := s[root : root+6]
	expiration = "20" + yymmdd[:2] + "-" + yymmdd[2:4] + "-" + yymmdd[4:]
	optionType = "CALL"
	if s[root+6] == 'P' || s[root+6] == 'p' {
		optionType = "PUT"
	}
	d, _ := parseDecimal(s[n-8:n-3] + "." + s[n-3:])
	strike = d.trimmed()
	return underlying, strike, expiration, optionType
}

// deriveOptionSymbol builds UNDERLYING_{C|P}{strike}_{YYYYMMDD}, the readable
// form of the template's examples: DIA_C395_20240816.
func deriveOptionSymbol(underlying string, strike Decimal, expiry time.Time, t OptionType) string {
	k := strike.trimmed()
	b := make([]byte, 0, len(underlying)+len(k)+12)
	for i := 0; i < len(underlying); i++ {
		c := underlying[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	b = append(b, '_')
	if t == OptionPut {
		b = append(b, 'P')
	} else {
		b = append(b, 'C')
	}
	b = append(b, k...)
	b = append(b, '_')
	y, m, d := expiry.Date()
	b = appendDigits(b, y, 4)
	b = appendDigits(b, int(m), 2)
	b = appendDigits(b, d, 2)
	return string(b)
}

// appendDigits appends v (0 <= v < 10000) as exactly width (<= 4) digits.
func appendDigits(b []byte, v, width int) []byte {
	var d [4]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:width]...)
}

// Errors of ParseDate.
var (
	// ErrDateFormat: the text is not exactly YYYY-MM-DD.
	ErrDateFormat = errors.New("is not in the form YYYY-MM-DD")
	// ErrDateInvalid: the text has the form but names no calendar date
	// (month 13, February 30, year 0).
	ErrDateInvalid = errors.New("is not a real date")
)

// ParseDate parses exactly YYYY-MM-DD as a real calendar date at UTC
// midnight: the strict date syntax of position and price files.
func ParseDate(s string) (time.Time, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, ErrDateFormat
	}
	y, ok1 := csvAtoi(s[0:4])
	m, ok2 := csvAtoi(s[5:7])
	d, ok3 := csvAtoi(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, ErrDateFormat
	}
	// PostgreSQL has no year 0.
	if y == 0 || m < 1 || m > 12 || d < 1 || d > csvDaysInMonth(y, m) {
		return time.Time{}, ErrDateInvalid
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
}

// parseCSVDate is ParseDate reporting only success.
func parseCSVDate(s string) (time.Time, bool) {
	t, err := ParseDate(s)
	return t, err == nil
}

// csvAtoi parses a string of ASCII digits only.
func csvAtoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// csvDaysInMonth returns the number of days of month m (1-12) of year y in the
// proleptic Gregorian calendar.
func csvDaysInMonth(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
