package portfolio

import (
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// readAllCSV reads every record of in as "line:field|field" strings.
func readAllCSV(t *testing.T, in string, maxBytes int64, setup func(*CSVReader)) ([]string, error) {
	t.Helper()
	c := NewCSVReader(strings.NewReader(in), maxBytes)
	if setup != nil {
		setup(c)
	}
	var got []string
	for {
		rec, err := c.Read()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		s := strings.Join(rec, "|")
		if col, val := c.Extra(); col > 0 {
			s += "+" + val
		}
		got = append(got, strconv.Itoa(c.Line())+":"+s)
	}
}

func TestCSVReader(t *testing.T) {
	t.Parallel()
	comments := func(c *CSVReader) { c.Comments = true }
	tests := []struct {
		name  string
		in    string
		setup func(*CSVReader)
		want  []string
	}{
		{"plain", "a,b\nc,d\n", nil, []string{"1:a|b", "2:c|d"}},
		{"BOM and CRLF", "\xEF\xBB\xBFa,b\r\nc,d\r\n", nil, []string{"1:a|b", "2:c|d"}},
		{"blank lines and blank records skipped", "a\n\n  \n,,\nb\n", nil, []string{"1:a", "5:b"}},
		{"comments off: # is data", "# x\na\n", nil, []string{"1:# x", "2:a"}},
		{"comments on, indented too", "# x\n  # y\na\n", comments, []string{"3:a"}},
		{"quoted, multi-line, doubled quotes", "\"a,\"\"b\"\"\nc\",d\ne\n", comments, []string{"1:a,\"b\"\nc|d", "3:e"}},
		{"comment inside a quoted field is data", "\"x\n# y\",z\n", comments, []string{"1:x\n# y|z"}},
		{"spaces around a quoted field", " \"a\" , \"b\"\t\n", nil, []string{"1:a|b"}},
		{"CRLF in a quoted field becomes LF", "\"a\r\nb\",c\r\n", nil, []string{"1:a\nb|c"}},
		{"fields beyond MaxFields", "a,b,,x,y\n", func(c *CSVReader) { c.MaxFields = 2 }, []string{"1:a|b+x"}},
		{"only an extra value is not blank", ",,,x\n", func(c *CSVReader) { c.MaxFields = 2 }, []string{"1:|+x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readAllCSV(t, tt.in, 1<<20, tt.setup)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("records = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCSVReaderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		in              string
		max             int64
		want            error
		line, quoteLine int
	}{
		{"too large", "a,b\nc,d\n", 7, ErrCSVTooLarge, 0, 0},
		{"NUL", "a\nb\x00\n", 100, ErrCSVBinary, 2, 2},
		{"invalid UTF-8 in a comment", "a\n# caf\xe9\n", 100, ErrCSVNotUTF8, 2, 2},
		{"bare quote", "a\nb\"c\n", 100, ErrCSVBareQuote, 2, 2},
		{"text after a closing quote", "\"a\nb\"c\n", 100, ErrCSVTextAfterQuote, 2, 1},
		{"unclosed quote", "a\n\"b\nc\nd\n", 100, ErrCSVUnclosedQuote, 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readAllCSV(t, tt.in, tt.max, func(c *CSVReader) { c.Comments = true })
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.line == 0 {
				return
			}
			var le *CSVLineError
			if !errors.As(err, &le) || le.Line != tt.line || le.QuoteLine != tt.quoteLine {
				t.Errorf("err = %#v, want line %d, quote line %d", err, tt.line, tt.quoteLine)
			}
		})
	}
}
