package portfolio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// header12 is the full 12-column header of the seed format.
const header12 = "Symbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype,Underlying Symbol,Strike Price,Expiration Date,Option Type,Exit Date,Exit Price Per Share\n"

// testNow is the fixed clock of most tests: 2026-11-29.
var testNow = time.Date(2026, 11, 29, 15, 4, 5, 0, time.UTC)

// fixedClock returns ParseOptions whose clock always says now.
func fixedClock(now time.Time) *ParseOptions {
	return &ParseOptions{Now: func() time.Time { return now }}
}

// parseString parses s with the fixed test clock and returns the positions
// or the ValidationError; any other error fails the test.
func parseString(t *testing.T, s string, opts *ParseOptions) ([]Position, *ValidationError) {
	t.Helper()
	if opts == nil {
		opts = fixedClock(testNow)
	}
	positions, err := ParsePositions(strings.NewReader(s), opts)
	if err == nil {
		return positions, nil
	}
	if positions != nil {
		t.Errorf("ParsePositions returned %d positions with an error", len(positions))
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("ParsePositions error is %T (%v), want *ValidationError", err, err)
	}
	return nil, ve
}

// mustParse parses s and fails the test on any error.
func mustParse(t *testing.T, s string, opts *ParseOptions) []Position {
	t.Helper()
	positions, ve := parseString(t, s, opts)
	if ve != nil {
		t.Fatalf("ParsePositions: %v", ve)
	}
	return positions
}

// wantErr is the part of a FieldError the tests pin down.
type wantErr struct {
	Row, Line int
	Field     string
	Code      Code
}

func (w wantErr) String() string {
	return fmt.Sprintf("{row %d line %d %q %s}", w.Row, w.Line, w.Field, w.Code)
}

// gotErrs reduces FieldErrors to what the tests compare.
func gotErrs(errs []FieldError) []wantErr {
	out := make([]wantErr, len(errs))
	for i, e := range errs {
		out[i] = wantErr{Row: e.Row, Line: e.Line, Field: e.Field, Code: e.Code}
	}
	return out
}

