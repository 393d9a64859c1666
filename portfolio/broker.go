package portfolio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format names the layout of a positions file.
type Format string

// The positions file layouts ReadPositions understands.
const (
	// FormatAuto recognises the layout by its own signature (header names,
	// preamble, section prefixes). The default.
	FormatAuto Format = "auto"
	// FormatCanonical is the seed system's 12-column format (ParsePositions).
	FormatCanonical Format = "canonical"
	// FormatSchwab is a Charles Schwab positions export.
	FormatSchwab Format = "schwab"
	// FormatFidelity is a Fidelity Portfolio_Positions_*.csv download.
	FormatFidelity Format = "fidelity"
	// FormatIBKR is an Interactive Brokers activity statement (CSV).
	FormatIBKR Format = "ibkr"
	// FormatVanguard is a Vanguard holdings and transactions download.
	FormatVanguard Format = "vanguard"
	// FormatRobinhood is a Robinhood account activity report.
	FormatRobinhood Format = "robinhood"
)

// Formats lists the layouts that may be forced, in the order error messages
// name them.
var Formats = []Format{FormatCanonical, FormatSchwab, FormatFidelity, FormatIBKR, FormatVanguard, FormatRobinhood}

// ParseFormat returns the Format named s (case-insensitive); "" is
// FormatAuto.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if f == "" || f == FormatAuto || slices.Contains(Formats, f) {
		return cmpFormat(f), nil
	}
	return "", &ValidationError{Code: CodeFormat001, Message: "Unknown format " + strconv.Quote(truncateValue(s)) + ": use auto, " + formatList(),
		Errors: []FieldError{{Field: "format", Code: CodeFormat001, Value: truncateValue(s),
			Message: "Unknown format " + strconv.Quote(truncateValue(s)) + ": use auto, " + formatList()}}}
}

func cmpFormat(f Format) Format {
	if f == "" {
		return FormatAuto
	}
	return f
}

func formatList() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// ImportOptions configures ReadPositions. A nil *ImportOptions means the
// defaults.
type ImportOptions struct {
	// Format is the file's layout; "" or FormatAuto detects it.
	Format Format
	// EntryDate is the entry date of positions whose export states no
	// trade date. Zero means the export's "as of" date when it states one;
	// otherwise such positions are an ERR_POS_012 error asking for it.
	EntryDate time.Time
	// Now, MaxRows and MaxBytes are as in ParseOptions. MaxRows bounds the
	// converted positions.
	Now      func() time.Time
	MaxRows  int
	MaxBytes int64
}

// Import is a positions file read and validated by ReadPositions.
type Import struct {
	// Format is the layout read; Detected says whether auto detection chose
	// it, and Signature what it recognised.
	Format    Format `json:"format"`
	Detected  bool   `json:"detected"`
	Signature string `json:"signature,omitempty"`
	// AsOf is the date the export says it was taken, if it says so.
	AsOf *time.Time `json:"as_of,omitempty"`
	// Positions are validated by the same rules as the 12-column format.
	// For a broker export, Line is the export's line of the row (Robinhood:
	// of the trade that opened the position) and Row the position's row in
	// the converted 12-column file.
	Positions []Position `json:"positions"`
	// Flows are the capital flows to record with the portfolio: dated after
	// its inception (the earliest entry date). Earlier ones are in Skipped:
	// they are part of the starting equity.
	Flows []ImportedFlow `json:"flows"`
	// Skipped lists every row of the export that became neither a position
	// nor a flow, with the reason.
	Skipped []SkippedRow `json:"skipped"`
	// Warnings are conversions worth a look (an entry price taken from the
	// export's price because it has no cost basis, a market value that does
	// not match quantity × price).
	Warnings []ImportWarning `json:"warnings"`
	// Checks compares, per position where the export states both, its
	// market value with quantity × price × multiplier.
	Checks []ValueCheck `json:"checks"`
	// ExportValue and ComputedValue are the sums over Checks.
	ExportValue   string `json:"export_market_value,omitempty"`
	ComputedValue string `json:"computed_market_value,omitempty"`
}

// ImportedFlow is a capital flow read from an export, with its line.
type ImportedFlow struct {
	Line int `json:"line"`
	CapitalFlow
}

