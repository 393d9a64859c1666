package portfolio

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// brokerNow is the clock of the broker fixtures, dated in January 2024.
var brokerNow = func() time.Time { return time.Date(2024, 2, 1, 12, 0, 0, 0, time.UTC) }

func readBrokerFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "broker", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustImport(t *testing.T, data []byte, opts *ImportOptions) *Import {
	t.Helper()
	imp, err := ReadPositions(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("ReadPositions: %v", err)
	}
	return imp
}

func flowSummaries(fs []ImportedFlow) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Date.Format(time.DateOnly)+" "+f.Amount)
	}
	return out
}

func skippedLines(ss []SkippedRow) []string {
	var out []string
	for _, s := range ss {
		out = append(out, strconv.Itoa(s.Line)+" "+s.Reason)
	}
	return out
}

// TestReadPositionsBrokerFixtures converts each broker's fixture, detected
// automatically, to exactly the expected positions and flows.
func TestReadPositionsBrokerFixtures(t *testing.T) {
	t.Parallel()
	jan2 := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		file      string
		entryDate time.Time
		format    Format
		asOf      string
		want      []string // positionSummary, with the export line
		flows     []string
		skipped   []string
		warnings  int
	}{
		{
			file: "schwab_older.csv", format: FormatSchwab, asOf: "2024-01-12",
			want: []string{
				"4 AAPL LONG 1200 @150.0000 2024-01-12 PUBLIC/",
				"5 BRK.B LONG 10 @300.0000 2024-01-12 PUBLIC/",
				"6 TSLA SHORT -50 @250.0000 2024-01-12 PUBLIC/",
				"7 AAPL250117C00260000 LC 2 @3.5025 2024-01-12 OPTIONS/ [AAPL CALL 260.00 2025-01-17 x100]",
				"8 SPY240315P00450000 SP -1 @5.1500 2024-01-12 OPTIONS/ [SPY PUT 450.00 2024-03-15 x100]",
				"9 SWVXX LONG 5000.5 @1.00 2024-01-12 PUBLIC/",
				"10 CASH_USD LONG 57900.12 @1 2024-01-12 PUBLIC/CASH cash",
			},
			skipped:  []string{"1 preamble", "11 Account Total row"},
			warnings: 1, // SWVXX has no cost basis
		},
		{
			file: "fidelity_positions.csv", format: FormatFidelity, asOf: "2024-01-12",
			want: []string{
				"2 SPAXX LONG 5234.12 @1 2024-01-12 PUBLIC/CASH cash",
				"3 AAPL LONG 100 @150.0000 2024-01-12 PUBLIC/",
				"4 FXAIX LONG 25.123 @139.3146 2024-01-12 PUBLIC/",
				"5 AAPL250117C00250000 LC 2 @3.0000 2024-01-12 OPTIONS/ [AAPL CALL 250 2025-01-17 x100]",
				"6 SPY240315P00450000 SP -1 @5.0000 2024-01-12 OPTIONS/ [SPY PUT 450 2024-03-15 x100]",
			},
			skipped: []string{"7 pending activity, not a holding", "9 footer", "11 footer", "13 footer"},
		},
		{
			file: "ibkr_activity.csv", format: FormatIBKR, asOf: "2024-01-12", entryDate: jan2,
			want: []string{
				"12 AAPL LONG 100 @150.2500 2024-01-02 PUBLIC/",
				"14 MSFT SHORT -20 @380.5000 2024-01-02 PUBLIC/",
				"16 SPY250117P00560000 LP 2 @5.1025 2024-01-02 OPTIONS/ [SPY PUT 560 2025-01-17 x100]",
			},
			flows: []string{"2024-01-10 5000", "2024-01-11 -1500"},
		},
		{
			file: "vanguard_download.csv", format: FormatVanguard, entryDate: jan2,
			want: []string{
				"2 VFIAX LONG 10.5 @450.12 2024-01-02 PUBLIC/",
				"3 VBTLX LONG 100.001 @9.7500 2024-01-02 PUBLIC/",
				"4 VMFXX LONG 1234.56 @1 2024-01-02 PUBLIC/CASH cash",
			},
			flows:    []string{"2024-01-03 6000.00", "2024-01-09 1000.00", "2024-01-11 -250.00"},
			warnings: 2, // no cost basis in a Vanguard download
		},
		{
			file: "robinhood_activity.csv", format: FormatRobinhood,
			want: []string{
				"14 AAPL LONG 12 @183.2500 2024-01-03 PUBLIC/",
				"10 NVDA LONG 30 @48.0000 2024-01-05 PUBLIC/",
				"9 AAPL240216C00200000 LC 2 @2.5000 2024-01-08 OPTIONS/ [AAPL CALL 200.00 2024-02-16 x100]",
			},
			flows: []string{"2024-01-11 -500.00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			imp := mustImport(t, readBrokerFixture(t, tt.file), &ImportOptions{Now: brokerNow, EntryDate: tt.entryDate})
			if imp.Format != tt.format || !imp.Detected || imp.Signature == "" {
				t.Errorf("format %s detected=%v (%q), want %s detected", imp.Format, imp.Detected, imp.Signature, tt.format)
			}
			gotAsOf := ""
			if imp.AsOf != nil {
				gotAsOf = imp.AsOf.Format(time.DateOnly)
			}
			if gotAsOf != tt.asOf {
				t.Errorf("as of %q, want %q", gotAsOf, tt.asOf)
			}
			var got []string
			for _, p := range imp.Positions {
				got = append(got, strconv.Itoa(p.Line)+" "+positionSummary(p))
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("positions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			checkInvariants(t, imp.Positions)
			if got := flowSummaries(imp.Flows); !slices.Equal(got, tt.flows) {
				t.Errorf("flows %q, want %q", got, tt.flows)
			}
			if tt.skipped != nil {
				var got []string
				for _, s := range skippedLines(imp.Skipped) {
					if !strings.HasSuffix(s, "blank row") {
						got = append(got, s)
					}
				}
				if !slices.Equal(got, tt.skipped) {
					t.Errorf("skipped %q, want %q", got, tt.skipped)
				}
			}
			for _, s := range imp.Skipped {
				if s.Line == 0 || s.Reason == "" {
					t.Errorf("skipped row without line or reason: %+v", s)
				}
			}
			if len(imp.Warnings) != tt.warnings {
				t.Errorf("warnings %+v, want %d", imp.Warnings, tt.warnings)
			}
			for _, c := range imp.Checks {
				if !c.OK {
					t.Errorf("value check failed: %+v", c)
				}
			}
			// Forcing the format gives the same result.
			forced := mustImport(t, readBrokerFixture(t, tt.file), &ImportOptions{Now: brokerNow, EntryDate: tt.entryDate, Format: tt.format})
			if forced.Detected || len(forced.Positions) != len(imp.Positions) {
				t.Errorf("forced %s: detected=%v, %d positions", tt.format, forced.Detected, len(forced.Positions))
			}
		})
	}
}

// TestReadPositionsSkippedFlows: a Robinhood report's deposits before the
// first trade are part of the starting equity, and are reported as such.
func TestReadPositionsSkippedFlows(t *testing.T) {
	t.Parallel()
	imp := mustImport(t, readBrokerFixture(t, "robinhood_activity.csv"), &ImportOptions{Now: brokerNow})
	var got []string
	for _, s := range imp.Skipped {
		got = append(got, strconv.Itoa(s.Line)+" "+s.Reason)
	}
	want := []string{
		"16 activity \"INT\" is not a trade, split or ACH transfer",
		"17 capital flow on or before the inception date 2024-01-03: part of the starting equity",
		"18 capital flow on or before the inception date 2024-01-03: part of the starting equity",
		"19 blank row",
		"20 disclaimer",
	}
	if !slices.Equal(got, want) {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadPositionsEntryDateRule: the trade date where the export has one,
// else the given entry date, else the export's "as of" date, else an error.
func TestReadPositionsEntryDateRule(t *testing.T) {
	t.Parallel()
	schwab := readBrokerFixture(t, "schwab_older.csv")
	given := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
	if imp := mustImport(t, schwab, &ImportOptions{Now: brokerNow, EntryDate: given}); !imp.Positions[0].EntryDate.Equal(given) {
		t.Errorf("schwab with EntryDate: entry %s, want %s", imp.Positions[0].EntryDate, given)
	}
	rh := readBrokerFixture(t, "robinhood_activity.csv")
	for _, p := range mustImport(t, rh, &ImportOptions{Now: brokerNow, EntryDate: given}).Positions {
		if p.EntryDate.Equal(given) {
			t.Errorf("robinhood %s: entry date %s is the given one, want its trade date", p.Symbol, p.EntryDate)
		}
	}
	_, err := ReadPositions(bytes.NewReader(readBrokerFixture(t, "vanguard_download.csv")), &ImportOptions{Now: brokerNow})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Code != CodePos012 || len(ve.Errors) != 3 || !strings.Contains(ve.Message, "--entry-date") {
		t.Fatalf("vanguard without an entry date: %v, want ERR_POS_012 asking for --entry-date on its 3 holdings", err)
	}
	if ve.Errors[0].Line != 2 {
		t.Errorf("first error at line %d, want 2", ve.Errors[0].Line)
	}
}

// seedDirOrShared returns BACKFILL_SEED_DIR, else the shared seed folder
// beside the repository when it is there, else skips.
func seedDirOrShared(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("BACKFILL_SEED_DIR"); dir != "" {
		return dir
	}
	for _, dir := range []string{filepath.Join("..", "..", "shared", "seed-portfolios"), filepath.Join("..", "..", "..", "shared", "seed-portfolios")} {
		if _, err := os.Stat(filepath.Join(dir, "Test-Schwab-Robo-Advisor.csv")); err == nil {
			return dir
		}
	}
	t.Skip("BACKFILL_SEED_DIR not set; set it to the seed-portfolios directory (.ci/run uses ../shared/seed-portfolios)")
	return ""
}

// TestReadPositionsSchwabSeedTwin converts the real Schwab export and
// compares it with the file staff converted by hand: the same symbols,
// quantities and entry prices (within 0.01). The hand conversion put the
// cash line under SPAXX with its whole dollars; it is compared as cash.
func TestReadPositionsSchwabSeedTwin(t *testing.T) {
	t.Parallel()
	dir := seedDirOrShared(t)
	export, err := os.ReadFile(filepath.Join(dir, "Test-Schwab-Robo-Advisor.csv"))
	if err != nil {
		t.Fatal(err)
	}
	twinData, err := os.ReadFile(filepath.Join(dir, "Test-Schwab-Robo-Advisor-TRANSFORMED.csv"))
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC) }
	imp := mustImport(t, export, &ImportOptions{Now: now})
	if imp.Format != FormatSchwab {
		t.Fatalf("detected %s, want schwab", imp.Format)
	}
	if imp.AsOf == nil || imp.AsOf.Format(time.DateOnly) != "2025-11-16" {
		t.Errorf("as of %v, want 2025-11-16", imp.AsOf)
	}
	twin, err := ParsePositions(bytes.NewReader(twinData), &ParseOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(imp.Positions) != len(twin) {
		t.Fatalf("%d positions, the twin has %d", len(imp.Positions), len(twin))
	}
	for i, want := range twin {
		got := imp.Positions[i]
		if want.IsCash {
			if !got.IsCash || math.Abs(got.Quantity.Float64()*got.EntryPrice.Float64()-want.Quantity.Float64()*want.EntryPrice.Float64()) >= 1 {
				t.Errorf("cash: got %s, want %s", positionSummary(got), positionSummary(want))
			}
			continue
		}
		if got.Symbol != want.Symbol || got.Quantity.Cmp(want.Quantity) != 0 || got.Type != want.Type ||
			math.Abs(got.EntryPrice.Float64()-want.EntryPrice.Float64()) > 0.01 {
			t.Errorf("position %d: got %s, want %s", i, positionSummary(got), positionSummary(want))
		}
	}
	// The export rounds prices to cents, so the totals agree to a dollar.
	ev, _ := strconv.ParseFloat(imp.ExportValue, 64)
	cv, _ := strconv.ParseFloat(imp.ComputedValue, 64)
	if ev == 0 || math.Abs(ev-cv) > 1 {
		t.Errorf("totals: export %s, quantity × price %s", imp.ExportValue, imp.ComputedValue)
	}
	for _, c := range imp.Checks {
		if !c.OK {
			t.Errorf("value check failed: %+v", c)
		}
	}
}

func TestExportMoney(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"$1,200.50", "1200.50", true}, {"1,200", "1200", true}, {"+$5", "5", true}, {"-$3.10", "-3.10", true},
		{"($2,488.30)", "-2488.30", true}, {"$-5.00", "-5.00", true}, {"--", "", true}, {"N/A", "", true}, {"", "", true},
		{"€5", "", false}, {"5 CAD", "", false}, {"1e3", "", false}, {"$$5", "", false}, {"(-5)", "", false}, {"+-5", "", false},
	} {
		got, ok := exportMoney(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("exportMoney(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want Format
	}{
		{header12 + "AAPL,1,1,2024-01-02\n", FormatCanonical},
		{"# comment\nSymbol,Quantity\n", FormatCanonical},
		{"\"Symbol\",\"Description\",\"Qty (Quantity)\",\"Price\",\"Mkt Val (Market Value)\",\"Security Type\",\n", FormatSchwab},
		{"Statement,Header,Field Name,Field Value\n", FormatIBKR},
		{"Account Number,Investment Name,Symbol,Shares,Share Price,Total Value,\n", FormatVanguard},
		{"\xEF\xBB\xBFAccount Number,Account Name,Symbol,Description,Quantity,Last Price,Current Value\r\n", FormatFidelity},
		{"\"Activity Date\",\"Process Date\",\"Settle Date\",\"Instrument\",\"Description\",\"Trans Code\"\n", FormatRobinhood},
		{"Ticker|Units\n", FormatAuto},
		{"", FormatAuto},
	} {
		if got, _ := DetectFormat([]byte(tt.in)); got != tt.want {
			t.Errorf("DetectFormat(%.40q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestReadPositionsSchwabNewerNames reads the newer header names, a
// Positions Total row and a cost basis of "--".
func TestReadPositionsSchwabNewerNames(t *testing.T) {
	t.Parallel()
	in := `"Positions for account Roth IRA ...456 as of 11:52 AM ET, 2024/01/12"

"Symbol","Description","Mkt Val (Market Value)","Cost Basis","","Qty (Quantity)","Price","Security Type",
"msft","MICROSOFT CORP","$3,881.20","--","N/A","10","$388.12","Equity",
"Cash & Cash Investments","--","$1,000.00","--","--","--","--","Cash and Money Market",
"Positions Total","","$4,881.20","--","--","--","--","--",
`
	imp := mustImport(t, []byte(in), &ImportOptions{Now: brokerNow})
	var got []string
	for _, p := range imp.Positions {
		got = append(got, positionSummary(p))
	}
	want := []string{"MSFT LONG 10 @388.12 2024-01-12 PUBLIC/", "CASH_USD LONG 1000.00 @1 2024-01-12 PUBLIC/CASH cash"}
	if !slices.Equal(got, want) || len(imp.Warnings) != 1 || len(imp.Checks) != 1 || !imp.Checks[0].OK {
		t.Errorf("positions %q, warnings %+v, checks %+v; want %q, one warning, one check", got, imp.Warnings, imp.Checks, want)
	}
}

// TestReadPositionsRobinhoodWrittenOptions: STO opens a short contract, BTC
// closes part of it, OEXP closes an expired one.
func TestReadPositionsRobinhoodWrittenOptions(t *testing.T) {
	t.Parallel()
	in := `"Activity Date","Process Date","Settle Date","Instrument","Description","Trans Code","Quantity","Price","Amount"
"1/20/2024","1/20/2024","1/22/2024","SPY","Option Expiration for SPY 1/19/2024 Put $450.00","OEXP","1","",""
"1/10/2024","1/10/2024","1/11/2024","TSLA","TSLA 3/15/2024 Call $300.00","BTC","1","$1.00","($100.00)"
"1/5/2024","1/5/2024","1/8/2024","SPY","SPY 1/19/2024 Put $450.00","BTO","1","$0.80","($80.00)"
"1/4/2024","1/4/2024","1/5/2024","TSLA","TSLA 3/15/2024 Call $300.00","STO","3","$2.00","$600.00"
`
	imp := mustImport(t, []byte(in), &ImportOptions{Now: brokerNow})
	var got []string
	for _, p := range imp.Positions {
		got = append(got, positionSummary(p))
	}
	want := []string{"TSLA240315C00300000 SC -2 @2.0000 2024-01-04 OPTIONS/ [TSLA CALL 300.00 2024-03-15 x100]"}
	if !slices.Equal(got, want) {
		t.Errorf("positions %q, want %q", got, want)
	}
}

// TestReadPositionsConvertedRowsStayRows: a symbol that would read as a
// comment or carries a quote is validated like any other, not dropped.
func TestReadPositionsConvertedRowsStayRows(t *testing.T) {
	t.Parallel()
	in := "\"Positions for account X as of 09:35 PM ET, 01/12/2024\"\n\n" +
		"\"Symbol\",\"Quantity\",\"Price\",\"Market Value\",\"Cost Basis\",\"Security Type\",\n" +
		"\"#AAPL\",\"1\",\"$1.00\",\"$1.00\",\"$1.00\",\"Equity\",\n" +
		"\"MS\"\"FT\",\"1\",\"$1.00\",\"$1.00\",\"$1.00\",\"Equity\",\n" +
		"\"Account Total\",\"\",\"\",\"$2.00\",\"\",\"\",\n"
	_, err := ReadPositions(strings.NewReader(in), &ImportOptions{Now: brokerNow})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 2 || ve.Errors[0].Code != CodePos003 || ve.Errors[0].Line != 4 || ve.Errors[1].Line != 5 {
		t.Fatalf("err = %v, want ERR_POS_003 on lines 4 and 5", err)
	}
}
