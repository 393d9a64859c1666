package portfolio

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors of CSVReader.Read. All but ErrCSVTooLarge come wrapped in a
// *CSVLineError naming the line.
var (
	// ErrCSVTooLarge: the input is longer than the reader's byte limit.
	ErrCSVTooLarge = errors.New("file too large")
	// ErrCSVBinary: a line contains a NUL byte.
	ErrCSVBinary = errors.New("contains NUL bytes: the file is binary (or UTF-16), not CSV text; save it as CSV UTF-8")
	// ErrCSVNotUTF8: a line is not valid UTF-8.
	ErrCSVNotUTF8 = errors.New("not valid UTF-8: save the file as CSV UTF-8")
	// ErrCSVBareQuote: a quote inside a field that does not start with one.
	ErrCSVBareQuote = errors.New(`a " in an unquoted field (quote the whole field and double the " inside it)`)
	// ErrCSVTextAfterQuote: text between a closing quote and the next
	// comma or line end.
	ErrCSVTextAfterQuote = errors.New(`unexpected text after a closing quote (a " inside a quoted field must be doubled)`)
	// ErrCSVUnclosedQuote: the input ends inside a quoted field.
	ErrCSVUnclosedQuote = errors.New("a quoted field is never closed (unbalanced quotes)")
)

// CSVLineError is a problem of a CSV file at one of its lines.
type CSVLineError struct {
	// Line is the physical line of the problem, from 1. For
	// ErrCSVUnclosedQuote it is the last line of the file.
	Line int
	// QuoteLine is, for the quote errors, the line where the quoted field
	// (or the field) opens; otherwise Line.
	QuoteLine int
	// Err is one of the ErrCSV… errors.
	Err error
}

// Error returns "line 3: …".
func (e *CSVLineError) Error() string {
	s := "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error()
	if e.QuoteLine != e.Line {
		s += " (in the quoted field starting on line " + strconv.Itoa(e.QuoteLine) + ")"
	}
	return s
}

// Unwrap returns Err.
func (e *CSVLineError) Unwrap() error { return e.Err }

// CSVReader reads the records of a CSV file. It is the one CSV reader of
// the library's imports, positions (ParsePositions) and the price and
// symbol files of package batch, so that they agree on what a CSV file is:
//   - At most the byte limit (plus one byte, to notice the excess) is read
//     from the input; a longer input is ErrCSVTooLarge.
//   - A UTF-8 byte order mark is skipped; lines end in LF or CRLF. A line
//     with a NUL byte (ErrCSVBinary) or invalid UTF-8 (ErrCSVNotUTF8) is an
//     error naming the line, comment lines included.
//   - Blank lines, and records whose fields are all blank, are skipped; so
//     are comment lines when Comments is set.
//   - Fields follow RFC 4180: quoted fields may contain commas, doubled
//     quotes and line breaks (a CRLF inside a quoted field becomes "\n").
//     Spaces and tabs around a quoted field are allowed.
//
// It tokenizes by hand rather than with encoding/csv, for three documented
// requirements of the positions format that encoding/csv cannot meet:
// lines whose first non-blank character is '#' are comments (encoding/csv
// skips only a comment character in the first column); spaces after a
// closing quote are allowed, as spreadsheets write them (encoding/csv
// rejects them); and a record's memory is bounded by the fields kept
// (MaxFields), where encoding/csv would hold a slice entry for each of the
// ten million fields of a 10 MiB line of commas. It reports the same
// physical lines that encoding/csv's FieldPos would.
type CSVReader struct {
	// Comments makes lines whose first non-blank character is '#' comments
	// (outside quoted fields), skipped like blank lines.
	Comments bool
	// MaxFields, when > 0, is how many fields of a record are kept: of the
	// fields beyond it only the first non-empty one is remembered (see
	// Extra). It may change between calls to Read.
	MaxFields int

	lr lineReader

	// The current record: its fields are substrings of one string built
	// from buf, so a record costs one allocation.
	line     int
	recLen   int
	buf      []byte
	ends     []int
	fields   []string
	extraCol int    // 1-based column of the first non-empty extra field; 0 if none
	extraVal string // its value, trimmed and truncated
}

// NewCSVReader returns a reader of r that reads at most maxBytes bytes of
// it (plus one, to notice a longer input).
func NewCSVReader(r io.Reader, maxBytes int64) *CSVReader {
	c := &CSVReader{}
	c.lr.src.r = io.LimitReader(r, maxBytes+1)
	c.lr.br = bufio.NewReaderSize(&c.lr.src, 16<<10)
	c.lr.max = maxBytes
	return c
}

// Read returns the next record that is not blank (or has a non-empty field
// beyond MaxFields), or io.EOF at the end of the input. The slice is reused
// by the next call; the strings are not. Problems of the file are
// ErrCSVTooLarge or a *CSVLineError; other errors come from reading.
func (c *CSVReader) Read() ([]string, error) {
	for {
		ok, err := c.readRecord()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, io.EOF
		}
		if c.extraCol > 0 {
			return c.fields, nil
		}
		for _, f := range c.fields {
			if strings.TrimSpace(f) != "" {
				return c.fields, nil
			}
		}
	}
}

