package portfolio

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error codes of the seed system, kept so its clients can branch on them.
// Message returns the default message of each.
const (
	// ErrCSV001: the file is too large, or has more data rows than allowed.
	ErrCSV001 = "ERR_CSV_001"
	// ErrCSV002: the file is not CSV text (binary content or invalid UTF-8).
	ErrCSV002 = "ERR_CSV_002"
	// ErrCSV003: the file is empty or has no data rows.
	ErrCSV003 = "ERR_CSV_003"
	// ErrCSV004: required columns are missing from the header.
	ErrCSV004 = "ERR_CSV_004"
	// ErrCSV005: the header is invalid (duplicate or empty column names).
	ErrCSV005 = "ERR_CSV_005"
	// ErrCSV006: the CSV is malformed (quotes, delimiter, extra fields).
	ErrCSV006 = "ERR_CSV_006"

	// ErrPos001: Symbol is required.
	ErrPos001 = "ERR_POS_001"
	// ErrPos002: Symbol is longer than 100 characters.
	ErrPos002 = "ERR_POS_002"
	// ErrPos003: Symbol has characters other than letters, digits, '.', '_', '-'.
	ErrPos003 = "ERR_POS_003"
	// ErrPos004: Quantity is required.
	ErrPos004 = "ERR_POS_004"
	// ErrPos005: Quantity is not a valid number, or too large.
	ErrPos005 = "ERR_POS_005"
	// ErrPos006: Quantity is zero.
	ErrPos006 = "ERR_POS_006"
	// ErrPos007: Quantity has more than 6 decimal places.
	ErrPos007 = "ERR_POS_007"
	// ErrPos008: Entry price is required.
	ErrPos008 = "ERR_POS_008"
	// ErrPos009: a price is not a valid number, or too large.
	ErrPos009 = "ERR_POS_009"
	// ErrPos010: a price is not positive.
	ErrPos010 = "ERR_POS_010"
	// ErrPos011: a price has more than 4 decimal places.
	ErrPos011 = "ERR_POS_011"
	// ErrPos012: Entry date is required.
	ErrPos012 = "ERR_POS_012"
	// ErrPos013: a date is not a valid YYYY-MM-DD date.
	ErrPos013 = "ERR_POS_013"
	// ErrPos014: a date is in the future.
	ErrPos014 = "ERR_POS_014"
	// ErrPos015: Entry date is more than 100 years ago.
	ErrPos015 = "ERR_POS_015"
	// ErrPos016: Investment class is not PUBLIC, OPTIONS or PRIVATE.
	ErrPos016 = "ERR_POS_016"
	// ErrPos017: Investment subtype is missing or not valid for the class.
	ErrPos017 = "ERR_POS_017"
	// ErrPos018: exit date before entry date, or exit date and price not
	// given together.
	ErrPos018 = "ERR_POS_018"
	// ErrPos019: option underlying symbol missing or invalid.
	ErrPos019 = "ERR_POS_019"
	// ErrPos020: option strike price missing or invalid.
	ErrPos020 = "ERR_POS_020"
	// ErrPos021: option expiration date missing or invalid.
	ErrPos021 = "ERR_POS_021"
	// ErrPos022: option type missing or not CALL/PUT.
	ErrPos022 = "ERR_POS_022"
	// ErrPos023: duplicate position (same symbol or contract, same entry date).
	ErrPos023 = "ERR_POS_023"

	// ErrPort001: the owner already has a portfolio with this account name.
	ErrPort001 = "ERR_PORT_001"
	// ErrPort002: portfolio name is required.
	ErrPort002 = "ERR_PORT_002"
	// ErrPort003: portfolio name is longer than 255 characters.
	ErrPort003 = "ERR_PORT_003"
	// ErrPort004: equity balance is required.
	ErrPort004 = "ERR_PORT_004"
	// ErrPort005: equity balance is not a positive number.
	ErrPort005 = "ERR_PORT_005"
	// ErrPort006: equity balance is unreasonably large (> 1e12).
	ErrPort006 = "ERR_PORT_006"
	// ErrPort007: the positions CSV file is required.
	ErrPort007 = "ERR_PORT_007"
	// ErrPort008: the positions CSV has invalid rows.
	ErrPort008 = "ERR_PORT_008"
	// ErrPort009: account type is not one of the supported types.
	ErrPort009 = "ERR_PORT_009"
	// ErrPort010: account name is longer than 100 characters.
	ErrPort010 = "ERR_PORT_010"
	// ErrPort011: account name is required.
	ErrPort011 = "ERR_PORT_011"

	// ErrCodeCSVValidation is the top-level code of a ValidationError whose
	// Errors are row errors.
	ErrCodeCSVValidation = ErrPort008
)

