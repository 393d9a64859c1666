package batch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func symbolCount(t *testing.T, db *portfoliotest.DB) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM backfill.symbols`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportSymbolsValid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	res, err := ImportSymbolFiles(ctx, db.Pool, []string{"testdata/symbols/good.csv", "testdata/symbols/bom_crlf.csv"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Rows != 5 || res[0].Inserted != 5 || res[1].Rows != 2 || res[1].Inserted != 2 {
		t.Fatalf("results = %+v", res)
	}
	syms, err := ListSymbols(ctx, db.Pool, "")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Symbol{}
	for _, s := range syms {
		by[s.Symbol] = s
	}
	aapl := by["AAPL"]
	if aapl.Sector != "Information Technology" || aapl.AssetType != AssetStock || aapl.Currency != "USD" ||
		aapl.Beta == nil || *aapl.Beta != 1.24 || aapl.MarketCap == nil || *aapl.MarketCap != 2.95e12 || aapl.Industry != "Consumer Electronics" {
		t.Errorf("AAPL = %+v", aapl)
	}
	if s := by["JNJ"]; s.Sector != "Health Care" || s.Name != "Sample Johnson & Johnson (synthetic)" {
		t.Errorf("JNJ = %+v", s)
	}
	if s := by["SPY"]; s.AssetType != AssetETF || s.Sector != "" || s.MarketCap != nil {
		t.Errorf("SPY = %+v", s)
	}
	if s := by["MSFT"]; s.Sector != "Information Technology" || *s.Beta != 1.1 || s.Name != "" {
		t.Errorf("MSFT (BOM, CRLF) = %+v", s)
	}

	// Again: nothing changes. Then a file with only some columns updates
	// those and keeps the others.
	res, err = ImportSymbolFiles(ctx, db.Pool, []string{"testdata/symbols/good.csv"}, nil)
	if err != nil || res[0].Unchanged != 5 {
		t.Fatalf("second import = %+v, %v", res, err)
	}
	r, err := ImportSymbols(ctx, db.Pool, strings.NewReader("Symbol,Beta\nAAPL,1.30\nNEW,\n"), "partial.csv", nil)
	if err != nil || r.Updated != 1 || r.Inserted != 1 {
		t.Fatalf("partial import = %+v, %v", r, err)
	}
	syms, _ = ListSymbols(ctx, db.Pool, "")
	for _, s := range syms {
		if s.Symbol == "AAPL" && (*s.Beta != 1.3 || s.Sector != "Information Technology" || s.Name == "") {
			t.Errorf("AAPL after a beta-only import = %+v", s)
		}
	}

	// SaveSymbols validates like a file.
	bad := 7.0
	if _, err := SaveSymbols(ctx, db.Pool, []Symbol{{Symbol: "x", Sector: "Astrology", MarketCap: &bad}}, nil); err == nil {
		t.Error("SaveSymbols accepted an unknown sector")
	}
	if r, err := SaveSymbols(ctx, db.Pool, []Symbol{{Symbol: "vend", Sector: "Utilities", Beta: &bad}}, nil); err != nil || r.Inserted != 1 {
		t.Errorf("SaveSymbols = %+v, %v", r, err)
	}
}

// Every kind of bad input gets a clear error, with its line, and nothing
// is written.
func TestImportSymbolsBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	big := bytes.Repeat([]byte("x"), int(DefaultSymbolFileMaxBytes)+1)
	big = append([]byte("symbol\nAAPL\n"), big...)
	bigPath := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(bigPath, big, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{"testdata/symbols/unknown_sector.csv", `unknown_sector.csv:3: sector "Crypto" is not a GICS sector`},
		{"testdata/symbols/bad_asset_type.csv", `bad_asset_type.csv:3: asset_type "warrant": use one of stock, etf`},
		{"testdata/symbols/negative_market_cap.csv", `negative_market_cap.csv:3: market_cap "-5" is negative`},
		{"testdata/symbols/non_numeric_beta.csv", `non_numeric_beta.csv:3: beta "high" is not a decimal number`},
		{"testdata/symbols/duplicate_symbol.csv", `duplicate_symbol.csv:4: duplicate symbol AAPL (first on line 2)`},
		{"testdata/symbols/missing_symbol_column.csv", `missing_symbol_column.csv:1: missing column symbol`},
		{bigPath, "big.csv: larger than the limit of 10 MiB"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			_, err := ImportSymbolFiles(ctx, db.Pool, []string{tc.file}, nil)
			var ferr *SymbolFileError
			if !errors.As(err, &ferr) {
				t.Fatalf("error = %v, want a *SymbolFileError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
			if n := symbolCount(t, db); n != 0 {
				t.Errorf("%d symbols written", n)
			}
		})
	}
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "", "empty file"},
		{"header only", "symbol,sector\n", "no symbol rows"},
		{"NUL", "symbol\nA\x00B\n", "contains NUL bytes"},
		{"latin1", "symbol,name\nAAPL,Caf\xe9\n", "x.csv:2: not valid UTF-8"},
		{"bad symbol", "symbol\nA B\n", `symbol "A B" has characters`},
		{"currency", "symbol,currency\nA,dollars\n", "not a three-letter code"},
		{"beta range", "symbol,beta\nA,1000\n", "outside ±100"},
		{"beta exponent", "symbol,beta\nA,1e3\n", "not a decimal number"},
		{"quote", "symbol,name\nA,\"open\n", "malformed CSV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ImportSymbols(ctx, db.Pool, strings.NewReader(tc.data), "x.csv", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
			if n := symbolCount(t, db); n != 0 {
				t.Errorf("%d symbols written", n)
			}
		})
	}
}

func TestParseSector(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Technology": "Information Technology", "HEALTHCARE": "Health Care", "financial services": "Financials",
		"Consumer Cyclical": "Consumer Discretionary", "Consumer Defensive": "Consumer Staples",
		"Basic Materials": "Materials", " real  estate ": "Real Estate", "Communication_Services": "Communication Services",
		"utilities": "Utilities",
	} {
		if got, err := ParseSector(in); err != nil || got != want {
			t.Errorf("ParseSector(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSector("Crypto"); err == nil {
		t.Error("ParseSector(Crypto) succeeded")
	}
}

// The parser never panics, and what it accepts is valid: upper-case,
// unique symbols with known sectors and asset types.
func FuzzParseSymbolCSV(f *testing.F) {
	for _, name := range []string{"good.csv", "bom_crlf.csv", "unknown_sector.csv", "duplicate_symbol.csv"} {
		data, err := os.ReadFile(filepath.Join("testdata/symbols", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("symbol,sector\n\"a\nb\",x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseSymbolCSV(bytes.NewReader(data), "fuzz.csv", 1<<16)
		if err != nil {
			var ferr *SymbolFileError
			if !errors.As(err, &ferr) || len(ferr.Problems) == 0 {
				t.Fatalf("error %v is not a SymbolFileError with problems", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, s := range file.Rows {
			if s.Symbol != strings.ToUpper(s.Symbol) || checkPriceSymbol(s.Symbol) != "" || seen[s.Symbol] {
				t.Fatalf("accepted symbol %q", s.Symbol)
			}
			seen[s.Symbol] = true
			if s.Sector != "" {
				if _, err := ParseSector(s.Sector); err != nil {
					t.Fatalf("accepted sector %q", s.Sector)
				}
			}
			if s.AssetType != "" {
				if _, err := ParseAssetType(string(s.AssetType)); err != nil {
					t.Fatalf("accepted asset type %q", s.AssetType)
				}
			}
		}
	})
}