// SkippedRow is a row of an export that was not converted.
type SkippedRow struct {
	Line   int    `json:"line"`
	Text   string `json:"text"`
	Reason string `json:"reason"`
}

// ImportWarning is a note about one converted row.
type ImportWarning struct {
	Line    int    `json:"line"`
	Symbol  string `json:"symbol,omitempty"`
	Message string `json:"message"`
}

// ValueCheck compares the market value an export states for a position
// with quantity × price × multiplier from the same row; a mismatch means a
// misread column.
type ValueCheck struct {
	Line        int    `json:"line"`
	Symbol      string `json:"symbol"`
	ExportValue string `json:"export_market_value"`
	Computed    string `json:"computed_market_value"`
	OK          bool   `json:"ok"`
}

// ReadPositions reads a positions file in any of Formats, detecting the
// layout unless one is forced, and returns the positions (validated by the
// same rules and with the same error codes as ParsePositions), the capital
// flows the export records, and every row it skipped with the reason.
// Invalid input is a *ValidationError whose Line fields point into the
// export; nothing is returned with it.
func ReadPositions(r io.Reader, opts *ImportOptions) (*Import, error) {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	po, err := (&ParseOptions{Now: o.Now, MaxRows: o.MaxRows, MaxBytes: o.MaxBytes}).withDefaults()
	if err != nil {
		return nil, err
	}
	format, err := ParseFormat(string(o.Format))
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, po.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read positions: %w", err)
	}
	imp := &Import{Format: format}
	if format == FormatAuto {
		imp.Detected = true
		imp.Format, imp.Signature = DetectFormat(data)
	}
	if imp.Format == FormatCanonical || imp.Format == FormatAuto || int64(len(data)) > po.MaxBytes || !isCSVText(data) {
		// The 12-column parser reports size and encoding problems with
		// their lines; an unrecognised file is read as canonical too and
		// its missing columns become the unrecognised-format error.
		ps, err := ParsePositions(bytes.NewReader(data), &po)
		if err != nil {
			if imp.Format == FormatAuto && noCanonicalColumns(err) {
				return nil, unrecognisedFormat(data)
			}
			return nil, err
		}
		if imp.Format == FormatAuto {
			imp.Format, imp.Signature = FormatCanonical, "12-column header"
		}
		imp.Positions = ps
		imp.Flows, imp.Skipped, imp.Warnings, imp.Checks = []ImportedFlow{}, []SkippedRow{}, []ImportWarning{}, []ValueCheck{}
		return imp, nil
	}
	recs, err := readExportRecords(data)
	if err != nil {
		return nil, err
	}
	conv := &conversion{now: po.Now(), signature: imp.Signature}
	switch imp.Format {
	case FormatSchwab:
		err = readSchwab(recs, conv)
	case FormatFidelity:
		err = readFidelity(recs, conv)
	case FormatIBKR:
		err = readIBKR(recs, conv)
	case FormatVanguard:
		err = readVanguard(recs, conv)
	case FormatRobinhood:
		err = readRobinhood(recs, conv)
	}
	if err != nil {
		return nil, err
	}
	if len(conv.errs) > 0 {
		slices.SortStableFunc(conv.errs, func(a, b FieldError) int { return a.Line - b.Line })
		return nil, &ValidationError{Code: CodeCSVValidation,
			Message: string(imp.Format) + " export: " + strconv.Itoa(len(conv.errs)) + " row(s) cannot be converted", Errors: conv.errs}
	}
	return conv.finish(imp, &o, &po)
}

// noCanonicalColumns reports whether err says that the header has none of
// the required 12-column names.
func noCanonicalColumns(err error) bool {
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Code != CodeCSV004 {
		return false
	}
	n := 0
	for _, e := range ve.Errors {
		if e.Code == CodeCSV004 {
			n++
		}
	}
	return n == len(requiredColumns)
}

// unrecognisedFormat describes a file no reader recognises.
func unrecognisedFormat(data []byte) error {
	seen := firstLine(data)
	msg := "Unrecognised file format: expected one of " + formatList() +
		" (a 12-column positions file, or a Schwab, Fidelity, Interactive Brokers, Vanguard or Robinhood export); the first line is " + strconv.Quote(seen)
	return &ValidationError{Code: CodeFormat001, Message: msg,
		Errors: []FieldError{{Line: 1, Code: CodeFormat001, Message: msg, Value: seen}}}
}