func TestParsePositionsErrorCodes(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A", 101)
	tests := []struct {
		name     string
		input    string
		opts     *ParseOptions
		wantCode Code
		want     []wantErr
	}{
		// File-level errors.
		{
			name:     "CSV001 file larger than MaxBytes",
			input:    header12 + "AAPL,1,1.00,2024-01-02\n" + strings.Repeat("# padding\n", 20),
			opts:     &ParseOptions{Now: func() time.Time { return testNow }, MaxBytes: 100},
			wantCode: CodeCSV001,
			want:     []wantErr{{Code: CodeCSV001}},
		},
		{
			name:     "CSV001 more rows than MaxRows",
			input:    header12 + "A,1,1,2024-01-02\nB,1,1,2024-01-02\n# c\nC,1,1,2024-01-02\n",
			opts:     &ParseOptions{Now: func() time.Time { return testNow }, MaxRows: 2},
			wantCode: CodeCSV001,
			want:     []wantErr{{Line: 5, Code: CodeCSV001}},
		},
		{
			name:     "CSV002 NUL byte",
			input:    header12 + "AAPL,1,1.00,2024-01-02\nMS\x00FT,1,1.00,2024-01-02\n",
			wantCode: CodeCSV002,
			want:     []wantErr{{Line: 3, Code: CodeCSV002}},
		},
		{
			name:     "CSV002 invalid UTF-8",
			input:    header12 + "# caf\xe9 latin-1 comment\nAAPL,1,1.00,2024-01-02\n",
			wantCode: CodeCSV002,
			want:     []wantErr{{Line: 2, Code: CodeCSV002}},
		},
		{
			name:     "CSV002 binary junk",
			input:    "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
			wantCode: CodeCSV002,
			want:     []wantErr{{Line: 1, Code: CodeCSV002}},
		},
		{
			name:     "CSV002 UTF-16 text",
			input:    "\xff\xfeS\x00y\x00m\x00\n\x00",
			wantCode: CodeCSV002,
			want:     []wantErr{{Line: 1, Code: CodeCSV002}},
		},
		{
			name:     "CSV003 empty file",
			input:    "",
			wantCode: CodeCSV003,
			want:     []wantErr{{Code: CodeCSV003}},
		},
		{
			name:     "CSV003 only comments and blank lines",
			input:    "# nothing here\n\n   \n\t# still nothing\n",
			wantCode: CodeCSV003,
			want:     []wantErr{{Code: CodeCSV003}},
		},
		{
			name:     "CSV003 header without rows",
			input:    header12 + "# no rows\n,,,,,,,,,,,\n\n",
			wantCode: CodeCSV003,
			want:     []wantErr{{Code: CodeCSV003}},
		},
		{
			name:     "CSV004 missing columns each named",
			input:    "# c\nSymbol,Entry Price Per Share,Notes\nAAPL,1.00,x\n",
			wantCode: CodeCSV004,
			want: []wantErr{
				{Row: 1, Line: 2, Field: "Quantity", Code: CodeCSV004},
				{Row: 1, Line: 2, Field: "Entry Date", Code: CodeCSV004},
			},
		},
		{
			name:     "CSV005 duplicate column after normalisation",
			input:    "Symbol,Quantity,Entry Price Per Share,Entry Date,ENTRY  date\nAAPL,1,1,2024-01-02,2024-01-03\n",
			wantCode: CodeCSV005,
			want:     []wantErr{{Row: 1, Line: 1, Field: "Entry Date", Code: CodeCSV005}},
		},
		{
			name:     "CSV005 empty column name among named ones",
			input:    "Symbol,Quantity,,Entry Price Per Share,Entry Date\nAAPL,1,,1,2024-01-02\n",
			wantCode: CodeCSV005,
			want:     []wantErr{{Row: 1, Line: 1, Code: CodeCSV005}},
		},
		{
			name:     "CSV005 more than 1000 columns",
			input:    strings.TrimSuffix(header12, "\n") + strings.Repeat(",Note", 1000) + "\nAAPL,1,1,2024-01-02\n",
			wantCode: CodeCSV005,
			want:     []wantErr{{Row: 1, Line: 1, Code: CodeCSV005}},
		},
		{
			name:     "CSV006 semicolon delimiter",
			input:    "Symbol;Quantity;Entry Price Per Share;Entry Date\nAAPL;1;1.00;2024-01-02\n",
			wantCode: CodeCSV006,
			want:     []wantErr{{Row: 1, Line: 1, Code: CodeCSV006}},
		},
		{
			name:     "CSV006 tab delimiter",
			input:    "# exported from a spreadsheet\nSymbol\tQuantity\tEntry Price Per Share\tEntry Date\nAAPL\t1\t1.00\t2024-01-02\n",
			wantCode: CodeCSV006,
			want:     []wantErr{{Row: 1, Line: 2, Code: CodeCSV006}},
		},
		{
			name:     "CSV006 unbalanced quote",
			input:    header12 + "AAPL,1,1.00,2024-01-02\n\"MSFT,1,1.00,2024-01-02\nGOOG,1,1.00,2024-01-02\n",
			wantCode: CodeCSV006,
			want:     []wantErr{{Row: 3, Line: 3, Code: CodeCSV006}},
		},
		{
			name:     "CSV006 bare quote in unquoted field",
			input:    header12 + "AAPL,1,1.00,2024-01-02\nMS\"FT,1,1.00,2024-01-02\n",
			wantCode: CodeCSV006,
			want:     []wantErr{{Row: 3, Line: 3, Code: CodeCSV006}},
		},
		{
			name:     "CSV006 text after closing quote",
			input:    header12 + "\"AAPL\"x,1,1.00,2024-01-02\n",
			wantCode: CodeCSV006,
			want:     []wantErr{{Row: 2, Line: 2, Code: CodeCSV006}},
		},
		{
			name:     "CSV006 value beyond the header is a row error",
			input:    "Symbol,Quantity,Entry Price Per Share,Entry Date\nAAPL,1,1.00,2024-01-02,oops\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{Row: 2, Line: 2, Code: CodeCSV006}},
		},

		// Row errors: one case per code.
		{
			name:     "POS001 symbol required",
			input:    header12 + ",10,100.00,2024-01-02,PUBLIC,STOCK,,,,,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Symbol", CodePos001}},
		},
		{
			name:     "POS002 symbol too long",
			input:    header12 + long + ",10,100.00,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Symbol", CodePos002}},
		},
		{
			name:     "POS003 symbol characters",
			input:    header12 + "VT MGX,10,100.00,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Symbol", CodePos003}},
		},
		{
			name:     "POS004 quantity required",
			input:    header12 + "AAPL,,100.00,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Quantity", CodePos004}},
		},
		{
			name:     "POS005 quantity not a number",
			input:    header12 + "AAPL,LOTS,100.00,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Quantity", CodePos005}},
		},
		{
			name:     "POS005 quantity beyond NUMERIC(24,6)",
			input:    header12 + "AAPL,1234567890123456789,100.00,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Quantity", CodePos005}},
		},
		{
			name:     "POS006 quantity zero",
			input:    header12 + "AAPL,-0.00,100.00,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Quantity", CodePos006}},
		},
		{
			name:     "POS007 quantity decimals",
			input:    header12 + "AAPL,185.1234567,100.00,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Quantity", CodePos007}},
		},
		{
			name:     "POS008 entry price required",
			input:    header12 + "AAPL,10,,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Entry Price Per Share", CodePos008}},
		},
		{
			name:     "POS009 entry price not a number",
			input:    header12 + "AAPL,10,EXPENSIVE,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Entry Price Per Share", CodePos009}},
		},
		{
			name:     "POS009 entry price beyond NUMERIC(20,4)",
			input:    header12 + "AAPL,10,12345678901234567,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Entry Price Per Share", CodePos009}},
		},
		{
			name:     "POS010 entry price negative",
			input:    header12 + "AAPL,10,-58.80,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Entry Price Per Share", CodePos010}},
		},
		{
			name:     "POS011 entry price decimals",
			input:    header12 + "AAPL,10,63.12345,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Entry Price Per Share", CodePos011}},
		},
		{
			name:     "POS012 entry date required",
			input:    header12 + "AAPL,10,100.00,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Entry Date", CodePos012}},
		},
		{
			name:     "POS013 entry date format",
			input:    header12 + "AAPL,10,100.00,06/30/2025\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Entry Date", CodePos013}},
		},
		{
			name:     "POS013 impossible date",
			input:    header12 + "AAPL,10,100.00,2023-02-29\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Entry Date", CodePos013}},
		},
		{
			name:     "POS013 exit date format",
			input:    header12 + "AAPL,10,100.00,2024-01-02,,,,,,,2024-1-5,101.00\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Exit Date", CodePos013}},
		},
		{
			name:     "POS014 entry date tomorrow",
			input:    header12 + "AAPL,10,100.00,2026-11-30\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Entry Date", CodePos014}},
		},
		{
			name:     "POS014 exit date in the future",
			input:    header12 + "AAPL,10,100.00,2024-01-02,,,,,,,2027-01-01,101.00\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Exit Date", CodePos014}},
		},
		{
			name:     "POS015 entry date more than 100 years ago",
			input:    header12 + "AAPL,10,100.00,1926-11-28\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Entry Date", CodePos015}},
		},
		{
			name:     "POS016 investment class",
			input:    header12 + "VZ,515,41.20,2025-06-30,CRYPTO,STOCK,,,,,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Investment Class", CodePos016}},
		},
		{
			name:     "POS016 CASH_ symbol as an option",
			input:    header12 + "CASH_USD,1,1,2024-01-02,OPTIONS,,USD,1,2024-06-21,CALL,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Investment Class", CodePos016}},
		},
		{
			name:     "POS017 subtype not valid for class",
			input:    header12 + "VTSAX,600,115.25,2025-06-30,PUBLIC,FUND,,,,,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Investment Subtype", CodePos017}},
		},
		{
			name:     "POS017 PRIVATE without subtype",
			input:    header12 + "FUND_A,1,50000,2023-06-01,private,,,,,,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Investment Subtype", CodePos017}},
		},
		{
			name:     "POS017 CASH_ symbol with another subtype",
			input:    header12 + "CASH_EUR,100,1.08,2024-01-02,,STOCK,,,,,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Investment Subtype", CodePos017}},
		},
		{
			name:     "POS017 subtype for options",
			input:    header12 + "X_C1_20240621,1,1,2024-01-02,OPTIONS,ETF,X,1,2024-06-21,CALL,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Investment Subtype", CodePos017}},
		},
		{
			name:     "POS018 exit before entry",
			input:    header12 + "AAPL,10,100.00,2024-01-02,,,,,,,2024-01-01,101.00\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Exit Date", CodePos018}},
		},
		{
			name:     "POS018 exit date without exit price",
			input:    header12 + "AAPL,10,100.00,2024-01-02,,,,,,,2024-01-03,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Exit Price Per Share", CodePos018}},
		},
		{
			name:     "POS018 exit price without exit date",
			input:    header12 + "AAPL,10,100.00,2024-01-02,,,,,,,,101.00\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Exit Date", CodePos018}},
		},
		{
			name:     "POS009 POS010 POS011 exit price",
			input:    header12 + "A,1,1,2024-01-02,,,,,,,2024-01-03,1e2\nB,1,1,2024-01-02,,,,,,,2024-01-03,0\nC,1,1,2024-01-02,,,,,,,2024-01-03,1.00001\n",
			wantCode: CodeCSVValidation,
			want: []wantErr{
				{2, 2, "Exit Price Per Share", CodePos009},
				{3, 3, "Exit Price Per Share", CodePos010},
				{4, 4, "Exit Price Per Share", CodePos011},
			},
		},
		{
			name:     "POS019 underlying missing",
			input:    header12 + ",1,2.5,2024-01-02,OPTIONS,,,450,2024-03-15,CALL,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Underlying Symbol", CodePos019}},
		},
		{
			name:     "POS019 underlying invalid",
			input:    header12 + "X,1,2.5,2024-01-02,OPTIONS,,S&P,450,2024-03-15,CALL,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Underlying Symbol", CodePos019}},
		},
		{
			name:     "POS020 strike missing",
			input:    header12 + "X,1,2.5,2024-01-02,OPTIONS,,SPY,,2024-03-15,CALL,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Strike Price", CodePos020}},
		},
		{
			name:     "POS020 strike zero, too precise, not a number",
			input:    header12 + "X,1,2.5,2024-01-02,OPTIONS,,SPY,0,2024-03-15,CALL,,\nY,1,2.5,2024-01-02,OPTIONS,,SPY,450.12345,2024-03-15,CALL,,\nZ,1,2.5,2024-01-02,OPTIONS,,SPY,4.5e2,2024-03-15,CALL,,\n",
			wantCode: CodeCSVValidation,
			want: []wantErr{
				{2, 2, "Strike Price", CodePos020},
				{3, 3, "Strike Price", CodePos020},
				{4, 4, "Strike Price", CodePos020},
			},
		},
		{
			name:     "POS021 expiration missing",
			input:    header12 + "X,1,2.5,2024-01-02,OPTIONS,,SPY,450,,CALL,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Expiration Date", CodePos021}},
		},
		{
			name:     "POS021 expiration before entry",
			input:    header12 + "X,1,2.5,2024-01-02,OPTIONS,,SPY,450,2023-12-15,CALL,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Expiration Date", CodePos021}},
		},
		{
			name:     "POS022 option type missing",
			input:    header12 + "X,1,2.5,2024-01-02,OPTIONS,,SPY,450,2024-03-15,,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Option Type", CodePos022}},
		},
		{
			name:     "POS022 option type invalid",
			input:    header12 + "X,1,2.5,2024-01-02,OPTIONS,,SPY,450,2024-03-15,C,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Option Type", CodePos022}},
		},
		{
			name:     "POS022 option type contradicts subtype",
			input:    header12 + "X,1,2.5,2024-01-02,OPTIONS,PUT,SPY,450,2024-03-15,CALL,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Option Type", CodePos022}},
		},
		{
			name:     "POS023 duplicate symbol and date, any case",
			input:    header12 + "PG,365,168.75,2025-06-30\n# again\npg,1,168.75,2025-06-30\nPG,1,168.75,2025-07-01\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{3, 4, "Symbol", CodePos023}},
		},
		{
			name:     "POS023 duplicate option contract",
			input:    header12 + ",1,2.5,2024-01-02,OPTIONS,,SPY,450,2024-03-15,CALL,,\nSPY_C450_20240315,2,2.5,2024-01-02,OPTIONS,,spy,450.00,2024-03-15,call,,\n,1,2.5,2024-01-02,OPTIONS,,SPY,450,2024-03-15,PUT,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{3, 3, "Symbol", CodePos023}},
		},

		// Combinations.
		{
			name:     "two causes in one row",
			input:    header12 + "AAPL,abc,100.00,2024-13-01\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Quantity", CodePos005}, {2, 2, "Entry Date", CodePos013}},
		},
		{
			name:     "errors in row order across rows with comments",
			input:    "# top\n" + header12 + "# c\nA,1,1,2024-01-02\n\nB,0,1,2024-01-02\n# c\n  # indented comment\nC,1,0,2024-01-02\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{3, 6, "Quantity", CodePos006}, {4, 9, "Entry Price Per Share", CodePos010}},
		},
		{
			name:     "invalid class with option columns does not also need a symbol",
			input:    header12 + ",1,2.5,2024-01-02,OPTION,,SPY,450,2024-03-15,CALL,,\n",
			wantCode: CodeCSVValidation,
			want:     []wantErr{{2, 2, "Investment Class", CodePos016}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ve := parseString(t, tt.input, tt.opts)
			if ve == nil {
				t.Fatal("ParsePositions succeeded, want an error")
			}
			if ve.Code != tt.wantCode {
				t.Errorf("Code = %s, want %s (%v)", ve.Code, tt.wantCode, ve)
			}
			if got := gotErrs(ve.Errors); !slices.Equal(got, tt.want) {
				t.Errorf("Errors = %v\nwant %v\n(%v)", got, tt.want, ve)
			}
			for _, e := range ve.Errors {
				if e.Message == "" || e.Message == string(e.Code) || strings.Contains(e.Message, "Unknown") {
					t.Errorf("error %s has no real message: %q", e.Code, e.Message)
				}
			}
		})
	}
}

