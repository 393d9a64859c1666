package portfolio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// badInputDir holds the committed bad inputs; README.md there lists them.
var badInputDir = filepath.Join("testdata", "badinput")

// badHeader is the full 12-column header of the seed format.
const badHeader = "Symbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype,Underlying Symbol,Strike Price,Expiration Date,Option Type,Exit Date,Exit Price Per Share\n"

// badValidRow is a valid row the generated inputs put before the bad one, so
// that a partial import would show.
const badValidRow = "AAPL,100,158.00,2024-01-15,PUBLIC,STOCK,,,,,,\n"

// badInput is one input that must be rejected with a *ValidationError and
// write nothing.
type badInput struct {
	// name is the file in testdata/badinput, or a generated input's name.
	name string
	// gen makes a generated input; nil for a file.
	gen func() io.Reader
	// code is the ValidationError's top-level code.
	code portfolio.Code
	// rows are the row errors, as "ROW@LINE CODE", in order; nil for a
	// file-level error.
	rows []string
	// line is the line a file-level error names; 0 when it names none.
	line int
	// mention is a substring of the messages: it says what is wrong.
	mention string
}

// open returns the input.
func (b *badInput) open(t testing.TB) io.Reader {
	t.Helper()
	if b.gen != nil {
		return b.gen()
	}
	data, err := os.ReadFile(filepath.Join(badInputDir, b.name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(data)
}

// badRow is the row error of a committed ERR_POS file: row 3 on line 4 (a
// comment, the header and a valid row come first).
func badRow(code portfolio.Code) []string { return []string{"3@4 " + string(code)} }

// badInputs is the corpus: every file in testdata/badinput except ok_*,
// plus the inputs too large or too binary to commit.
var badInputs = []badInput{
	{name: "csv_001_over_10_mib (generated)", gen: overSizeInput, code: portfolio.CodeCSV001, mention: "File too large: the limit is 10 MiB"},
	{name: "csv_001_100000_rows (generated)", gen: func() io.Reader { return manyRowsInput(100_000) }, code: portfolio.CodeCSV001,
		line: portfolio.DefaultMaxRows + 2, mention: "Too many rows: the limit is 10000 data rows"},
	{name: "csv_002_latin1_symbol.csv", code: portfolio.CodeCSV002, line: 4, mention: "Line 4 is not valid UTF-8"},
	{name: "csv_002_utf16le_bom.csv", code: portfolio.CodeCSV002, line: 1, mention: "Line 1 contains NUL bytes"},
	{name: "csv_002_png_junk (generated)", gen: func() io.Reader { return junkInput("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") }, code: portfolio.CodeCSV002,
		line: 1, mention: "save the file as CSV UTF-8"},
	{name: "csv_002_zip_junk (generated)", gen: func() io.Reader { return junkInput("PK\x03\x04\x14\x00\x00\x00\x08\x00") }, code: portfolio.CodeCSV002,
		line: 1, mention: "the file is binary (or UTF-16)"},
	{name: "csv_003_header_only.csv", code: portfolio.CodeCSV003, mention: "no data rows"},
	{name: "csv_003_only_comments.csv", code: portfolio.CodeCSV003, mention: "CSV file is empty"},
	{name: "csv_004_missing_columns.csv", code: portfolio.CodeCSV004, line: 2, mention: "Missing required columns: Entry Price Per Share, Entry Date"},
	{name: "csv_005_duplicate_column.csv", code: portfolio.CodeCSV005, line: 2, mention: `Column "Quantity" appears twice`},
	{name: "csv_006_unbalanced_quote_eof.csv", code: portfolio.CodeCSV006, line: 4, mention: "never closed (unbalanced quotes)"},
	{name: "csv_006_semicolon.csv", code: portfolio.CodeCSV006, line: 2, mention: "';': use commas as the delimiter"},
	{name: "csv_006_tab.csv", code: portfolio.CodeCSV006, line: 2, mention: "tabs: use commas as the delimiter"},
	{name: "csv_006_extra_field.csv", code: portfolio.CodeCSVValidation, rows: []string{"3@4 ERR_CSV_006"},
		mention: "Row has a value in column 5 but the header names only 4 columns"},
	{name: "pos_001_symbol_missing.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos001), mention: "Symbol is required"},
	{name: "pos_002_symbol_too_long.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos002), mention: "at most 100 characters"},
	{name: "pos_003_symbol_charset.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos003), mention: "invalid characters"},
	{name: "pos_004_quantity_missing.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos004), mention: "Quantity is required"},
	{name: "pos_005_quantity_not_a_number.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos005), mention: "Quantity must be a valid number"},
	{name: "pos_006_quantity_zero.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos006), mention: "Quantity cannot be zero"},
	{name: "pos_007_quantity_scale.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos007), mention: "too many decimal places (max 6)"},
	{name: "pos_008_entry_price_missing.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos008), mention: "Entry price is required"},
	{name: "pos_009_entry_price_not_a_number.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos009), mention: "no exponent, thousands separators or currency symbols"},
	{name: "pos_010_entry_price_negative.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos010), mention: "Entry price must be positive"},
	{name: "pos_011_entry_price_scale.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos011), mention: "too many decimal places (max 4)"},
	{name: "pos_012_entry_date_missing.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos012), mention: "Entry date is required"},
	{name: "pos_013_entry_date_invalid.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos013), mention: "YYYY-MM-DD"},
	{name: "pos_014_entry_date_future.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos014), mention: "cannot be in the future"},
	{name: "pos_015_entry_date_too_old.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos015), mention: "more than 100 years in the past"},
	{name: "pos_016_class_invalid.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos016), mention: "PUBLIC, OPTIONS or PRIVATE"},
	{name: "pos_017_subtype_invalid.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos017), mention: "not valid for PUBLIC"},
	{name: "pos_018_exit_before_entry.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos018), mention: "Exit date cannot be before the entry date"},
	{name: "pos_019_underlying_missing.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos019), mention: "Underlying symbol is required"},
	{name: "pos_020_strike_invalid.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos020), mention: "Strike price must be a valid number"},
	{name: "pos_021_expiration_invalid.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos021), mention: "Expiration date must be a valid date"},
	{name: "pos_022_option_type_invalid.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos022), mention: "CALL or PUT"},
	{name: "pos_023_duplicate.csv", code: portfolio.CodeCSVValidation, rows: badRow(portfolio.CodePos023), mention: "same symbol and entry date as row 2"},
	{name: "formula_injection.csv", code: portfolio.CodeCSVValidation, rows: []string{
		"3@4 ERR_POS_003", "4@5 ERR_POS_003", "5@6 ERR_POS_003", "6@7 ERR_POS_003", "7@8 ERR_POS_003",
		"8@9 ERR_POS_005", "9@10 ERR_POS_005", "10@11 ERR_POS_005", "11@12 ERR_POS_005",
	}, mention: "Symbol contains invalid characters"},
	{name: "huge_symbol_1mb (generated)", gen: func() io.Reader {
		return strings.NewReader(badHeader + badValidRow + strings.Repeat("A", 1<<20) + ",10,1.00,2024-01-02,,,,,,,,\n")
	}, code: portfolio.CodeCSVValidation, rows: []string{"3@3 ERR_POS_002"}, mention: "Symbol must be at most 100 characters"},
	{name: "huge_quoted_field_5mb (generated)", gen: func() io.Reader {
		// Commas and line breaks inside the quotes: 1.3 million physical
		// lines in one field; the next row's line number must follow.
		return strings.NewReader(badHeader + badValidRow + `"` + strings.Repeat("AB,\n", 5<<20/4) + `",10,1.00,2024-01-02,,,,,,,,` + "\n" +
			"MSFT,0,1.00,2024-01-02,,,,,,,,\n")
	}, code: portfolio.CodeCSVValidation, rows: []string{"3@3 ERR_POS_002", fmt.Sprintf("4@%d ERR_POS_006", 3+5<<20/4+1)},
		mention: "Symbol must be at most 100 characters"},
}

// overSizeInput is a valid file made larger than 10 MiB by comment lines,
// which count towards the size but not the rows.
func overSizeInput() io.Reader {
	comment := "# " + strings.Repeat("x", 1021) + "\n"
	return io.MultiReader(
		strings.NewReader(badHeader+badValidRow),
		io.LimitReader(&lineRepeater{line: []byte(comment)}, portfolio.DefaultMaxBytes+int64(len(comment))),
	)
}

// manyRowsInput is a valid file of n data rows with distinct symbols.
func manyRowsInput(n int) io.Reader {
	var b bytes.Buffer
	b.Grow(40 + n*26)
	b.WriteString("Symbol,Quantity,Entry Price Per Share,Entry Date\n")
	for i := range n {
		fmt.Fprintf(&b, "S%06d,%d,%d.25,2024-01-02\n", i, 1+i%500, 1+i%900)
	}
	return &b
}

// junkInput is 64 KiB of deterministic random bytes after a binary file's
// magic header.
func junkInput(magic string) io.Reader {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return io.MultiReader(strings.NewReader(magic), bytes.NewReader(b))
}

// lineRepeater yields line forever.
type lineRepeater struct {
	line []byte
	off  int
}

func (r *lineRepeater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	return n, nil
}

// checkBadInput checks err against b: a *ValidationError with b's codes,
// lines and a message that says what is wrong.
func checkBadInput(t *testing.T, via string, b *badInput, err error) {
	t.Helper()
	var ve *portfolio.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%s: err = %v (%T), want a *ValidationError", via, err, err)
	}
	if ve.Code != b.code {
		t.Fatalf("%s: code %s, want %s; error: %.500s", via, ve.Code, b.code, ve.Error())
	}
	if ve.Message == "" || ve.Error() == "" || len(ve.Errors) == 0 {
		t.Fatalf("%s: incomplete ValidationError %+v", via, ve)
	}
	if n := len(ve.Error()); n > 2000 {
		t.Errorf("%s: Error() is %d bytes long", via, n)
	}
	messages := []string{ve.Message}
	for _, fe := range ve.Errors {
		if fe.Code == "" || fe.Message == "" || fe.Message == string(fe.Code) {
			t.Errorf("%s: FieldError without a code or message: %+v", via, fe)
		}
		if len(fe.Value) > 100 || len(fe.Symbol) > 100 {
			t.Errorf("%s: FieldError keeps %d bytes of value and %d of symbol, want at most 100", via, len(fe.Value), len(fe.Symbol))
		}
		messages = append(messages, fe.Message)
	}
	if all := strings.Join(messages, "\n"); !strings.Contains(all, b.mention) {
		t.Errorf("%s: messages do not mention %q:\n%s", via, b.mention, all)
	}
	if b.rows == nil {
		// A file-level error: the summary says it all, and names the line.
		if !strings.Contains(ve.Message, b.mention) {
			t.Errorf("%s: message %q does not mention %q", via, ve.Message, b.mention)
		}
		for _, fe := range ve.Errors {
			if fe.Code != b.code {
				t.Errorf("%s: file-level error lists %s, want %s", via, fe.Code, b.code)
			}
		}
		if got := ve.Errors[0].Line; got != b.line {
			t.Errorf("%s: error names line %d, want %d", via, got, b.line)
		}
		return
	}
	var got []string
	for _, fe := range ve.Errors {
		got = append(got, fmt.Sprintf("%d@%d %s", fe.Row, fe.Line, fe.Code))
	}
	if !slices.Equal(got, b.rows) {
		t.Errorf("%s: row errors %q, want %q", via, got, b.rows)
	}
}

// TestBadInputs feeds every bad input to ParsePositions and to Onboard on a
// real database: each is rejected with its code, and nothing is written.
func TestBadInputs(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := newClient(t, db)
	opts := &portfolio.ParseOptions{Now: fixedNow}
	for i := range badInputs {
		b := &badInputs[i]
		// Sequential: a row written by one input must not be blamed on
		// another.
		t.Run(b.name, func(t *testing.T) {
			positions, err := portfolio.ParsePositions(b.open(t), opts)
			if positions != nil {
				t.Errorf("ParsePositions returned %d positions with its error", len(positions))
			}
			checkBadInput(t, "ParsePositions", b, err)

			req := request(fmt.Sprintf("bad-%d", i), "")
			req.CSV = b.open(t)
			res, err := c.Onboard(context.Background(), req)
			if res != nil {
				t.Errorf("Onboard returned %+v with its error", res)
			}
			checkBadInput(t, "Onboard", b, err)
			for table, n := range tableCounts(t, db) {
				if n != 0 {
					t.Fatalf("after %s: %s has %d rows, want none", b.name, table, n)
				}
			}
		})
	}
}

// TestBadInputCorpusComplete keeps the table, the directory and its README
// in step.
func TestBadInputCorpusComplete(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(badInputDir, "*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(badInputDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, b := range badInputs {
		listed[b.name] = true
	}
	for _, name := range okInputs {
		listed[name] = true
	}
	for _, path := range files {
		name := filepath.Base(path)
		if !listed[name] {
			t.Errorf("%s is not in the test table", name)
		}
		if !bytes.Contains(readme, []byte("`"+name+"`")) {
			t.Errorf("%s is not in README.md", name)
		}
		delete(listed, name)
	}
	for _, b := range badInputs {
		if b.gen == nil && listed[b.name] {
			t.Errorf("%s is in the table but not in %s", b.name, badInputDir)
		}
	}
	// Every code of the seed format has an input.
	codes := map[string]bool{}
	for _, b := range badInputs {
		codes[string(b.code)] = true
		for _, r := range b.rows {
			codes[r[strings.IndexByte(r, ' ')+1:]] = true
		}
	}
	for i := 1; i <= 23; i++ {
		if c := fmt.Sprintf("ERR_POS_%03d", i); !codes[c] {
			t.Errorf("no input for %s", c)
		}
	}
	for i := 1; i <= 6; i++ {
		if c := fmt.Sprintf("ERR_CSV_%03d", i); !codes[c] {
			t.Errorf("no input for %s", c)
		}
	}
}

// okInputs are odd but valid files of testdata/badinput.
var okInputs = []string{"ok_mixed_crlf_lf.csv"}

// TestBadInputMixedLineEnds: CRLF and LF lines in one file are accepted,
// with physical line numbers.
func TestBadInputMixedLineEnds(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(badInputDir, "ok_mixed_crlf_lf.csv"))
	if err != nil {
		t.Fatal(err)
	}
	positions, err := portfolio.ParsePositions(bytes.NewReader(data), &portfolio.ParseOptions{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range positions {
		got = append(got, fmt.Sprintf("%d@%d %s %s", p.Row, p.Line, p.Symbol, p.Quantity))
	}
	if want := []string{"2@3 AAPL 100", "3@4 MSFT 10", "4@5 TSLA 5"}; !slices.Equal(got, want) {
		t.Errorf("positions %q, want %q", got, want)
	}

	db := portfoliotest.NewDB(t)
	res, err := newClient(t, db).Onboard(context.Background(), request("Mixed", string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if n := tableCounts(t, db)["positions"]; res.PositionsImported != 3 || n != 3 {
		t.Errorf("imported %d, stored %d positions; want 3", res.PositionsImported, n)
	}
}

// TestBadInputRowLimitRaised: the 100,000-row file that the default limit
// rejects imports once Config.MaxRows allows it, in reasonable time.
func TestBadInputRowLimitRaised(t *testing.T) {
	t.Parallel()
	const rows = 100_000
	start := time.Now()
	positions, err := portfolio.ParsePositions(manyRowsInput(rows), &portfolio.ParseOptions{Now: fixedNow, MaxRows: rows})
	if err != nil || len(positions) != rows {
		t.Fatalf("ParsePositions: %d positions, %.300v", len(positions), err)
	}
	parsed := time.Since(start)

	db := portfoliotest.NewDB(t)
	c, err := portfolio.NewClient(db.Pool, &portfolio.Config{Now: fixedNow, MaxRows: rows})
	if err != nil {
		t.Fatal(err)
	}
	req := request("Large", "")
	req.CSV = manyRowsInput(rows)
	start = time.Now()
	res, err := c.Onboard(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	onboarded := time.Since(start)
	t.Logf("%d rows: parsed in %v, onboarded in %v", rows, parsed, onboarded)
	if n := tableCounts(t, db)["positions"]; res.PositionsImported != rows || n != rows {
		t.Errorf("imported %d, stored %d positions; want %d", res.PositionsImported, n, rows)
	}
	// Generous bounds: they catch a quadratic slip, not a slow machine.
	if parsed > 5*time.Second || onboarded > 20*time.Second {
		t.Errorf("too slow: parse %v (want < 5s), onboard %v (want < 20s)", parsed, onboarded)
	}
}