// firstLine returns the first non-blank line, truncated.
func firstLine(data []byte) string {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	for line := range bytes.Lines(data) {
		if s := strings.TrimSpace(string(line)); s != "" {
			return truncateValue(s)
		}
	}
	return ""
}

// isCSVText reports whether data is UTF-8 text without NUL bytes.
func isCSVText(data []byte) bool {
	return utf8.Valid(data) && bytes.IndexByte(data, 0) < 0
}

// DetectFormat recognises the layout of a positions file by its own
// signature and says what it saw. It returns FormatAuto when no broker
// export matches and the file is not recognisably in the 12-column format.
func DetectFormat(data []byte) (Format, string) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	first := true
	for n := 0; n < 40; n++ {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		if len(rec) > 0 && strings.HasPrefix(strings.TrimSpace(rec[0]), "#") {
			continue
		}
		h := headerSet(rec)
		switch {
		case len(rec) == 1 && strings.HasPrefix(strings.TrimSpace(rec[0]), "Positions for account"):
			return FormatSchwab, `"Positions for account … as of …" preamble`
		case len(rec) >= 2 && strings.TrimSpace(rec[1]) == "Header" && (strings.TrimSpace(rec[0]) == "Statement" || strings.TrimSpace(rec[0]) == "Open Positions"):
			return FormatIBKR, `section-prefixed rows ("` + strings.TrimSpace(rec[0]) + `,Header,…")`
		case h.has("activity date") && h.has("trans code") && h.has("instrument"):
			return FormatRobinhood, "Activity Date, Instrument, Trans Code columns"
		case h.has("account number") && h.has("investment name") && h.has("share price"):
			return FormatVanguard, "Account Number, Investment Name, Share Price columns"
		case h.has("symbol") && h.has("current value") && h.has("last price"):
			return FormatFidelity, "Symbol, Last Price, Current Value columns"
		case h.has("symbol") && h.has("security type") && (h.has("qty (quantity)") || h.has("quantity")):
			return FormatSchwab, "Symbol, Quantity, Security Type columns"
		case first && (h.has("symbol") || h.has("quantity") || h.has("entry price per share") || h.has("entry date")):
			return FormatCanonical, "12-column header"
		}
		first = false
	}
	return FormatAuto, ""
}

// columnSet holds normalised header names.
type columnSet map[string]int

func headerSet(rec []string) columnSet {
	h := make(columnSet, len(rec))
	for i, name := range rec {
		k := normalizeColumnName(name)
		if _, dup := h[k]; !dup && k != "" {
			h[k] = i
		}
	}
	return h
}

func (h columnSet) has(name string) bool {
	_, ok := h[name]
	return ok
}

// index returns the position of the first of names present, or -1.
func (h columnSet) index(names ...string) int {
	for _, n := range names {
		if i, ok := h[n]; ok {
			return i
		}
	}
	return -1
}

// exportRecord is one CSV record of an export with its physical line.
type exportRecord struct {
	line   int
	fields []string
}