// codeMessages holds the default message of every code.
var codeMessages = map[string]string{
	ErrCSV001: "File too large (maximum 10 MiB)",
	ErrCSV002: "File is not a CSV text file (binary content or invalid UTF-8); save it as CSV UTF-8",
	ErrCSV003: "CSV file has no data rows",
	ErrCSV004: "CSV file is missing required columns",
	ErrCSV005: "CSV header is invalid (duplicate or empty column names)",
	ErrCSV006: "CSV file is malformed (check quotes and use commas as the delimiter)",

	ErrPos001: "Symbol is required",
	ErrPos002: "Symbol must be at most 100 characters",
	ErrPos003: "Symbol contains invalid characters (allowed: letters, digits, '.', '_' and '-')",
	ErrPos004: "Quantity is required",
	ErrPos005: "Quantity must be a valid number",
	ErrPos006: "Quantity cannot be zero",
	ErrPos007: "Quantity has too many decimal places (max 6)",
	ErrPos008: "Entry price is required",
	ErrPos009: "Entry price must be a valid number",
	ErrPos010: "Entry price must be positive",
	ErrPos011: "Entry price has too many decimal places (max 4)",
	ErrPos012: "Entry date is required",
	ErrPos013: "Date must be a valid date in YYYY-MM-DD format",
	ErrPos014: "Entry date cannot be in the future",
	ErrPos015: "Entry date cannot be more than 100 years in the past",
	ErrPos016: "Investment class must be PUBLIC, OPTIONS or PRIVATE",
	ErrPos017: "Investment subtype is not valid for the investment class",
	ErrPos018: "Exit date cannot be before the entry date",
	ErrPos019: "Underlying symbol is required for options (letters, digits, '.', '_', '-'; max 100 characters)",
	ErrPos020: "Strike price is required for options and must be a positive number with at most 4 decimal places",
	ErrPos021: "Expiration date is required for options (YYYY-MM-DD)",
	ErrPos022: "Option type must be CALL or PUT",
	ErrPos023: "Duplicate position: same symbol and entry date as an earlier row",

	ErrPort001:  "An account with this name already exists for this owner",
	ErrPort002:  "Portfolio name is required",
	ErrPort003:  "Portfolio name must be at most 255 characters",
	ErrPort004:  "Equity balance is required",
	ErrPort005:  "Equity balance must be a positive number",
	ErrPort006:  "Equity balance is unreasonably large (maximum 1,000,000,000,000)",
	ErrPort007:  "CSV file is required",
	ErrPort008:  "CSV validation failed",
	ErrPort009:  "Invalid account type (must be one of taxable, ira, roth_ira, 401k, 403b, 529, hsa, trust, other)",
	ErrPort010:  "Account name must be at most 100 characters",
	ErrPort011:  "Account name is required",
	ErrPort012:  "Description must be at most 2000 characters of text",
	ErrOwner001: "Owner id is required: 1 to 255 characters of text",
	ErrFlow001:  "Flow amount must be a non-zero number with at most 4 decimal places and at most 1,000,000,000,000 in magnitude",
	ErrFlow002:  "Flow date is required and may not be before the portfolio's inception",
}

