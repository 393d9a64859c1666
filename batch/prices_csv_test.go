package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// priceRowText is a PriceRow in a form that compares easily.
type priceRowText struct {
	Line   int
	Symbol string
	Date   string
	Close  string
}

func priceRowTexts(rows []PriceRow) []priceRowText {
	out := make([]priceRowText, len(rows))
	for i, r := range rows {
		out[i] = priceRowText{r.Line, r.Symbol, r.Date.Format(time.DateOnly), r.Close.String()}
	}
	return out
}

func readPriceTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "prices", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParsePriceCSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  []priceRowText
	}{
		{
			name:  "good file",
			input: readPriceTestdata(t, "good.csv"),
			want: []priceRowText{
				{2, "SPY", "2024-01-02", "472.65"},
				{3, "AAPL", "2024-01-02", "185.6400"},
				{4, "TLT", "2024-01-02", "98.21"},
				{5, "SPY", "2024-01-03", "468.79"},
				{6, "AAPL", "2024-01-03", "184.25"},
				{7, "TLT", "2024-01-03", "97.37"},
				{8, "SPY", "2024-01-04", "467.28"},
				{9, "AAPL", "2024-01-04", "181.91"},
				{10, "TLT", "2024-01-04", "96.52"},
			},
		},
		{
			name:  "header case and spaces, columns reordered",
			input: " Symbol , DATE ,\tClose\n AAPL , 2024-01-02 , 185.64 \n",
			want:  []priceRowText{{2, "AAPL", "2024-01-02", "185.64"}},
		},
		{
			name:  "adj_close",
			input: "date,symbol,adj_close\n2024-01-02,AAPL,185.403\n",
			want:  []priceRowText{{2, "AAPL", "2024-01-02", "185.403"}},
		},
		{
			name:  "Adj Close with extra columns (Yahoo)",
			input: readPriceTestdata(t, "yahoo.csv"),
			want: []priceRowText{
				{2, "AAPL", "2024-01-02", "185.403"},
				{3, "AAPL", "2024-01-03", "184.015"},
			},
		},
		{
			name:  "close wins over adj close",
			input: "date,symbol,adj close,close\n2024-01-02,AAPL,1.5,2.5\n",
			want:  []priceRowText{{2, "AAPL", "2024-01-02", "2.5"}},
		},
		{
			name:  "extra columns, rows longer and shorter than the header",
			input: "date,open,symbol,close,volume,note\n2024-01-02,1,AAPL,185.64,100\n2024-01-03,1,AAPL,184.25,100,x,y\n",
			want: []priceRowText{
				{2, "AAPL", "2024-01-02", "185.64"},
				{3, "AAPL", "2024-01-03", "184.25"},
			},
		},
		{
			name:  "BOM and CRLF, blank line",
			input: readPriceTestdata(t, "bom_crlf.csv"),
			want: []priceRowText{
				{2, "SPY", "2024-01-02", "472.65"},
				{4, "SPY", "2024-01-03", "468.79"},
			},
		},
		{
			name:  "blank and whitespace lines, physical line numbers",
			input: "\n\ndate,symbol,close\n\n   \n2024-01-02,AAPL,185.64\n\t,  ,\n2024-01-03,AAPL,184.25",
			want: []priceRowText{
				{6, "AAPL", "2024-01-02", "185.64"},
				{8, "AAPL", "2024-01-03", "184.25"},
			},
		},
		{
			name:  "quoted fields, one spanning lines in an ignored column",
			input: "date,symbol,close,note\n\"2024-01-02\",\"BRK.B\",\"363.14\",\"two\nlines\"\n2024-01-03,BRK.B,+0363.50,\n",
			want: []priceRowText{
				{2, "BRK.B", "2024-01-02", "363.14"},
				{4, "BRK.B", "2024-01-03", "363.50"},
			},
		},
		{
			name:  "symbol charset, upper-cased, leap day, limits",
			input: "date,symbol,close\n2024-02-29,brk-b_x.1,0.0001\n2024-02-28,BRK-B_X.1,999999999.12345678901234567890\n1970-01-01,x,1\n",
			want: []priceRowText{
				{2, "BRK-B_X.1", "2024-02-29", "0.0001"},
				{3, "BRK-B_X.1", "2024-02-28", "999999999.12345678901234567890"},
				{4, "X", "1970-01-01", "1"},
			},
		},
		{
			name:  "symbol of 100 characters",
			input: "date,symbol,close\n2024-01-02," + strings.Repeat("A", 100) + ",1\n",
			want:  []priceRowText{{2, strings.Repeat("A", 100), "2024-01-02", "1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows, err := ParsePriceCSV(strings.NewReader(tt.input), "p.csv")
			if err != nil {
				t.Fatalf("ParsePriceCSV: %v", err)
			}
			got := priceRowTexts(rows)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("rows\n got %v\nwant %v", got, tt.want)
			}
			for _, r := range rows {
				if r.Date.Location() != time.UTC || r.Date.Hour() != 0 {
					t.Errorf("line %d: date %v, want 00:00 UTC", r.Line, r.Date)
				}
			}
		})
	}
}