func TestParsePositionsErrorDetails(t *testing.T) {
	t.Parallel()
	_, ve := parseString(t, header12+"MSFT,10,400.00,2024-01-02\nAAPL,LOTS,-1,2024-01-02\nKO,1,1.00,2024-02-30\n", nil)
	if ve == nil {
		t.Fatal("ParsePositions succeeded, want an error")
	}
	want := []FieldError{
		{Row: 3, Line: 3, Field: "Quantity", Code: CodePos005, Message: msgQuantitySyntax, Symbol: "AAPL", Value: "LOTS"},
		{Row: 3, Line: 3, Field: "Entry Price Per Share", Code: CodePos010, Message: "Entry price must be positive", Symbol: "AAPL", Value: "-1"},
		{Row: 4, Line: 4, Field: "Entry Date", Code: CodePos013, Message: msgEntryDateFormat, Symbol: "KO", Value: "2024-02-30"},
	}
	if !slices.Equal(ve.Errors, want) {
		t.Errorf("Errors =\n%+v\nwant\n%+v", ve.Errors, want)
	}
	if ve.Message != "CSV validation failed with 3 error(s)" {
		t.Errorf("Message = %q", ve.Message)
	}
	wantText := "ERR_PORT_008: CSV validation failed with 3 error(s): " +
		"row 3 (line 3) Quantity: ERR_POS_005 " + msgQuantitySyntax + "; " +
		"row 3 (line 3) Entry Price Per Share: ERR_POS_010 Entry price must be positive; " +
		"row 4 (line 4) Entry Date: ERR_POS_013 " + msgEntryDateFormat
	if got := ve.Error(); got != wantText {
		t.Errorf("Error() =\n%s\nwant\n%s", got, wantText)
	}

	// Format B: the derived symbol identifies the row in its errors.
	_, ve = parseString(t, header12+",10,0,2024-02-01,OPTIONS,,DIA,395.00,2024-08-16,CALL,,\n", nil)
	if ve == nil || len(ve.Errors) != 1 || ve.Errors[0].Symbol != "DIA_C395_20240816" {
		t.Errorf("Format B error = %+v, want Symbol DIA_C395_20240816", ve)
	}
}

