package batch

import (
	"errors"
	"strings"
	"testing"
)

// TestCSVFilesReadAlike checks that price and symbol files are read by the
// positions reader (portfolio.CSVReader): spaces around quoted fields are
// allowed, symbol files take indented comments, and problems of the file
// (NUL bytes, invalid UTF-8) name the same lines.
func TestCSVFilesReadAlike(t *testing.T) {
	t.Parallel()
	rows, err := ParsePriceCSV(strings.NewReader("date,symbol,close\n \"2024-01-02\" , \"AAPL\",1\n"), "p.csv")
	if err != nil || len(rows) != 1 || rows[0].Symbol != "AAPL" || rows[0].Line != 2 {
		t.Fatalf("ParsePriceCSV = %+v, %v; want AAPL on line 2", rows, err)
	}
	f, err := ParseSymbolCSV(strings.NewReader("# symbols\nsymbol,name\n  # indented comment\n \"aapl\" ,Apple\n"), "s.csv", 0)
	if err != nil || len(f.Rows) != 1 || f.Rows[0].Symbol != "AAPL" || f.Lines[0] != 4 {
		t.Fatalf("ParseSymbolCSV = %+v, %v; want AAPL on line 4", f, err)
	}
	for _, tc := range []struct{ name, data, price, symbol string }{
		{"NUL", "symbol,date,close\nA,2024-01-02,1\nB\x00\n",
			"p.csv:3: contains NUL bytes", "s.csv:3: contains NUL bytes"},
		{"latin1 after a bad row", "symbol,date,close\n?,2024-01-02,1\nB,2024-01-02,caf\xe9\n",
			"p.csv:2: symbol \"?\"", "s.csv:3: not valid UTF-8"},
	} {
		_, perr := ParsePriceCSV(strings.NewReader(tc.data), "p.csv")
		_, serr := ParseSymbolCSV(strings.NewReader(tc.data), "s.csv", 0)
		var pfe *PriceFileError
		var sfe *SymbolFileError
		if !errors.As(perr, &pfe) || !strings.HasPrefix(perr.Error(), tc.price) {
			t.Errorf("%s: price error = %v, want it to start %q", tc.name, perr, tc.price)
		}
		// A symbol file's problem of the whole file replaces the row
		// problems before it.
		if !errors.As(serr, &sfe) || !strings.HasPrefix(serr.Error(), tc.symbol) || len(sfe.Problems) != 1 {
			t.Errorf("%s: symbol error = %v, want only %q", tc.name, serr, tc.symbol)
		}
	}
}