func TestParsePriceCSVErrors(t *testing.T) {
	t.Parallel()
	const header = "date,symbol,close\n"
	var many strings.Builder
	many.WriteString(header)
	for i := range 25 {
		fmt.Fprintf(&many, "2024-01-%02d,AAPL,x\n", i+1)
	}
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"non-numeric close", header + "2024-01-02,AAPL,abc\n",
			`p.csv:2: close "abc" is not a decimal number like 187.25`},
		{"negative close", header + "2024-01-02,AAPL,-1.5\n",
			`p.csv:2: close "-1.5" is not positive`},
		{"zero close", header + "2024-01-02,AAPL,0\n",
			`p.csv:2: close "0" is not positive`},
		{"zero close with decimals", header + "2024-01-02,AAPL,0.000\n",
			`p.csv:2: close "0.000" is not positive`},
		{"exponent", header + "2024-01-02,AAPL,1e3\n",
			`p.csv:2: close "1e3" is not a decimal number like 187.25 (no exponent notation)`},
		{"NaN", header + "2024-01-02,AAPL,NaN\n",
			`p.csv:2: close "NaN" is not a decimal number like 187.25`},
		{"Inf", header + "2024-01-02,AAPL,Inf\n",
			`p.csv:2: close "Inf" is not a decimal number like 187.25`},
		{"hex", header + "2024-01-02,AAPL,0x10\n",
			`p.csv:2: close "0x10" is not a decimal number like 187.25`},
		{"thousands separator", header + "2024-01-02,AAPL,\"1,000\"\n",
			`p.csv:2: close "1,000" is not a decimal number like 187.25 (no thousands separators)`},
		{"currency", header + "2024-01-02,AAPL,$5\n",
			`p.csv:2: close "$5" is not a decimal number like 187.25`},
		{"point without digits", header + "2024-01-02,AAPL,.5\n",
			`p.csv:2: close ".5" is not a decimal number like 187.25`},
		{"empty close", header + "2024-01-02,AAPL,\n",
			`p.csv:2: close is empty`},
		{"short row", header + "2024-01-02,AAPL\n",
			`p.csv:2: close is empty`},
		{"too many integer digits", header + "2024-01-02,AAPL,123456789012345678901\n",
			`p.csv:2: close "123456789012345678901" is 1e9 or more: no security trades that high; check the column and the decimal point`},
		{"too many fraction digits", header + "2024-01-02,AAPL,1.123456789012345678901\n",
			`p.csv:2: close "1.123456789012345678901" has more than 20 digits after the decimal point`},
		{"month 13", header + "2024-13-01,AAPL,1\n",
			`p.csv:2: date "2024-13-01" is not a real date`},
		{"February 30", header + "2024-02-30,AAPL,1\n",
			`p.csv:2: date "2024-02-30" is not a real date`},
		{"February 29 of a common year", header + "2023-02-29,AAPL,1\n",
			`p.csv:2: date "2023-02-29" is not a real date`},
		{"year 0", header + "0000-01-01,AAPL,1\n",
			`p.csv:2: date "0000-01-01" is not a real date`},
		{"US date", header + "01/02/2024,AAPL,1\n",
			`p.csv:2: date "01/02/2024" is not in the form YYYY-MM-DD`},
		{"unpadded date", header + "2024-1-2,AAPL,1\n",
			`p.csv:2: date "2024-1-2" is not in the form YYYY-MM-DD`},
		{"date with time", header + "2024-01-02T00:00:00Z,AAPL,1\n",
			`p.csv:2: date "2024-01-02T00:00:00Z" is not in the form YYYY-MM-DD`},
		{"signed date parts", header + "+024-01-02,AAPL,1\n",
			`p.csv:2: date "+024-01-02" is not in the form YYYY-MM-DD`},
		{"empty date", header + ",AAPL,1\n",
			`p.csv:2: date is empty`},
		{"bad symbol chars", header + "2024-01-02,BRK B,1\n",
			`p.csv:2: symbol "BRK B" has characters other than letters, digits, '.', '_' and '-'`},
		{"symbol with dollar", header + "2024-01-02,AAPL$,1\n",
			`p.csv:2: symbol "AAPL$" has characters other than letters, digits, '.', '_' and '-'`},
		{"non-ASCII symbol", header + "2024-01-02,ÄPL,1\n",
			`p.csv:2: symbol "ÄPL" has characters other than letters, digits, '.', '_' and '-'`},
		{"empty symbol", header + "2024-01-02,,1\n",
			`p.csv:2: symbol is empty`},
		{"long symbol", header + "2024-01-02," + strings.Repeat("A", 101) + ",1\n",
			`p.csv:2: symbol "` + strings.Repeat("A", 40) + `"… is longer than 100 characters`},
		{"duplicate row", header + "2024-01-02,AAPL,1\n2024-01-02,MSFT,2\n2024-01-02,AAPL,1\n",
			`p.csv:4: duplicate price for AAPL on 2024-01-02 (first on line 2)`},
		{"missing column", "date,close\n2024-01-02,1\n",
			`p.csv:1: missing column symbol: the header must name the columns date, symbol and close`},
		{"missing columns", "Date\n2024-01-02\n",
			`p.csv:1: missing columns symbol, close (or adj_close): the header must name the columns date, symbol and close`},
		{"no header", "2024-01-02,AAPL,1\n",
			`p.csv:1: missing columns date, symbol, close (or adj_close): the header must name the columns date, symbol and close`},
		{"duplicate column", "date,symbol,close,Close\n2024-01-02,AAPL,1,2\n",
			`p.csv:1: column "close" appears twice in the header (columns 3 and 4)`},
		{"empty file", "",
			`p.csv:1: empty file: want a header naming the columns date, symbol and close, then one row per symbol and day`},
		{"only blank lines", "\n\r\n  \n",
			`p.csv:1: empty file: want a header naming the columns date, symbol and close, then one row per symbol and day`},
		{"only a BOM", "\xEF\xBB\xBF",
			`p.csv:1: empty file: want a header naming the columns date, symbol and close, then one row per symbol and day`},
		{"header only", "\ndate,symbol,close\n\n",
			`p.csv:2: no price rows after the header`},
		{"NUL byte", header + "2024-01-02,AAPL,1\x00\n",
			`p.csv:2: contains NUL bytes: the file is binary (or UTF-16), not CSV text; save it as CSV UTF-8`},
		{"UTF-16", "\xFF\xFEd\x00a\x00t\x00e\x00\n\x00",
			`p.csv:1: contains NUL bytes: the file is binary (or UTF-16), not CSV text; save it as CSV UTF-8`},
		{"invalid UTF-8 in an ignored column", "date,symbol,close,name\n2024-01-02,AAPL,1,Soci\xE9t\xE9\n",
			`p.csv:2: not valid UTF-8: save the file as CSV UTF-8`},
		{"bare quote", header + "2024-01-02,AA\"PL,1\n",
			`p.csv:2: malformed CSV: bare " in non-quoted-field`},
		{"unterminated quote", header + "2024-01-02,\"AAPL,1\n2024-01-03,AAPL,2\n",
			`p.csv:3: malformed CSV: extraneous or missing " in quoted-field (in the quoted field starting on line 2)`},
		{"several problems in a row and file", header + "2024-01-02,AAPL,1\n2024-13-01,A B,0\n2024-01-03,AAPL,2\n2024-01-02,AAPL,3\n",
			"p.csv:3: date \"2024-13-01\" is not a real date\n" +
				"p.csv:3: symbol \"A B\" has characters other than letters, digits, '.', '_' and '-'\n" +
				"p.csv:3: close \"0\" is not positive\n" +
				"p.csv:5: duplicate price for AAPL on 2024-01-02 (first on line 2)"},
		{"more than 20 problems", many.String(),
			strings.TrimSuffix(strings.Repeat("p.csv:%d: close \"x\" is not a decimal number like 187.25\n", 20), "\n") + "\n… and 5 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			if strings.Contains(want, "%d") {
				var args []any
				for i := range strings.Count(want, "%d") {
					args = append(args, i+2)
				}
				want = fmt.Sprintf(want, args...)
			}
			rows, err := ParsePriceCSV(strings.NewReader(tt.input), "p.csv")
			if err == nil {
				t.Fatalf("ParsePriceCSV returned %d rows and no error; want %q", len(rows), want)
			}
			if rows != nil {
				t.Errorf("ParsePriceCSV returned %d rows with its error", len(rows))
			}
			var pfe *PriceFileError
			if !errors.As(err, &pfe) {
				t.Fatalf("error %T %v, want *PriceFileError", err, err)
			}
			if pfe.File != "p.csv" || len(pfe.Problems) == 0 {
				t.Errorf("PriceFileError{File: %q, %d problems}", pfe.File, len(pfe.Problems))
			}
			if got := err.Error(); got != want {
				t.Errorf("error\n got %q\nwant %q", got, want)
			}
		})
	}
}