// Message returns the default message for a code, or the code itself when it
// is not one of the codes defined here.
func Message(code string) string {
	if m, ok := codeMessages[code]; ok {
		return m
	}
	return code
}

// ValidationError reports invalid input: a file-level problem with a CSV
// (Code ERR_CSV_00x), invalid rows (Code ErrCodeCSVValidation, one FieldError
// per problem), or invalid request fields (Code ERR_PORT_00x). Use errors.As
// to get it from an error.
type ValidationError struct {
	// Code is the top-level code.
	Code string `json:"code"`
	// Message is a one-line summary, e.g. "CSV validation failed with 3 error(s)".
	Message string `json:"message"`
	// Errors lists every problem found, in row order. File-level problems
	// have one or more entries, with Row 0 when not tied to a row.
	Errors []FieldError `json:"errors,omitempty"`
}

// maxErrorsInText is how many FieldErrors ValidationError.Error spells out.
const maxErrorsInText = 3

// Error returns the summary followed by the first few errors.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	b.WriteString(": ")
	b.WriteString(e.Message)
	errs := e.Errors
	if len(errs) == 1 && errs[0].Field == "" && strings.HasSuffix(e.Message, errs[0].Message) {
		// A file-level error whose summary already says it all.
		return b.String()
	}
	for i, fe := range errs {
		if i == maxErrorsInText {
			b.WriteString("; and ")
			b.WriteString(strconv.Itoa(len(errs) - i))
			b.WriteString(" more")
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fe.writeTo(&b)
	}
	return b.String()
}

// FieldError is one problem in the input: which row and field, the code, a
// message a person can act on, and the offending value.
type FieldError struct {
	// Row is the seed-system row number (header = 1, data rows from 2); 0
	// when the problem is not tied to a row.
	Row int `json:"row,omitempty"`
	// Line is the physical 1-based line where the row (or problem) starts; 0
	// when not tied to a line.
	Line int `json:"line,omitempty"`
	// Field is the column name as documented ("Entry Price Per Share"), not
	// as typed in the file; "" when the problem is not about one field.
	Field string `json:"field,omitempty"`
	// Code is the error code, e.g. ERR_POS_005.
	Code string `json:"code"`
	// Message describes the problem.
	Message string `json:"message"`
	// Symbol is the row's symbol (truncated to 100 bytes), when it has one.
	Symbol string `json:"symbol,omitempty"`
	// Value is the offending raw value, truncated to 100 bytes.
	Value string `json:"value,omitempty"`
}

// writeTo writes "row 5 (line 9) Quantity: ERR_POS_005 Quantity must be a
// valid number".
func (fe *FieldError) writeTo(b *strings.Builder) {
	where := ""
	switch {
	case fe.Row > 0 && fe.Line > 0:
		where = "row " + strconv.Itoa(fe.Row) + " (line " + strconv.Itoa(fe.Line) + ")"
	case fe.Row > 0:
		where = "row " + strconv.Itoa(fe.Row)
	case fe.Line > 0:
		where = "line " + strconv.Itoa(fe.Line)
	}
	b.WriteString(where)
	if fe.Field != "" {
		if where != "" {
			b.WriteByte(' ')
		}
		b.WriteString(fe.Field)
	}
	if where != "" || fe.Field != "" {
		b.WriteString(": ")
	}
	b.WriteString(fe.Code)
	b.WriteByte(' ')
	b.WriteString(fe.Message)
}

// maxValueBytes bounds FieldError.Value and FieldError.Symbol.
const maxValueBytes = 100

// truncateValue cuts s to at most maxValueBytes bytes on a rune boundary.
// The result never shares memory with a long s, so an error does not pin a
// large input.
func truncateValue(s string) string {
	if len(s) <= maxValueBytes {
		return s
	}
	n := maxValueBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n])
}
