package portfolio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func brokerFixture(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "broker", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// brokerClient's clock is in February 2024, after the fixtures' dates.
func brokerClient(t testing.TB, db *portfoliotest.DB) *portfolio.Client {
	t.Helper()
	c, err := portfolio.NewClient(db.Pool, &portfolio.Config{Now: func() time.Time { return time.Date(2024, 2, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOnboardBrokerExports onboards each broker fixture, detected
// automatically: its positions and flows are written with the portfolio.
func TestOnboardBrokerExports(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := brokerClient(t, db)
	ctx := context.Background()
	jan2 := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		file      string
		entryDate time.Time
		format    portfolio.Format
		positions int
		flows     int
	}{
		{"schwab_older.csv", time.Time{}, portfolio.FormatSchwab, 7, 0},
		{"fidelity_positions.csv", time.Time{}, portfolio.FormatFidelity, 5, 0},
		{"ibkr_activity.csv", jan2, portfolio.FormatIBKR, 3, 2},
		{"vanguard_download.csv", jan2, portfolio.FormatVanguard, 3, 3},
		{"robinhood_activity.csv", time.Time{}, portfolio.FormatRobinhood, 3, 1},
	} {
		req := request("acct-"+tt.file, brokerFixture(t, tt.file))
		req.EntryDate = tt.entryDate
		res, err := c.Onboard(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if res.Format != tt.format || res.PositionsImported != tt.positions || res.FlowsImported != tt.flows {
			t.Errorf("%s: format %s, %d positions, %d flows; want %s, %d, %d", tt.file, res.Format, res.PositionsImported, res.FlowsImported, tt.format, tt.positions, tt.flows)
		}
		var positions, flows int
		var sum string
		err = db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM backfill.positions WHERE portfolio_id = $1),
			(SELECT count(*) FROM backfill.capital_flows WHERE portfolio_id = $1),
			(SELECT coalesce(sum(amount), 0)::text FROM backfill.capital_flows WHERE portfolio_id = $1)`, res.PortfolioID).Scan(&positions, &flows, &sum)
		if err != nil {
			t.Fatal(err)
		}
		if positions != tt.positions || flows != tt.flows {
			t.Errorf("%s: stored %d positions and %d flows, want %d and %d", tt.file, positions, flows, tt.positions, tt.flows)
		}
		if tt.file == "vanguard_download.csv" && sum != "6750.0000" {
			t.Errorf("vanguard flows sum to %s, want 6750.0000", sum)
		}
	}
}

// brokerBadInputs are broken variants of the fixtures, per format: a
// truncated file, no quantity column, a non-USD row, an option symbol that
// cannot be read.
var brokerBadInputs = []struct {
	name    string
	file    string
	edit    func(string) string
	code    portfolio.Code
	rowCode portfolio.Code
	mention string
}{
	{"schwab/truncated", "schwab_older.csv", cutAfterLine(6), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "truncated"},
	{"schwab/truncated in a field", "schwab_older.csv", cutAt(`"BERKSHIRE HATH`), portfolio.CodeCSV006, "", "truncated"},
	{"schwab/no quantity", "schwab_older.csv", replace(`"Quantity",`, `"Shares Held",`), portfolio.CodeCSV004, "", "Quantity"},
	{"schwab/non-USD", "schwab_older.csv", replace(`"$223,104.00"`, `"€223.104,00"`), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "USD"},
	{"schwab/unknown option", "schwab_older.csv", replace(`AAPL 01/17/2025 260.00 C`, `AAPL JAN 17 2025 260.00 CALL`), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "Schwab's form"},
	{"fidelity/truncated", "fidelity_positions.csv", cutAt("FIDELITY 500"), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "truncated"},
	{"fidelity/truncated to one field", "fidelity_positions.csv", func(s string) string { return s[:strings.Index(s, "Z12345678,Individual,FXAIX")+5] }, portfolio.CodeCSVValidation, portfolio.CodeFormat002, "truncated"},
	{"fidelity/no quantity", "fidelity_positions.csv", replace(",Quantity,", ",Qty Held,"), portfolio.CodeCSV004, "", "Quantity"},
	{"fidelity/non-USD", "fidelity_positions.csv", replace("$185.92", "£185.92"), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "USD"},
	{"fidelity/unknown option", "fidelity_positions.csv", replace("-AAPL250117C250", "-AAPL2501X7C250"), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "Fidelity's form"},
	{"ibkr/truncated", "ibkr_activity.csv", cutAt("Open Positions,Header"), portfolio.CodeCSV003, "", "truncated"},
	{"ibkr/no quantity", "ibkr_activity.csv", replace("Symbol,Quantity,Mult", "Symbol,Position,Mult"), portfolio.CodeCSV004, "", "Quantity"},
	{"ibkr/non-USD", "ibkr_activity.csv", replace("Summary,Stocks,USD,MSFT", "Summary,Stocks,EUR,MSFT"), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "only USD"},
	{"ibkr/unknown option", "ibkr_activity.csv", replace("SPY 17JAN25 560 P", "SPY 2025-01-17 560 PUT"), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "IBKR's form"},
	{"vanguard/truncated", "vanguard_download.csv", cutAfterLine(1), portfolio.CodeCSV003, "", "truncated"},
	{"vanguard/no quantity", "vanguard_download.csv", replace("Symbol,Shares,Share Price,Total Value", "Symbol,Units,Share Price,Total Value"), portfolio.CodeCSV004, "", "Shares"},
	{"vanguard/non-USD", "vanguard_download.csv", replace("4726.26", "€4726.26"), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "USD"},
	{"vanguard/unknown option", "vanguard_download.csv", replace(",VFIAX,", ",VFIAX 250117C450,"), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "not a ticker"},
	{"robinhood/truncated", "robinhood_activity.csv", cutAt("CUSIP: 67066G104\nStock"), portfolio.CodeCSV006, "", "truncated"},
	{"robinhood/no quantity", "robinhood_activity.csv", replace(`"Quantity"`, `"Qty"`), portfolio.CodeCSV004, "", "Quantity"},
	{"robinhood/non-USD", "robinhood_activity.csv", replace("($1,840.00)", "(€1,840.00)"), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "USD"},
	{"robinhood/unknown option", "robinhood_activity.csv", replace(`"AAPL 2/16/2024 Call $200.00","BTO"`, `"AAPL Feb 16 Call","BTO"`), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "Robinhood's form"},
	{"robinhood/sold more than bought", "robinhood_activity.csv", replace(`"Sell","4"`, `"Sell","40"`), portfolio.CodeCSVValidation, portfolio.CodeFormat002, "full history"},
	{"unrecognised", "", func(string) string { return "Ticker|Units\nAAPL|5\n" }, portfolio.CodeFormat001, "", "robinhood"},
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic(fmt.Sprintf("fixture has no %q", old))
		}
		return strings.Replace(s, old, new, 1)
	}
}

func cutAt(marker string) func(string) string {
	return func(s string) string {
		i := strings.Index(s, marker)
		if i < 0 {
			panic(fmt.Sprintf("fixture has no %q", marker))
		}
		return s[:i+len(marker)/2]
	}
}

func cutAfterLine(n int) func(string) string {
	return func(s string) string {
		lines := strings.SplitAfter(s, "\n")
		return strings.Join(lines[:n], "")
	}
}

// TestOnboardBrokerBadInputs: each broken export is rejected with a clear
// error, by ReadPositions and by Onboard, and nothing is written.
func TestOnboardBrokerBadInputs(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := brokerClient(t, db)
	for i, b := range brokerBadInputs {
		t.Run(b.name, func(t *testing.T) {
			input := ""
			if b.file != "" {
				input = brokerFixture(t, b.file)
			}
			input = b.edit(input)
			req := request(fmt.Sprintf("bad-%d", i), input)
			req.EntryDate = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
			res, err := c.Onboard(context.Background(), req)
			if res != nil {
				t.Errorf("Onboard returned %+v with its error", res)
			}
			var ve *portfolio.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v (%T), want a *ValidationError", err, err)
			}
			if ve.Code != b.code {
				t.Fatalf("code %s, want %s: %v", ve.Code, b.code, ve)
			}
			all := ve.Message
			for _, fe := range ve.Errors {
				if fe.Code == "" || fe.Message == "" {
					t.Errorf("FieldError without code or message: %+v", fe)
				}
				if b.rowCode != "" && (fe.Code != b.rowCode || fe.Line == 0) {
					t.Errorf("row error %+v, want %s with a line", fe, b.rowCode)
				}
				all += "\n" + fe.Message
			}
			if len(ve.Errors) == 0 || !strings.Contains(all, b.mention) {
				t.Errorf("messages do not mention %q:\n%s", b.mention, all)
			}
			for table, n := range tableCounts(t, db) {
				if n != 0 {
					t.Fatalf("%s has %d rows, want none", table, n)
				}
			}
			if _, err := portfolio.ReadPositions(bytes.NewReader([]byte(input)), &portfolio.ImportOptions{EntryDate: req.EntryDate}); err == nil {
				t.Errorf("ReadPositions accepted it")
			}
		})
	}
}

// TestOnboardForcedFormat: a forced format reads a file that detection
// would read otherwise, and an unknown format name is a clear error.
func TestOnboardForcedFormat(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	c := brokerClient(t, db)
	req := request("forced", brokerFixture(t, "schwab_older.csv"))
	req.Format = portfolio.FormatCanonical
	_, err := c.Onboard(context.Background(), req)
	var ve *portfolio.ValidationError
	if !errors.As(err, &ve) || ve.Code != portfolio.CodeCSV004 {
		t.Fatalf("Schwab export forced as canonical: %v, want ERR_CSV_004", err)
	}
	req = request("forced", sampleCSV)
	req.Format = "quicken"
	_, err = c.Onboard(context.Background(), req)
	if !errors.As(err, &ve) || ve.Code != portfolio.CodeFormat001 || !strings.Contains(ve.Message, "schwab, fidelity, ibkr, vanguard, robinhood") {
		t.Fatalf("unknown format: %v, want ERR_FORMAT_001 listing the formats", err)
	}
	assertNoRows(t, db)
}