func TestValidationErrorText(t *testing.T) {
	t.Parallel()
	errs := make([]FieldError, 5)
	for i := range errs {
		errs[i] = FieldError{Row: i + 2, Line: i + 3, Field: "Quantity", Code: CodePos006, Message: "Quantity cannot be zero"}
	}
	tests := []struct {
		name string
		err  *ValidationError
		want string
	}{
		{
			name: "file-level error without position",
			err:  csvFileError(CodeCSV003, "CSV file has no data rows"),
			want: "ERR_CSV_003: CSV file has no data rows",
		},
		{
			name: "file-level error with a line",
			err: &ValidationError{Code: CodeCSV002, Message: "Line 3 is not valid UTF-8",
				Errors: []FieldError{{Line: 3, Code: CodeCSV002, Message: "Line 3 is not valid UTF-8"}}},
			want: "ERR_CSV_002: Line 3 is not valid UTF-8",
		},
		{
			name: "malformed CSV",
			err: &ValidationError{Code: CodeCSV006, Message: "Malformed CSV at line 4: a quoted field starting at line 4 is never closed",
				Errors: []FieldError{{Row: 3, Line: 4, Code: CodeCSV006, Message: "a quoted field starting at line 4 is never closed"}}},
			want: "ERR_CSV_006: Malformed CSV at line 4: a quoted field starting at line 4 is never closed",
		},
		{
			name: "many errors are cut after three",
			err:  &ValidationError{Code: CodePort008, Message: "CSV validation failed with 5 error(s)", Errors: errs},
			want: "ERR_PORT_008: CSV validation failed with 5 error(s): " +
				"row 2 (line 3) Quantity: ERR_POS_006 Quantity cannot be zero; " +
				"row 3 (line 4) Quantity: ERR_POS_006 Quantity cannot be zero; " +
				"row 4 (line 5) Quantity: ERR_POS_006 Quantity cannot be zero; and 2 more",
		},
		{
			name: "request field error",
			err:  &ValidationError{Code: CodePort002, Message: Message(CodePort002), Errors: []FieldError{{Field: "name", Code: CodePort002, Message: Message(CodePort002)}}},
			want: "ERR_PORT_002: Portfolio name is required: name: ERR_PORT_002 Portfolio name is required",
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: Error() =\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}

func TestMessage(t *testing.T) {
	t.Parallel()
	var codes []Code
	for i := 1; i <= 6; i++ {
		codes = append(codes, Code(fmt.Sprintf("ERR_CSV_%03d", i)))
	}
	for i := 1; i <= 23; i++ {
		codes = append(codes, Code(fmt.Sprintf("ERR_POS_%03d", i)))
	}
	for i := 1; i <= 12; i++ {
		codes = append(codes, Code(fmt.Sprintf("ERR_PORT_%03d", i)))
	}
	codes = append(codes, CodeOwner001, CodeFlow001, CodeFlow002)
	for _, c := range codes {
		m := Message(c)
		if m == "" || m == string(c) || strings.Contains(strings.ToLower(m), "unknown") {
			t.Errorf("Message(%s) = %q, want a real message", c, m)
		}
	}
	if len(codeMessages) != len(codes) {
		t.Errorf("codeMessages has %d codes, want %d", len(codeMessages), len(codes))
	}
	if got := Message("ERR_NOPE_999"); got != "ERR_NOPE_999" {
		t.Errorf("Message(unknown) = %q, want the code", got)
	}
	if got := Message(CodePos011); !strings.Contains(got, "max 4") {
		t.Errorf("Message(CodePos011) = %q, want it to say max 4", got)
	}
	if got := Message(CodeCSV001); !strings.Contains(got, "10 MiB") {
		t.Errorf("Message(CodeCSV001) = %q, want it to state the limit", got)
	}
}

func TestParsePositionsMissingColumnsMessage(t *testing.T) {
	t.Parallel()
	_, ve := parseString(t, "Ticker,Shares,Cost\nAAPL,1,2\n", nil)
	if ve == nil {
		t.Fatal("ParsePositions succeeded")
	}
	want := "Missing required columns: Symbol, Quantity, Entry Price Per Share, Entry Date"
	if ve.Code != CodeCSV004 || ve.Message != want {
		t.Errorf("got %s %q, want %s %q", ve.Code, ve.Message, CodeCSV004, want)
	}
}

func TestParsePositionsFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		// want lists (Row, Line, Symbol) of the positions.
		want []string
	}{
		{
			name: "BOM and CRLF",
			in:   "\xEF\xBB\xBF" + strings.ReplaceAll(header12+"AAPL,1,1.00,2024-01-02,,,,,,,,\nMSFT,2,2.00,2024-01-03,,,,,,,,\n", "\n", "\r\n"),
			want: []string{"2 2 AAPL", "3 3 MSFT"},
		},
		{
			name: "BOM before a comment",
			in:   "\xEF\xBB\xBF# exported\n" + header12 + "AAPL,1,1.00,2024-01-02\n",
			want: []string{"2 3 AAPL"},
		},
		{
			name: "no final newline",
			in:   header12 + "AAPL,1,1.00,2024-01-02",
			want: []string{"2 2 AAPL"},
		},
		{
			name: "comments and blank lines before, after and between",
			in: "# title\n\n   # indented\n" + header12 + "# after header\n\nAAPL,1,1.00,2024-01-02\n \t \n# between\n" +
				"MSFT,2,2.00,2024-01-03\n#trailing\n\n",
			want: []string{"2 7 AAPL", "3 10 MSFT"},
		},
		{
			name: "all-empty records are skipped and not counted",
			in:   header12 + ",,,,,,,,,,,\nAAPL,1,1.00,2024-01-02\n , ,\nMSFT,2,2.00,2024-01-03\n",
			want: []string{"2 3 AAPL", "3 5 MSFT"},
		},
		{
			name: "header case and whitespace variants, other order",
			in:   "  entry   DATE ,SYMBOL,\tQuantity , entry price  per\tshare\n2024-01-02,AAPL,1,1.00\n",
			want: []string{"2 2 AAPL"},
		},
		{
			name: "quoted header and fields with spaces around quotes",
			in:   "\"Symbol\",\"Quantity\",\"Entry Price Per Share\",\"Entry Date\"\n \"AAPL\" , \"1\",\"1.00\" ,2024-01-02\n",
			want: []string{"2 2 AAPL"},
		},
		{
			name: "extra unknown columns are ignored",
			in:   "Account,Symbol,Notes,Quantity,Entry Price Per Share,Entry Date,Notes\nIRA,AAPL,\"long, \"\"core\"\"\",1,1.00,2024-01-02,x\n",
			want: []string{"2 2 AAPL"},
		},
		{
			name: "short rows",
			in:   header12 + "AAPL,1,1.00,2024-01-02\nMSFT,2,2.00,2024-01-03,PUBLIC\n",
			want: []string{"2 2 AAPL", "3 3 MSFT"},
		},
		{
			name: "trailing comma in header and rows",
			in:   "Symbol,Quantity,Entry Price Per Share,Entry Date,\nAAPL,1,1.00,2024-01-02,\nMSFT,2,2.00,2024-01-03\n",
			want: []string{"2 2 AAPL", "3 3 MSFT"},
		},
		{
			name: "thousands of trailing empty columns",
			in:   strings.TrimSuffix(header12, "\n") + strings.Repeat(",", 5000) + "\nAAPL,1,1.00,2024-01-02" + strings.Repeat(",", 5000) + "\n",
			want: []string{"2 2 AAPL"},
		},
		{
			name: "quoted multi-line field keeps line numbers",
			in:   "Symbol,Notes,Quantity,Entry Price Per Share,Entry Date\nAAPL,\"line one\n# not a comment\n\nline four\",1,1.00,2024-01-02\nMSFT,,2,2.00,2024-01-03\n",
			want: []string{"2 2 AAPL", "3 6 MSFT"},
		},
		{
			name: "quoted multi-line field with CRLF",
			in:   "Symbol,Notes,Quantity,Entry Price Per Share,Entry Date\r\nAAPL,\"a\r\nb\",1,1.00,2024-01-02\r\nMSFT,,2,2.00,2024-01-03\r\n",
			want: []string{"2 2 AAPL", "3 4 MSFT"},
		},
		{
			name: "fields trimmed",
			in:   header12 + "  AAPL\t, 1 ,1.00 , 2024-01-02 , public , stock \n",
			want: []string{"2 2 AAPL"},
		},
		{
			name: "entry date exactly 100 years ago",
			in:   header12 + "AAPL,1,1.00,1926-11-29\n",
			want: []string{"2 2 AAPL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			positions := mustParse(t, tt.in, nil)
			var got []string
			for _, p := range positions {
				got = append(got, fmt.Sprintf("%d %d %s", p.Row, p.Line, p.Symbol))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("positions = %q, want %q", got, tt.want)
			}
		})
	}
}

// positionSummary is a readable one-line form of a Position for tests.
func positionSummary(p Position) string {
	s := fmt.Sprintf("%s %s %s @%s %s %s/%s", p.Symbol, p.Type, p.Quantity, p.EntryPrice, p.EntryDate.Format(time.DateOnly), p.Class, p.Subtype)
	if p.IsCash {
		s += " cash"
	}
	if p.Class == ClassOptions {
		s += fmt.Sprintf(" [%s %s %s %s x%d]", p.Underlying, p.OptionType, p.Strike, p.Expiration.Format(time.DateOnly), p.Multiplier)
	} else if p.Multiplier != 1 {
		s += fmt.Sprintf(" x%d", p.Multiplier)
	}
	if p.ExitDate != nil {
		s += fmt.Sprintf(" exit %s @%s", p.ExitDate.Format(time.DateOnly), p.ExitPrice)
	}
	return s
}

func TestParsePositionsClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		row  string
		want string
	}{
		{"minimal row is PUBLIC", "MSFT,75,380.00,2024-01-22,,,,,,,,", "MSFT LONG 75 @380.00 2024-01-22 PUBLIC/"},
		{"short stock", "SHOP,-25,62.50,2024-02-10,PUBLIC,STOCK,,,,,,", "SHOP SHORT -25 @62.50 2024-02-10 PUBLIC/STOCK"},
		{"class and subtype in lower case", "SPY,50,445.2,2024-01-20,public,etf,,,,,,", "SPY LONG 50 @445.2 2024-01-20 PUBLIC/ETF"},
		{"canonical quantity text", "SPY,+0050.500,445.2,2024-01-20,,,,,,,,", "SPY LONG 50.500 @445.2 2024-01-20 PUBLIC/"},
		{"subtype of one class gives the class", "HF_ONE,1,100000,2023-01-03,,HEDGE_FUND,,,,,,", "HF_ONE LONG 1 @100000 2023-01-03 PRIVATE/HEDGE_FUND"},
		{"subtype of two classes gives PUBLIC", "SPAXX,10000,1.00,2024-01-01,,CASH,,,,,,", "SPAXX LONG 10000 @1.00 2024-01-01 PUBLIC/CASH cash"},
		{"PUBLIC CASH is cash", "SPAXX,10000,1.00,2024-01-01,PUBLIC,CASH,,,,,,", "SPAXX LONG 10000 @1.00 2024-01-01 PUBLIC/CASH cash"},
		{"PRIVATE CASH is cash", "BANK_ACCT,5000,1,2024-01-01,PRIVATE,cash,,,,,,", "BANK_ACCT LONG 5000 @1 2024-01-01 PRIVATE/CASH cash"},
		{"CASH_ symbol is PRIVATE cash", "CASH_USD,15000,1,2024-03-01,,,,,,,,", "CASH_USD LONG 15000 @1 2024-03-01 PRIVATE/CASH cash"},
		{"cash_ in lower case", "cash_eur,100,1.08,2024-03-01,,,,,,,,", "CASH_EUR LONG 100 @1.08 2024-03-01 PRIVATE/CASH cash"},
		{"CASH_ symbol keeps an explicit PUBLIC", "CASH_SWEEP,100,1,2024-03-01,PUBLIC,,,,,,,", "CASH_SWEEP LONG 100 @1 2024-03-01 PUBLIC/CASH cash"},
		{"negative cash is SHORT", "CASH_USD,-2500,1,2024-03-01,,,,,,,,", "CASH_USD SHORT -2500 @1 2024-03-01 PRIVATE/CASH cash"},
		{"option columns ignored for PUBLIC", "AAPL,1,1.00,2024-01-02,PUBLIC,STOCK,AAPL,nonsense,never,MAYBE,,", "AAPL LONG 1 @1.00 2024-01-02 PUBLIC/STOCK"},
		{"option columns make OPTIONS", "MY_CALL,2,3.5,2024-01-02,,,QQQ,400,2024-06-21,CALL,,", "MY_CALL LC 2 @3.5 2024-01-02 OPTIONS/ [QQQ CALL 400 2024-06-21 x100]"},
		{"Format A long call", "SPY_C450_20240315,10,5.50,2024-02-01,OPTIONS,,SPY,450.00,2024-03-15,CALL,,", "SPY_C450_20240315 LC 10 @5.50 2024-02-01 OPTIONS/ [SPY CALL 450.00 2024-03-15 x100]"},
		{"Format A long put", "AAPL_P160_20240315,5,3.25,2024-02-05,OPTIONS,,AAPL,160.00,2024-03-15,PUT,,", "AAPL_P160_20240315 LP 5 @3.25 2024-02-05 OPTIONS/ [AAPL PUT 160.00 2024-03-15 x100]"},
		{"Format B derived symbol, quantity sign wins", ",10,8.75,2024-02-01,OPTIONS,,DIA,395.00,2024-08-16,CALL,,", "DIA_C395_20240816 LC 10 @8.75 2024-02-01 OPTIONS/ [DIA CALL 395.00 2024-08-16 x100]"},
		{"Format B short put", ",-5,9.40,2024-02-05,OPTIONS,,TSLA,250.00,2024-08-16,PUT,,", "TSLA_P250_20240816 SP -5 @9.40 2024-02-05 OPTIONS/ [TSLA PUT 250.00 2024-08-16 x100]"},
		{"Format B short call, fractional strike, lower case", ",-1,1.05,2024-02-05,options,,xyz,4.50,2024-08-16,call,,", "XYZ_C4.5_20240816 SC -1 @1.05 2024-02-05 OPTIONS/ [XYZ CALL 4.50 2024-08-16 x100]"},
		{"option type from subtype", ",1,1.05,2024-02-05,OPTIONS,put,QQQ,400,2024-08-16,,,", "QQQ_P400_20240816 LP 1 @1.05 2024-02-05 OPTIONS/PUT [QQQ PUT 400 2024-08-16 x100]"},
		{"subtype CALL gives OPTIONS", "QQQ_CALL,1,1.05,2024-02-05,,CALL,QQQ,400,2024-08-16,,,", "QQQ_CALL LC 1 @1.05 2024-02-05 OPTIONS/CALL [QQQ CALL 400 2024-08-16 x100]"},
		{"OCC symbol decoded", "AAPL240315P00160500,-3,2.10,2024-02-05,,,,,,,,", "AAPL240315P00160500 SP -3 @2.10 2024-02-05 OPTIONS/ [AAPL PUT 160.5 2024-03-15 x100]"},
		{"OCC symbol with explicit columns", "spy240315c00450000,1,2.10,2024-02-05,OPTIONS,,SPY,450,2024-03-15,CALL,,", "SPY240315C00450000 LC 1 @2.10 2024-02-05 OPTIONS/ [SPY CALL 450 2024-03-15 x100]"},
		{"closed position", "TSLA,50,185.00,2023-12-01,PUBLIC,STOCK,,,,,2024-01-15,215.00", "TSLA LONG 50 @185.00 2023-12-01 PUBLIC/STOCK exit 2024-01-15 @215.00"},
		{"closed position one comma short, as in the seed template", "TSLA,50,185.00,2023-12-01,PUBLIC,STOCK,,,,2024-01-15,215.00", "TSLA LONG 50 @185.00 2023-12-01 PUBLIC/STOCK exit 2024-01-15 @215.00"},
		{"closed position one comma short, blank class", "TSLA,50,185.00,2023-12-01,,,,,,2024-01-15,215.00", "TSLA LONG 50 @185.00 2023-12-01 PUBLIC/ exit 2024-01-15 @215.00"},
		{"exit on the entry day", "TSLA,50,185.00,2023-12-01,,,,,,,2023-12-01,186", "TSLA LONG 50 @185.00 2023-12-01 PUBLIC/ exit 2023-12-01 @186"},
		{"price with 4 decimals and trailing zeros", "VFIAX,250.000000,425.30000,2023-12-15,PUBLIC,MUTUAL_FUND,,,,,,", "VFIAX LONG 250.000000 @425.30000 2023-12-15 PUBLIC/MUTUAL_FUND"},
		{"largest quantity and price", "BIG,-999999999999999999.999999,9999999999999999.9999,2023-12-15,,,,,,,,", "BIG SHORT -999999999999999999.999999 @9999999999999999.9999 2023-12-15 PUBLIC/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			positions := mustParse(t, header12+tt.row+"\n", nil)
			if len(positions) != 1 {
				t.Fatalf("got %d positions, want 1", len(positions))
			}
			if got := positionSummary(positions[0]); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			checkInvariants(t, positions)
		})
	}
}