// field returns field i trimmed, or "" when the record is shorter.
func (r *exportRecord) field(i int) string {
	if i < 0 || i >= len(r.fields) {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// text is the record as a short single line for reports.
func (r *exportRecord) text() string {
	return truncateValue(strings.ReplaceAll(strings.Join(r.fields, ","), "\n", " "))
}

// blank reports whether every field is empty.
func (r *exportRecord) blank() bool {
	for _, f := range r.fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// readExportRecords splits an export into records; a quoting error (a file
// cut inside a quoted field, for one) is ERR_CSV_006.
func readExportRecords(data []byte) ([]exportRecord, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	var recs []exportRecord
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			msg := "Malformed CSV at line " + strconv.Itoa(line) + ": " + err.Error() + " (is the file truncated?)"
			return nil, csvFileError(CodeCSV006, msg, FieldError{Line: line, Code: CodeCSV006, Message: msg})
		}
		line, _ := cr.FieldPos(0)
		recs = append(recs, exportRecord{line: line, fields: rec})
	}
}

// exportRow is one position of an export in the 12-column vocabulary,
// before validation.
type exportRow struct {
	line                                 int
	symbol, quantity, entryPrice, date   string
	class, subtype                       string
	underlying, strike, expiry, optType  string
	multiplier                           int // for the cost basis division; 1 when 0
	costBasis, price, marketValue        string
	dateFromExport, priceFromCostMissing bool
}

// conversion collects what a broker reader found.
type conversion struct {
	now       time.Time
	signature string
	asOf      time.Time
	rows      []exportRow
	flows     []ImportedFlow
	skipped   []SkippedRow
	warnings  []ImportWarning
	errs      []FieldError
}

func (c *conversion) skip(r *exportRecord, reason string) {
	c.skipped = append(c.skipped, SkippedRow{Line: r.line, Text: r.text(), Reason: reason})
}

func (c *conversion) fail(line int, field, symbol, value, msg string) {
	c.errs = append(c.errs, FieldError{Line: line, Field: field, Code: CodeFormat002, Message: msg,
		Symbol: truncateValue(symbol), Value: truncateValue(value)})
}

// missingColumns is the ERR_CSV_004 error of an export header without the
// columns a reader needs.
func missingColumns(format Format, line int, header []string, missing ...string) error {
	msg := string(format) + " export: the header at line " + strconv.Itoa(line) + " has no " + strings.Join(missing, ", ") +
		" column; it has " + truncateValue(strings.Join(header, ","))
	return csvFileError(CodeCSV004, msg, FieldError{Line: line, Code: CodeCSV004, Message: msg, Field: missing[0]})
}

// finish validates the converted rows with the 12-column rules and fills
// imp.
func (c *conversion) finish(imp *Import, o *ImportOptions, po *ParseOptions) (*Import, error) {
	if !c.asOf.IsZero() {
		asOf := c.asOf
		imp.AsOf = &asOf
	}
	if imp.Signature == "" {
		imp.Signature = c.signature
	}
	defaultDate := ""
	switch {
	case !o.EntryDate.IsZero():
		defaultDate = dateOnly(o.EntryDate).Format(time.DateOnly)
	case !c.asOf.IsZero():
		defaultDate = c.asOf.Format(time.DateOnly)
	}
	var buf bytes.Buffer
	writeQuotedRecord(&buf, columnNames[:])
	var dateErrs []FieldError
	for i := range c.rows {
		r := &c.rows[i]
		if r.date == "" {
			if defaultDate == "" {
				dateErrs = append(dateErrs, FieldError{Line: r.line, Field: columnNames[colEntryDate], Code: CodePos012, Symbol: truncateValue(r.symbol),
					Message: "Entry date is required: this " + string(imp.Format) + " export states no trade date or \"as of\" date for the position; give one (--entry-date, ImportOptions.EntryDate)"})
			}
			r.date = defaultDate
		}
		if r.entryPrice == "" && r.costBasis != "" {
			r.entryPrice = perUnit(r.costBasis, r.quantity, r.multiplier)
		}
		if r.entryPrice == "" && r.price != "" {
			r.entryPrice = r.price
			imp.Warnings = append(imp.Warnings, ImportWarning{Line: r.line, Symbol: r.symbol,
				Message: "no cost basis in the export: entry price is the export's price " + r.price})
		}
		writeQuotedRecord(&buf, []string{r.symbol, r.quantity, r.entryPrice, r.date, r.class, r.subtype,
			r.underlying, r.strike, r.expiry, r.optType, "", ""})
	}
	if len(dateErrs) > 0 {
		return nil, &ValidationError{Code: CodePos012, Message: dateErrs[0].Message, Errors: dateErrs}
	}
	ps, err := ParsePositions(&buf, po)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			// Point every error at the export's line instead of the
			// converted file's row.
			for i := range ve.Errors {
				if row := ve.Errors[i].Row; row >= 2 && row-2 < len(c.rows) {
					ve.Errors[i].Line = c.rows[row-2].line
				} else {
					ve.Errors[i].Line = 0
				}
				ve.Errors[i].Row = 0
			}
			if ve.Code == CodeCSV003 {
				ve.Message = string(imp.Format) + " export has no positions (is the file truncated?)"
				ve.Errors = []FieldError{{Code: CodeCSV003, Message: ve.Message}}
			}
		}
		return nil, err
	}
	if len(ps) != len(c.rows) {
		return nil, fmt.Errorf("read %s export: %d rows converted, %d positions validated", imp.Format, len(c.rows), len(ps))
	}
	for i := range ps {
		ps[i].Line = c.rows[i].line
	}
	imp.Positions = ps
	imp.Warnings = append(c.warnings, imp.Warnings...)
	slices.SortStableFunc(imp.Warnings, func(a, b ImportWarning) int { return a.Line - b.Line })
	imp.Skipped = c.skipped
	inception := inceptionDate(ps)
	imp.Flows = []ImportedFlow{}
	for _, f := range c.flows {
		if !f.Date.After(inception) {
			imp.Skipped = append(imp.Skipped, SkippedRow{Line: f.Line, Text: f.Description + " " + f.Amount,
				Reason: "capital flow on or before the inception date " + inception.Format(time.DateOnly) + ": part of the starting equity"})
			continue
		}
		imp.Flows = append(imp.Flows, f)
	}
	slices.SortStableFunc(imp.Skipped, func(a, b SkippedRow) int { return a.Line - b.Line })
	if imp.Skipped == nil {
		imp.Skipped = []SkippedRow{}
	}
	c.checkValues(imp)
	return imp, nil
}

