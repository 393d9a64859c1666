package portfolio

import (
	"testing"
)

// Symbols are upper-cased on input, so that aapl and AAPL are one symbol:
// stored, priced and checked for duplicates as one.
func TestParsePositionsUpperCasesSymbols(t *testing.T) {
	t.Parallel()
	positions := mustParse(t, header12+
		"aapl,10,187.25,2024-01-02,,,,,,,,\n"+
		"Brk.b,5,350.00,2024-01-02,PUBLIC,STOCK,,,,,,\n"+
		"cash_usd,1000,1,2024-01-02,,,,,,,,\n"+
		",1,2.50,2024-01-02,OPTIONS,,spy,470,2024-03-15,call,,\n"+
		"spy240315p00460000,-1,3.10,2024-01-02,,,,,,,,\n", nil)
	want := []struct{ symbol, underlying string }{
		{"AAPL", ""}, {"BRK.B", ""}, {"CASH_USD", ""}, {"SPY_C470_20240315", "SPY"}, {"SPY240315P00460000", "SPY"},
	}
	if len(positions) != len(want) {
		t.Fatalf("%d positions, want %d", len(positions), len(want))
	}
	for i, w := range want {
		if p := positions[i]; p.Symbol != w.symbol || p.Underlying != w.underlying {
			t.Errorf("row %d: symbol %q underlying %q, want %q %q", p.Row, p.Symbol, p.Underlying, w.symbol, w.underlying)
		}
	}
}

func TestParsePositionsDuplicateAcrossCase(t *testing.T) {
	t.Parallel()
	for name, csv := range map[string]string{
		"symbol": header12 + "AAPL,10,187.25,2024-01-02,,,,,,,,\naapl,5,187.25,2024-01-02,,,,,,,,\n",
		"option": header12 + ",1,2.50,2024-01-02,OPTIONS,,SPY,470,2024-03-15,CALL,,\n" +
			",2,2.50,2024-01-02,OPTIONS,,spy,470,2024-03-15,call,,\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, ve := parseString(t, csv, nil)
			if ve == nil {
				t.Fatal("no error for the same symbol in two cases")
			}
			got := gotErrs(ve.Errors)
			if len(got) != 1 || got[0].Code != CodePos023 || got[0].Row != 3 {
				t.Errorf("errors %v, want one %s on row 3", got, CodePos023)
			}
		})
	}
}