func TestParsePositionsClock(t *testing.T) {
	t.Parallel()
	// Today is the date of Now in Now's own location, not in UTC.
	kiribatiNewYear := time.Date(2025, 1, 1, 0, 30, 0, 0, time.FixedZone("UTC+14", 14*3600))      // 2024-12-31 in UTC
	hawaiiNewYearsEve := time.Date(2024, 12, 31, 20, 0, 0, 0, time.FixedZone("UTC-10", -10*3600)) // 2025-01-01 in UTC
	tests := []struct {
		name     string
		now      time.Time
		date     string
		wantCode Code
	}{
		{"today in a zone ahead of UTC", kiribatiNewYear, "2025-01-01", ""},
		{"tomorrow in a zone ahead of UTC", kiribatiNewYear, "2025-01-02", CodePos014},
		{"today in a zone behind UTC", hawaiiNewYearsEve, "2024-12-31", ""},
		{"UTC's today is tomorrow behind UTC", hawaiiNewYearsEve, "2025-01-01", CodePos014},
		{"100 years ago", kiribatiNewYear, "1925-01-01", ""},
		{"100 years and a day ago", kiribatiNewYear, "1924-12-31", CodePos015},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ve := parseString(t, header12+"AAPL,1,1.00,"+tt.date+"\n", fixedClock(tt.now))
			switch {
			case tt.wantCode == "" && ve != nil:
				t.Errorf("got %v, want success", ve)
			case tt.wantCode != "" && (ve == nil || len(ve.Errors) != 1 || ve.Errors[0].Code != tt.wantCode):
				t.Errorf("got %v, want %s", ve, tt.wantCode)
			}
		})
	}
}

func TestParsePositionsStrictNumbers(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"1e3", "1E3", "NaN", "nan", "Inf", "+Inf", "-Infinity", "0x10", `"1,000"`, "$5", "5$", "1 000", "1.", ".5", "--1", "+-1", "1.2.3", "１２", "1_000", "0b101", "12%", "(5)"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			_, ve := parseString(t, header12+"AAPL,"+v+","+v+",2024-01-02\n", nil)
			want := []wantErr{{2, 2, "Quantity", CodePos005}, {2, 2, "Entry Price Per Share", CodePos009}}
			if ve == nil {
				t.Fatalf("%s accepted", v)
			}
			if got := gotErrs(ve.Errors); !slices.Equal(got, want) {
				t.Errorf("errors = %v, want %v", got, want)
			}
		})
	}
}

// endlessReader yields 'a' forever and counts the bytes it handed out.
type endlessReader struct{ n int64 }

func (r *endlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	r.n += int64(len(p))
	return len(p), nil
}

func TestParsePositionsSizeLimit(t *testing.T) {
	t.Parallel()
	t.Run("endless input stops after the limit", func(t *testing.T) {
		t.Parallel()
		r := &endlessReader{}
		_, err := ParsePositions(r, nil)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Code != CodeCSV001 {
			t.Fatalf("err = %v, want %s", err, CodeCSV001)
		}
		if !strings.Contains(ve.Message, "10 MiB") {
			t.Errorf("message %q does not state the limit", ve.Message)
		}
		if r.n > DefaultMaxBytes+1 {
			t.Errorf("read %d bytes, want at most %d", r.n, DefaultMaxBytes+1)
		}
	})
	t.Run("endless valid rows stop at the row limit", func(t *testing.T) {
		t.Parallel()
		r := io.MultiReader(strings.NewReader(header12), &repeatReader{line: []byte("AAPL,1,1.00,2024-01-02\n")})
		_, err := ParsePositions(r, &ParseOptions{MaxRows: 100, Now: func() time.Time { return testNow }})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Code != CodeCSV001 || !strings.Contains(ve.Message, "100 data rows") {
			t.Fatalf("err = %v, want %s about 100 rows", err, CodeCSV001)
		}
	})
	// A file of exactly MaxBytes is accepted, one byte more is not.
	base := header12 + "AAPL,1,1.00,2024-01-02\n#"
	for _, tt := range []struct {
		name string
		size int
		ok   bool
	}{
		{"exactly 10 MiB", DefaultMaxBytes, true},
		{"10 MiB + 1 byte", DefaultMaxBytes + 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := base + strings.Repeat("x", tt.size-len(base)-1) + "\n"
			if len(in) != tt.size {
				t.Fatalf("built %d bytes", len(in))
			}
			positions, ve := parseString(t, in, nil)
			if tt.ok && (ve != nil || len(positions) != 1) {
				t.Errorf("got %v, want one position", ve)
			}
			if !tt.ok && (ve == nil || ve.Code != CodeCSV001) {
				t.Errorf("got %v, want %s", ve, CodeCSV001)
			}
		})
	}
}

// repeatReader yields line forever.
type repeatReader struct {
	line []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	return n, nil
}

func TestParsePositionsHugeField(t *testing.T) {
	t.Parallel()
	mb := strings.Repeat("9", 1<<20)
	tests := []struct {
		name string
		row  string
		want wantErr
	}{
		{"symbol", strings.Repeat("A", 1<<20) + ",1,1.00,2024-01-02,,,,,,,,", wantErr{2, 2, "Symbol", CodePos002}},
		{"quantity", "AAPL," + mb + ",1.00,2024-01-02,,,,,,,,", wantErr{2, 2, "Quantity", CodePos005}},
		{"quantity fraction", "AAPL,1." + mb + ",1.00,2024-01-02,,,,,,,,", wantErr{2, 2, "Quantity", CodePos007}},
		{"entry price", "AAPL,1," + mb + ",2024-01-02,,,,,,,,", wantErr{2, 2, "Entry Price Per Share", CodePos009}},
		{"entry date", "AAPL,1,1.00," + mb + ",,,,,,,,", wantErr{2, 2, "Entry Date", CodePos013}},
		{"class", "AAPL,1,1.00,2024-01-02," + mb + ",,,,,,,", wantErr{2, 2, "Investment Class", CodePos016}},
		{"subtype", "AAPL,1,1.00,2024-01-02,PUBLIC," + mb + ",,,,,,", wantErr{2, 2, "Investment Subtype", CodePos017}},
		{"underlying", ",1,1.00,2024-01-02,OPTIONS,," + strings.Repeat("A", 1<<20) + ",1,2024-06-21,CALL,,", wantErr{2, 2, "Underlying Symbol", CodePos019}},
		{"strike", "X,1,1.00,2024-01-02,OPTIONS,,SPY," + mb + ",2024-06-21,CALL,,", wantErr{2, 2, "Strike Price", CodePos020}},
		{"option type", "X,1,1.00,2024-01-02,OPTIONS,,SPY,1,2024-06-21," + mb + ",,", wantErr{2, 2, "Option Type", CodePos022}},
		{"quoted unknown column", "AAPL,1,1.00,2024-01-02,,,,,,,,,\"" + mb + "\"", wantErr{2, 2, "", CodeCSV006}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ve := parseString(t, header12+tt.row+"\n", nil)
			if ve == nil {
				t.Fatal("accepted")
			}
			if got := gotErrs(ve.Errors); !slices.Equal(got, []wantErr{tt.want}) {
				t.Fatalf("errors = %v, want %v", got, tt.want)
			}
			e := ve.Errors[0]
			if len(e.Value) > maxValueBytes || len(e.Symbol) > maxValueBytes {
				t.Errorf("Value has %d bytes, Symbol %d; want at most %d", len(e.Value), len(e.Symbol), maxValueBytes)
			}
			if len(ve.Error()) > 2000 {
				t.Errorf("Error() is %d bytes long", len(ve.Error()))
			}
		})
	}

	// An ignored column may be large; the position does not keep it.
	in := "Symbol,Notes,Quantity,Entry Price Per Share,Entry Date\nAAPL,\"" + mb + "\",1,1.00,2024-01-02\n"
	positions := mustParse(t, in, nil)
	if len(positions) != 1 || positions[0].Symbol != "AAPL" {
		t.Errorf("positions = %+v", positions)
	}
}

func TestParsePositionsOptions(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		o, err := (*ParseOptions)(nil).withDefaults()
		if err != nil || o.MaxRows != DefaultMaxRows || o.MaxBytes != DefaultMaxBytes || o.Now == nil {
			t.Errorf("withDefaults(nil) = %+v, %v", o, err)
		}
		if _, err := ParsePositions(strings.NewReader(header12+"AAPL,1,1.00,2024-01-02\n"), nil); err != nil {
			t.Errorf("nil options: %v", err)
		}
	})
	for _, o := range []ParseOptions{{MaxRows: -1}, {MaxBytes: -1}} {
		_, err := ParsePositions(strings.NewReader(header12), &o)
		var ve *ValidationError
		if err == nil || errors.As(err, &ve) {
			t.Errorf("options %+v: err = %v, want a configuration error", o, err)
		}
	}
}