// priceEndlessReader returns a header and then an endless stream of price rows,
// and counts the bytes it returns.
type priceEndlessReader struct {
	n    int64
	head bool
	line []byte
	off  int
}

func (r *priceEndlessReader) Read(b []byte) (int, error) {
	n := 0
	if !r.head {
		r.head = true
		n = copy(b, "date,symbol,close\n") // b is never that small here
	}
	for n < len(b) {
		c := copy(b[n:], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	r.n += int64(n)
	return n, nil
}

func TestParsePricesSizeLimit(t *testing.T) {
	t.Parallel()
	good := readPriceTestdata(t, "good.csv")
	tests := []struct {
		name    string
		max     int64
		input   io.Reader
		wantErr string
	}{
		{"exactly at the limit", int64(len(good)), strings.NewReader(good), ""},
		{"one byte over", int64(len(good)) - 1, strings.NewReader(good), "p.csv: larger than the limit of 217 bytes"},
		{"endless input", 1 << 20, &priceEndlessReader{line: []byte("2024-01-02,AAPL,1\n")}, "p.csv: larger than the limit of 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parsePrices(context.Background(), tt.input, "p.csv", testPriceLimits(tt.max))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("parsePrices: %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("parsePrices error %v, want %q", err, tt.wantErr)
			}
			if er, ok := tt.input.(*priceEndlessReader); ok && er.n > tt.max+1 {
				t.Errorf("read %d bytes, more than the limit %d plus one", er.n, tt.max)
			}
		})
	}
}

