package portfolio

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// ValidationError reports invalid input: a file-level problem with a CSV
// (Code ERR_CSV_00x), invalid rows (Code CodeCSVValidation, one FieldError
// per problem), or invalid request fields (Code ERR_PORT_00x). Use errors.As
// to get it from an error.
//
// It differs from batch.PriceFileError, the other "problems at file:line"
// error, on purpose: a ValidationError is the seed system's error envelope
// that API clients parse (codes, rows, documented field names, JSON), and
// it names no file, since an upload has none; a PriceFileError is an
// operator's "FILE:LINE: reason" report of a price file, which has no
// seed-system codes to keep. Both count lines the same way, from the same
// reader (CSVReader).
type ValidationError struct {
	// Code is the top-level code.
	Code Code `json:"code"`
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
	b.WriteString(string(e.Code))
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

// Unwrap returns e's FieldErrors, so that errors.Is and errors.As reach
// them: errors.Is(err, CodePos005) reports whether any row has that code.
// The top-level Code is matched too.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, 0, len(e.Errors)+1)
	errs = append(errs, e.Code)
	for i := range e.Errors {
		errs = append(errs, &e.Errors[i])
	}
	return errs
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
	Code Code `json:"code"`
	// Message describes the problem.
	Message string `json:"message"`
	// Symbol is the row's symbol (truncated to 100 bytes), when it has one.
	Symbol string `json:"symbol,omitempty"`
	// Value is the offending raw value, truncated to 100 bytes.
	Value string `json:"value,omitempty"`
}

// Error returns "row 5 (line 9) Quantity: ERR_POS_005 Quantity must be a
// valid number".
func (fe *FieldError) Error() string {
	var b strings.Builder
	fe.writeTo(&b)
	return b.String()
}

// Unwrap returns fe's Code, so that errors.Is(err, CodePos005) matches.
func (fe *FieldError) Unwrap() error { return fe.Code }

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
	b.WriteString(string(fe.Code))
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