// writeQuotedRecord writes a CSV record with every field quoted, so that
// no converted row can read as a comment ("#…") or a blank line.
func writeQuotedRecord(buf *bytes.Buffer, fields []string) {
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('"')
		buf.WriteString(strings.ReplaceAll(f, `"`, `""`))
		buf.WriteByte('"')
	}
	buf.WriteByte('\n')
}

// checkValues compares each row's market value with quantity × price ×
// multiplier.
func (c *conversion) checkValues(imp *Import) {
	imp.Checks = []ValueCheck{}
	var exportSum, computedSum big.Rat
	for i, r := range c.rows {
		mv, ok1 := ratOf(r.marketValue)
		q, ok2 := ratOf(r.quantity)
		p, ok3 := ratOf(r.price)
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		m := max(r.multiplier, 1)
		computed := new(big.Rat).Mul(q, p)
		computed.Mul(computed, big.NewRat(int64(m), 1))
		diff := new(big.Rat).Sub(computed, mv)
		diff.Abs(diff)
		// A cent, or half a percent for prices rounded in the export.
		tol := new(big.Rat).Abs(mv)
		tol.Mul(tol, big.NewRat(1, 200))
		if tol.Cmp(big.NewRat(1, 100)) < 0 {
			tol.SetFrac64(1, 100)
		}
		chk := ValueCheck{Line: r.line, Symbol: imp.Positions[i].Symbol, ExportValue: mv.FloatString(2),
			Computed: computed.FloatString(2), OK: diff.Cmp(tol) <= 0}
		if !chk.OK {
			imp.Warnings = append(imp.Warnings, ImportWarning{Line: r.line, Symbol: chk.Symbol,
				Message: "market value " + chk.ExportValue + " differs from quantity × price = " + chk.Computed + ": check the columns"})
		}
		imp.Checks = append(imp.Checks, chk)
		exportSum.Add(&exportSum, mv)
		computedSum.Add(&computedSum, computed)
	}
	if len(imp.Checks) > 0 {
		imp.ExportValue, imp.ComputedValue = exportSum.FloatString(2), computedSum.FloatString(2)
	}
}

// ratOf parses a plain decimal.
func ratOf(s string) (*big.Rat, bool) {
	if _, ok := parseDecimal(s); !ok {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// perUnit is |cost basis| / |quantity × multiplier| rounded half away from
// zero to 4 decimals, or "" when it cannot be computed.
func perUnit(basis, quantity string, multiplier int) string {
	b, ok1 := ratOf(basis)
	q, ok2 := ratOf(quantity)
	if !ok1 || !ok2 || q.Sign() == 0 || b.Sign() == 0 {
		return ""
	}
	den := new(big.Rat).Mul(q, big.NewRat(int64(max(multiplier, 1)), 1))
	v := new(big.Rat).Quo(b, den)
	v.Abs(v)
	return roundRat(v, 4)
}

// roundRat formats a non-negative v with n decimals, rounding half up.
func roundRat(v *big.Rat, n int) string {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	num := new(big.Int).Mul(v.Num(), scale)
	num.Mul(num, big.NewInt(2))
	num.Add(num, v.Denom())
	den := new(big.Int).Mul(v.Denom(), big.NewInt(2))
	num.Quo(num, den)
	return new(big.Rat).SetFrac(num, scale).FloatString(n)
}

// exportMoney turns an export's amount into plain decimal text: "$1,200.50",
// "+$5", "-$3.10", "($2,488.30)" and "1,200" are read; "", "--", "N/A" and
// "n/a" are empty (ok, ""). Anything else, such as another currency, is not
// ok.
func exportMoney(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "--", "n/a", "-":
		return "", true
	}
	// One sign at most: parentheses, or a leading +/-, or "$-5.00".
	neg, signed := false, false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg, signed, s = true, true, s[1:len(s)-1]
	}
	if !signed && (strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+")) {
		neg, signed, s = s[0] == '-', true, s[1:]
	}
	s = strings.TrimPrefix(s, "$")
	if !signed && strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	s = strings.ReplaceAll(s, ",", "")
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		return "", false
	}
	d, ok := parseDecimal(s)
	if !ok {
		return "", false
	}
	if neg && !d.IsZero() {
		return "-" + d.String(), true
	}
	return d.String(), true
}