// Line returns the physical line, from 1, where the last record read
// starts.
func (c *CSVReader) Line() int { return c.line }

// RecordLen returns the total length of the last record's kept fields.
func (c *CSVReader) RecordLen() int { return c.recLen }

// Extra returns the 1-based column of the first non-empty field beyond
// MaxFields of the last record, with its value (trimmed, cut to 100 bytes),
// or 0 and "" when there is none.
func (c *CSVReader) Extra() (column int, value string) { return c.extraCol, c.extraVal }

// csvByteCounter counts the bytes read through it: the byte limit of
// every CSV import.
type csvByteCounter struct {
	r io.Reader
	n int64
}

func (c *csvByteCounter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// lineReader returns physical lines, checked for the size limit, NUL bytes
// and UTF-8, and counts them.
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
				return nil, ErrCSVTooLarge
			}
			b, err = lr.br.ReadSlice('\n')
			lr.long = append(lr.long, b...)
		}
		b = lr.long
	}
	// Checked before anything else: the last line of a file cut at the limit
	// may end inside a UTF-8 sequence or a quoted field.
	if lr.src.n > lr.max {
		return nil, ErrCSVTooLarge
	}
	if err != nil && err != io.EOF {
		return nil, err
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
		return nil, &CSVLineError{Line: lr.line, QuoteLine: lr.line, Err: ErrCSVBinary}
	}
	if !utf8.Valid(b) {
		return nil, &CSVLineError{Line: lr.line, QuoteLine: lr.line, Err: ErrCSVNotUTF8}
	}
	return b, nil
}

// skippable reports whether a line is blank, or a comment when comments
// are on.
func skippable(b []byte, comments bool) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\v', '\f', '\r':
		case '#':
			return comments
		default:
			return false
		}
	}
	return true
}

// readRecord reads one record, skipping blank and comment lines before it.
// It returns false at the end of the input.
func (c *CSVReader) readRecord() (bool, error) {
	var line []byte
	for {
		b, err := c.lr.next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !skippable(b, c.Comments) {
			line = b
			break
		}
	}
	c.line = c.lr.line
	c.buf = c.buf[:0]
	c.ends = c.ends[:0]
	c.extraCol, c.extraVal = 0, ""
	i := 0
	for column := 1; ; column++ {
		fieldStart := len(c.buf)
		var err error
		if line, i, err = c.readField(line, i); err != nil {
			return false, err
		}
		if c.MaxFields <= 0 || column <= c.MaxFields {
			c.ends = append(c.ends, len(c.buf))
		} else {
			c.noteExtra(column, fieldStart)
		}
		if i >= len(line) {
			break
		}
		i++ // the comma
	}
	rec := string(c.buf)
	c.recLen = len(rec)
	c.fields = c.fields[:0]
	start := 0
	for _, end := range c.ends {
		c.fields = append(c.fields, rec[start:end])
		start = end
	}
	return true, nil
}

// readField appends the field starting at line[i] to buf and returns the
// line it ends on (a quoted field may span lines) and the index of the
// comma after it, or the line's length.
func (c *CSVReader) readField(line []byte, i int) ([]byte, int, error) {
	j := i
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	if j >= len(line) || line[j] != '"' {
		end := len(line)
		if k := bytes.IndexByte(line[i:], ','); k >= 0 {
			end = i + k
		}
		field := line[i:end]
		if bytes.IndexByte(field, '"') >= 0 {
			return nil, 0, &CSVLineError{Line: c.lr.line, QuoteLine: c.lr.line, Err: ErrCSVBareQuote}
		}
		c.buf = append(c.buf, field...)
		return line, end, nil
	}
	// Quoted field, possibly spanning lines.
	i = j + 1
	quoteLine := c.lr.line
	for {
		k := bytes.IndexByte(line[i:], '"')
		if k < 0 {
			c.buf = append(c.buf, line[i:]...)
			c.buf = append(c.buf, '\n')
			b, err := c.lr.next()
			if err == io.EOF {
				return nil, 0, &CSVLineError{Line: c.lr.line, QuoteLine: quoteLine, Err: ErrCSVUnclosedQuote}
			}
			if err != nil {
				return nil, 0, err
			}
			line, i = b, 0
			continue
		}
		c.buf = append(c.buf, line[i:i+k]...)
		i += k + 1
		if i < len(line) && line[i] == '"' {
			c.buf = append(c.buf, '"')
			i++
			continue
		}
		break
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i < len(line) && line[i] != ',' {
		return nil, 0, &CSVLineError{Line: c.lr.line, QuoteLine: quoteLine, Err: ErrCSVTextAfterQuote}
	}
	return line, i, nil
}

// noteExtra drops the field buf[fieldStart:] beyond MaxFields, remembering
// the first non-empty one.
func (c *CSVReader) noteExtra(column, fieldStart int) {
	if v := bytes.TrimSpace(c.buf[fieldStart:]); c.extraCol == 0 && len(v) > 0 {
		n := min(len(v), maxValueBytes)
		for n < len(v) && n > 0 && !utf8.RuneStart(v[n]) {
			n--
		}
		c.extraCol, c.extraVal = column, string(v[:n])
	}
	c.buf = c.buf[:fieldStart]
}