// errReader fails after its data.
type errReader struct{ data io.Reader }

func (r errReader) Read(p []byte) (int, error) {
	n, err := r.data.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestParsePositionsReadError(t *testing.T) {
	t.Parallel()
	_, err := ParsePositions(errReader{strings.NewReader(header12 + "AAPL,1,1.00,2024-01-02\n")}, fixedClock(testNow))
	var ve *ValidationError
	if err == nil || errors.As(err, &ve) || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("err = %v, want the read error", err)
	}
}

// checkInvariants fails the test when a parsed position breaks a rule that
// every returned position must satisfy.
func checkInvariants(t testing.TB, positions []Position) {
	t.Helper()
	for _, p := range positions {
		if p.Quantity.IsZero() {
			t.Errorf("row %d: zero quantity", p.Row)
		}
		if p.EntryPrice.Sign() <= 0 {
			t.Errorf("row %d: entry price %s not positive", p.Row, p.EntryPrice)
		}
		if p.Symbol == "" || len(p.Symbol) > maxSymbolChars || !isSymbolText(p.Symbol) {
			t.Errorf("row %d: bad symbol %q", p.Row, p.Symbol)
		}
		if p.Row < 2 || p.Line < 2 {
			t.Errorf("row %d line %d: impossible position", p.Row, p.Line)
		}
		long := p.Quantity.Sign() > 0
		opt := p.Class == ClassOptions
		if (p.Multiplier == 100) != opt || (!opt && p.Multiplier != 1) {
			t.Errorf("row %d: multiplier %d for class %s", p.Row, p.Multiplier, p.Class)
		}
		var want PositionType
		switch {
		case opt && p.OptionType == OptionCall && long:
			want = PositionLongCall
		case opt && p.OptionType == OptionCall:
			want = PositionShortCall
		case opt && p.OptionType == OptionPut && long:
			want = PositionLongPut
		case opt && p.OptionType == OptionPut:
			want = PositionShortPut
		case opt:
			t.Errorf("row %d: option without option type", p.Row)
		case long:
			want = PositionLong
		default:
			want = PositionShort
		}
		if p.Type != want {
			t.Errorf("row %d: type %s, want %s", p.Row, p.Type, want)
		}
		if opt != (p.Strike != nil && p.Expiration != nil && p.Underlying != "") {
			t.Errorf("row %d: option fields do not match class %s", p.Row, p.Class)
		}
		if opt && (p.Strike.Sign() <= 0 || p.Expiration.Before(p.EntryDate)) {
			t.Errorf("row %d: bad contract", p.Row)
		}
		if (p.ExitDate == nil) != (p.ExitPrice == nil) {
			t.Errorf("row %d: exit date and price not together", p.Row)
		}
		if p.ExitDate != nil && (p.ExitDate.Before(p.EntryDate) || p.ExitPrice.Sign() <= 0) {
			t.Errorf("row %d: bad exit", p.Row)
		}
		if p.IsCash && p.Subtype != subtypeCash {
			t.Errorf("row %d: cash with subtype %q", p.Row, p.Subtype)
		}
		if p.Quantity.IntDigits() > maxQuantityIntDigit || p.EntryPrice.IntDigits() > maxPriceIntDigits {
			t.Errorf("row %d: number beyond the columns", p.Row)
		}
	}
}

// rowExpectation is what a "# Row N: CODES - why" comment promises for the
// data row that follows it.
type rowExpectation struct {
	row   int
	line  int    // physical line of the data row
	codes []Code // nil for VALID
}

// parseRowComments reads the "# Row N: ERR_XXX [ERR_YYY] - text" and
// "# Row N: VALID - text" comments of a fixture. The data row is the next
// line that is neither a comment nor blank.
func parseRowComments(t *testing.T, data []byte) []rowExpectation {
	t.Helper()
	var out []rowExpectation
	var pending *rowExpectation
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(text, "# Row "); ok {
			num, codes, ok := strings.Cut(rest, ":")
			n, err := strconv.Atoi(num)
			if !ok || err != nil {
				t.Fatalf("line %d: bad expectation comment %q", line, text)
			}
			e := rowExpectation{row: n}
			valid := false
			for f := range strings.FieldsSeq(codes) {
				switch {
				case f == "VALID":
					valid = true
				case strings.HasPrefix(f, "ERR_"):
					e.codes = append(e.codes, Code(strings.TrimRight(f, ",;")))
				default:
					goto done
				}
			}
		done:
			if valid == (len(e.codes) > 0) {
				t.Fatalf("line %d: want VALID or codes in %q", line, text)
			}
			pending = &e
			continue
		}
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if pending != nil {
			pending.line = line
			out = append(out, *pending)
			pending = nil
		}
	}
	if len(out) == 0 {
		t.Fatal("no '# Row N:' comments found")
	}
	return out
}

// checkRowComments parses data and checks that exactly the codes promised
// by its "# Row N:" comments come back, on those rows and lines, and that
// nothing is imported.
func checkRowComments(t *testing.T, data []byte, now time.Time) {
	t.Helper()
	expect := parseRowComments(t, data)
	positions, err := ParsePositions(bytes.NewReader(data), fixedClock(now))
	if positions != nil {
		t.Errorf("got %d positions with row errors, want none", len(positions))
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Code != CodeCSVValidation {
		t.Fatalf("err = %v, want %s", err, CodeCSVValidation)
	}
	got := map[int][]FieldError{}
	for _, e := range ve.Errors {
		got[e.Row] = append(got[e.Row], e)
	}
	for _, e := range expect {
		errs := got[e.row]
		delete(got, e.row)
		var codes []Code
		for _, fe := range errs {
			codes = append(codes, fe.Code)
			if fe.Line != e.line {
				t.Errorf("row %d: %s reported on line %d, want %d", e.row, fe.Code, fe.Line, e.line)
			}
		}
		if !slices.Equal(codes, e.codes) {
			t.Errorf("row %d (line %d): codes %v, want %v (%+v)", e.row, e.line, codes, e.codes, errs)
		}
	}
	for row, errs := range got {
		t.Errorf("row %d: unexpected errors %+v", row, errs)
	}
	if !slices.IsSortedFunc(ve.Errors, func(a, b FieldError) int { return a.Row - b.Row }) {
		t.Error("errors are not in row order")
	}
}

func TestParsePositionsFixtureTemplate(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "positions", "template.csv"))
	if err != nil {
		t.Fatal(err)
	}
	positions := mustParse(t, string(data), nil)
	checkInvariants(t, positions)
	want := []string{
		"2 6 IBM LONG 40 @141.25 2024-03-04 PUBLIC/STOCK",
		"3 8 QQQ LONG 12 @401.5 2024-03-05 PUBLIC/ETF",
		"4 10 GME SHORT -100 @17.3 2024-03-06 PUBLIC/STOCK",
		"5 12 QQQ_C420_20240621 LC 3 @6.15 2024-03-07 OPTIONS/ [QQQ CALL 420.00 2024-06-21 x100]",
		"6 14 IWM_P190.5_20240621 SP -2 @3.05 2024-03-07 OPTIONS/ [IWM PUT 190.50 2024-06-21 x100]",
		"7 16 AAPL240621C00200000 LC 1 @4.10 2024-03-08 OPTIONS/ [AAPL CALL 200 2024-06-21 x100]",
		"8 18 VMFXX LONG 2500 @1.00 2024-03-01 PUBLIC/CASH cash",
		"9 21 CASH_USD LONG 15000 @1 2024-03-01 PRIVATE/CASH cash",
		"10 23 INTC LONG 200 @43.10 2024-01-02 PUBLIC/STOCK exit 2024-02-15 @42.55",
		"11 25 ORCL LONG 15 @112.00 2024-03-11 PUBLIC/",
		"12 27 T_NOTE_2030 LONG 50 @97.8125 2024-03-12 PUBLIC/BOND",
		"13 28 FXAIX LONG 30 @178.9301 2024-03-12 PUBLIC/MUTUAL_FUND",
		"14 30 FARMLAND_LP LONG 1 @25000.00 2023-09-01 PRIVATE/REAL_ESTATE",
		"15 31 BTC_TRUST LONG 0.125 @61000.5 2024-03-13 PRIVATE/CRYPTO",
	}
	var got []string
	for _, p := range positions {
		got = append(got, fmt.Sprintf("%d %d %s", p.Row, p.Line, positionSummary(p)))
	}
	if !slices.Equal(got, want) {
		t.Errorf("positions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParsePositionsFixtureErrors(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "positions", "errors.csv"))
	if err != nil {
		t.Fatal(err)
	}
	checkRowComments(t, data, testNow)
}

func TestParsePositionsFixtureMultiline(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "positions", "multiline.csv"))
	if err != nil {
		t.Fatal(err)
	}
	positions := mustParse(t, string(data), nil)
	var got []string
	for _, p := range positions {
		got = append(got, fmt.Sprintf("%d %d %s", p.Row, p.Line, p.Symbol))
	}
	if want := []string{"2 3 MSFT", "3 7 AMZN"}; !slices.Equal(got, want) {
		t.Errorf("positions = %q, want %q", got, want)
	}
}