// money reads a money or quantity field of a row, recording an error when
// it is not a USD amount.
func (c *conversion) money(r *exportRecord, field, symbol, raw string) string {
	v, ok := exportMoney(raw)
	if !ok {
		c.fail(r.line, field, symbol, raw, field+" "+strconv.Quote(truncateValue(raw))+" is not a USD amount or number (only USD is supported: no currency conversion yet)")
	}
	return v
}

// occSymbol is the OCC symbol of a contract (AAPL250117C00260000), or ""
// when the root does not fit, in which case the 12-column rules derive one.
func occSymbol(root string, expiry time.Time, call bool, strike string) string {
	s, ok := ratOf(strike)
	if !ok || len(root) < 1 || len(root) > 6 {
		return ""
	}
	for _, c := range root {
		if c < 'A' || c > 'Z' {
			return ""
		}
	}
	s.Mul(s, big.NewRat(1000, 1))
	if !s.IsInt() || s.Num().Cmp(big.NewInt(99999999)) > 0 {
		return ""
	}
	cp := "P"
	if call {
		cp = "C"
	}
	return fmt.Sprintf("%s%s%s%08d", root, expiry.Format("060102"), cp, s.Num().Int64())
}

// optionForm is one broker's way of writing an option contract.
type optionForm struct {
	re                            *regexp.Regexp
	root, expiry, strike, callPut int    // submatch indexes
	call                          string // the callPut submatch of a call
	date                          func(string) (time.Time, bool)
	// form is the layout in error messages: "Schwab's form UNDERLYING …".
	form string
}

// readOption fills row's option columns from s, written in form f, or
// records an ERR_FORMAT_002 error on field and returns false.
func (c *conversion) readOption(row *exportRow, r *exportRecord, field, symbol, s string, f *optionForm) bool {
	m := f.re.FindStringSubmatch(s)
	var exp time.Time
	ok := m != nil
	if ok {
		exp, ok = f.date(m[f.expiry])
	}
	if !ok {
		c.fail(r.line, field, symbol, s, "Option "+quote(s)+" is not in "+f.form)
		return false
	}
	row.setOption(m[f.root], exp, m[f.callPut] == f.call, strings.ReplaceAll(m[f.strike], ",", ""))
	return true
}

// setOption fills the option columns of row.
func (row *exportRow) setOption(root string, expiry time.Time, call bool, strike string) {
	root = strings.ToUpper(root)
	row.symbol = occSymbol(root, expiry, call, strike)
	row.class = string(ClassOptions)
	row.underlying = root
	row.strike = strike
	row.expiry = expiry.Format(time.DateOnly)
	row.optType = string(OptionPut)
	if call {
		row.optType = string(OptionCall)
	}
	row.multiplier = optionMultiplier
}

// exportDate reads the dates exports write: 2024-01-15, 01/15/2024,
// 1/5/2024, 2024/01/15, Jan-15-2024.
func exportDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.DateOnly, "01/02/2006", "1/2/2006", "2006/01/02", "Jan-02-2006", "Jan-2-2006", "01/02/06", "1/2/06"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func itoa(n int) string { return strconv.Itoa(n) }

func quote(s string) string { return strconv.Quote(truncateValue(s)) }