func TestParsePriceCSVProblemCap(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString("date,symbol,close\n")
	const bad = MaxPriceProblems + 500
	for i := range bad {
		fmt.Fprintf(&b, "2024-01-02,S%d,-1\n", i)
	}
	_, err := ParsePriceCSV(&b, "p.csv")
	var pfe *PriceFileError
	if !errors.As(err, &pfe) {
		t.Fatalf("error %v, want *PriceFileError", err)
	}
	if len(pfe.Problems) != MaxPriceProblems || pfe.More != 500 {
		t.Errorf("%d problems and %d more, want %d and 500", len(pfe.Problems), pfe.More, MaxPriceProblems)
	}
	if want := fmt.Sprintf("\n… and %d more", bad-20); !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error ends %q, want %q", err.Error()[len(err.Error())-30:], want)
	}
}

func FuzzParsePriceCSV(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "prices"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		f.Add([]byte(readPriceTestdata(f, e.Name())))
	}
	for _, s := range []string{
		"",
		"date,symbol,close\n2024-01-02,AAPL,1e3\n",
		"date,symbol,adj_close\r\n2024-02-29,A.B,0.5\r\n2024-02-29,A.B,0.5\r\n",
		"symbol,date,close\n\"X\",\"2024-01-02\",\"1\"\n\"Y\n",
		"\xEF\xBB\xBFdate,symbol,close\n2024-01-02,AAPL,\"1,0\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParsePriceCSV(bytes.NewReader(data), "f.csv")
		if (err == nil) == (len(rows) == 0) {
			t.Fatalf("%d rows with error %v: want rows xor an error", len(rows), err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		if err != nil {
			var pfe *PriceFileError
			if !errors.As(err, &pfe) {
				t.Fatalf("error %T %v, want *PriceFileError", err, err)
			}
			if len(pfe.Problems) == 0 || pfe.File != "f.csv" {
				t.Fatalf("PriceFileError{File: %q, %d problems}", pfe.File, len(pfe.Problems))
			}
			for _, p := range pfe.Problems {
				if p.Line < 0 || p.Line > lines || p.Reason == "" {
					t.Fatalf("problem %+v in a file of %d lines", p, lines)
				}
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error is not valid UTF-8: %q", err.Error())
			}
			return
		}
		seen := map[priceKey]bool{}
		prev := 0
		for _, r := range rows {
			if r.Line <= prev || r.Line > lines {
				t.Fatalf("row line %d after %d in a file of %d lines", r.Line, prev, lines)
			}
			prev = r.Line
			if checkPriceSymbol(r.Symbol) != "" {
				t.Fatalf("line %d: invalid symbol %q", r.Line, r.Symbol)
			}
			if r.Symbol != strings.ToUpper(r.Symbol) {
				t.Fatalf("line %d: symbol %q not upper-cased", r.Line, r.Symbol)
			}
			if r.Date.Before(minPriceDay) || r.Date.After(time.Now()) {
				t.Fatalf("line %d: date %s outside 1970 … today", r.Line, r.Date)
			}
			if r.Close.Sign() <= 0 || r.Close.IntDigits() > maxCloseIntDigits {
				t.Fatalf("line %d: invalid close %s", r.Line, r.Close)
			}
			if _, reason := parseClose(r.Close.String()); reason != "" {
				t.Fatalf("line %d: close %s does not parse again: %s", r.Line, r.Close, reason)
			}
			if r.Date.Location() != time.UTC || r.Date != priceDay(r.Date) || r.Date.Year() < 1 {
				t.Fatalf("line %d: date %v", r.Line, r.Date)
			}
			k := priceKey{r.Symbol, r.Date.Unix()}
			if seen[k] {
				t.Fatalf("line %d: duplicate %v", r.Line, k)
			}
			seen[k] = true
		}
	})
}

func BenchmarkParsePriceCSV(b *testing.B) {
	data := priceFile(100, 1000, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rows, err := ParsePriceCSV(bytes.NewReader(data), "bench.csv")
		if err != nil || len(rows) != 100_000 {
			b.Fatalf("ParsePriceCSV: %d rows, %v", len(rows), err)
		}
	}
	b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// priceFile returns a price file of symbols × days rows; variant shifts the
// closes, so that files of different variants differ in every close.
func priceFile(symbols, days, variant int) []byte {
	var b bytes.Buffer
	b.WriteString("date,symbol,close\n")
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := range days {
		day := start.AddDate(0, 0, d).Format(time.DateOnly)
		for s := range symbols {
			fmt.Fprintf(&b, "%s,SYM%03d,%d.%02d\n", day, s, 100+s+d%50, (d+variant)%100)
		}
	}
	return b.Bytes()
}