// seedDir returns the directory of the seed system's sample files, or skips.
func seedDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BACKFILL_SEED_DIR")
	if dir == "" {
		t.Skip("BACKFILL_SEED_DIR not set; set it to the seed-portfolios directory (.ci/run uses ../shared/seed-portfolios)")
	}
	return dir
}

// readSeed reads one seed file.
func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seedDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// seedNow is the clock for the seed files other than Conservative: 2026-11-29.
var seedNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestParsePositionsSeedSampleTemplate(t *testing.T) {
	t.Parallel()
	data := readSeed(t, "Sample_Template.csv")
	positions := mustParse(t, string(data), fixedClock(seedNow))
	checkInvariants(t, positions)
	want := []string{
		"AAPL LONG 100 @158.00 2024-01-15 PUBLIC/STOCK",
		"SPY LONG 50 @445.20 2024-01-20 PUBLIC/ETF",
		"SHOP SHORT -25 @62.50 2024-02-10 PUBLIC/STOCK",
		"SPY_C450_20240315 LC 10 @5.50 2024-02-01 OPTIONS/ [SPY CALL 450.00 2024-03-15 x100]",
		"AAPL_P160_20240315 LP 5 @3.25 2024-02-05 OPTIONS/ [AAPL PUT 160.00 2024-03-15 x100]",
		// The template's comment calls this a short call, but its quantity
		// is +10, and the sign decides.
		"DIA_C395_20240816 LC 10 @8.75 2024-02-01 OPTIONS/ [DIA CALL 395.00 2024-08-16 x100]",
		"TSLA_P250_20240816 SP -5 @9.40 2024-02-05 OPTIONS/ [TSLA PUT 250.00 2024-08-16 x100]",
		"SPAXX LONG 10000 @1.00 2024-01-01 PUBLIC/CASH cash",
		// Written with one comma too few; read as meant (see ParsePositions).
		"TSLA LONG 50 @185.00 2023-12-01 PUBLIC/STOCK exit 2024-01-15 @215.00",
		"MSFT LONG 75 @380.00 2024-01-22 PUBLIC/",
		"NVDA LONG 30 @450.00 2024-01-25 PUBLIC/",
		"CORP_BOND_2025 LONG 100 @98.50 2024-01-10 PUBLIC/BOND",
		"VFIAX LONG 250 @425.30 2023-12-15 PUBLIC/MUTUAL_FUND",
		"PRIVATE_FUND_A LONG 1 @50000.00 2023-06-01 PRIVATE/PRIVATE_EQUITY",
	}
	lines := strings.Split(string(data), "\n")
	var got []string
	for i, p := range positions {
		got = append(got, positionSummary(p))
		// Rows run 2..15 (the header is row 1); comment lines are skipped
		// but Line still points at the physical line.
		if p.Row != i+2 {
			t.Errorf("%s: Row %d, want %d", p.Symbol, p.Row, i+2)
		}
		if line := lines[p.Line-1]; strings.HasPrefix(line, "#") || !strings.Contains(line, p.EntryDate.Format(time.DateOnly)) {
			t.Errorf("%s: Line %d holds %q", p.Symbol, p.Line, line)
		}
	}
	// 14 data rows (Example 10 has two, the 13 examples one each), so the
	// last row number is 15.
	if !slices.Equal(got, want) {
		t.Errorf("positions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParsePositionsSeedConservative(t *testing.T) {
	t.Parallel()
	data := readSeed(t, "Conservative-Retiree-Portfolio.csv")
	// On 2025-11-15, 2026-12-31 (row 11) is in the future and 2025-06-30 is not.
	checkRowComments(t, data, time.Date(2025, 11, 15, 9, 30, 0, 0, time.UTC))
}

func TestParsePositionsSeedSchwabExport(t *testing.T) {
	t.Parallel()
	data := readSeed(t, "Test-Schwab-Robo-Advisor.csv")
	// A broker export, not the canonical format: its first line is a title,
	// taken as the header, so every required column is missing.
	_, ve := parseString(t, string(data), fixedClock(seedNow))
	if ve == nil {
		t.Fatal("ParsePositions succeeded, want ERR_CSV_004")
	}
	want := []wantErr{
		{1, 1, "Symbol", CodeCSV004},
		{1, 1, "Quantity", CodeCSV004},
		{1, 1, "Entry Price Per Share", CodeCSV004},
		{1, 1, "Entry Date", CodeCSV004},
	}
	if ve.Code != CodeCSV004 || !slices.Equal(gotErrs(ve.Errors), want) {
		t.Errorf("got %v\nwant %s %v", ve, CodeCSV004, want)
	}
	if wantMsg := "Missing required columns: Symbol, Quantity, Entry Price Per Share, Entry Date"; ve.Message != wantMsg {
		t.Errorf("Message = %q, want %q", ve.Message, wantMsg)
	}
}

func TestParsePositionsSeedOthers(t *testing.T) {
	t.Parallel()
	dir := seedDir(t)
	special := map[string]bool{
		"Sample_Template.csv":                true,
		"Conservative-Retiree-Portfolio.csv": true,
		"Test-Schwab-Robo-Advisor.csv":       true,
	}
	wantCount := map[string]int{
		"Diversified-Growth-Investor.csv":          52,
		"Tech-Focused-Professional.csv":            17,
		"Test-Schwab-Robo-Advisor-TRANSFORMED.csv": 25,
		"balanced_retirement_portfolio.csv":        10,
		"dividend_income_portfolio.csv":            9,
		"small_test_portfolio.csv":                 3,
		"tech_growth_portfolio.csv":                8,
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, path := range files {
		name := filepath.Base(path)
		if special[name] {
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			positions := mustParse(t, string(data), fixedClock(seedNow))
			checkInvariants(t, positions)
			if want, ok := wantCount[name]; ok && len(positions) != want {
				t.Errorf("got %d positions, want %d", len(positions), want)
			}
		})
	}
	if seen < len(wantCount) {
		t.Errorf("found %d other seed files, want at least %d", seen, len(wantCount))
	}
}
