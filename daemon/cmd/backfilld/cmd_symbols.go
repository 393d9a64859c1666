package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sigmasight/backfill/batch"
)

var symbolsImportCommand = &command{
	Name:     "symbols import",
	Args:     "FILE...",
	Summary:  "load reference data (name, asset type, sector, provider beta) into symbols",
	Database: true,
	Help: `Import symbols files into the symbols table, each file in its own transaction,
in the order given. The header names the columns, matched case-insensitively:
symbol,name,asset_type,sector,industry,country,currency,market_cap,beta
Only symbol is required; symbols are upper-cased. New symbols are inserted;
for known ones the columns the header names are set (an empty field clears the
value) and the others kept. asset_type is one of stock, etf, mutual_fund,
option, cash, private, other; sector one of the 11 GICS sectors or a common
alias (Technology, Healthcare, Financial Services, Consumer Cyclical, Consumer
Defensive, Basic Materials, …). A changed sector or beta rewinds nothing: the
analytics use it from the next day a backfill computes.

A bad file is reported as FILE:LINE: reason, with exit status 2: nothing of
it is imported, the files before it stay imported, and the files after it
are not read.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		asJSON := fs.Bool("json", false, `print {"files":[…]} as JSON, with "error" for a bad file`)
		return func(ctx context.Context, a *app, paths []string) error {
			if err := a.checkArgs(paths, 1, -1); err != nil {
				return err
			}
			for _, p := range paths {
				if err := checkInputFile(p); err != nil {
					return err
				}
			}
			pool, err := a.db(ctx)
			if err != nil {
				return err
			}
			results, err := batch.ImportSymbolFiles(ctx, pool, paths, &batch.SymbolImportOpts{Schema: a.schema})
			var ferr *batch.SymbolFileError
			isBad := errors.As(err, &ferr)
			if *asJSON {
				out := symbolsImportOutput{Files: results}
				if out.Files == nil {
					out.Files = []batch.SymbolImportResult{}
				}
				if isBad {
					out.Error = &importError{File: ferr.File, Problems: make([]priceProblem, len(ferr.Problems)), More: ferr.More}
					for i, p := range ferr.Problems {
						out.Error.Problems[i] = priceProblem(p)
					}
				}
				if jerr := writeJSON(a.stdout, out); jerr != nil {
					return jerr
				}
			} else if len(results) > 0 {
				tw := newTable(a.stdout)
				fmt.Fprintln(tw, "FILE\tROWS\tINSERTED\tUPDATED\tUNCHANGED")
				for _, r := range results {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", r.File, r.Rows, r.Inserted, r.Updated, r.Unchanged)
				}
				tw.Flush()
			}
			if err == nil {
				return nil
			}
			imported := make([]string, len(results))
			for i, r := range results {
				imported[i] = r.File
			}
			note := fmt.Sprintf("nothing of %s was imported", paths[len(results)])
			if len(results) > 0 {
				note = fmt.Sprintf("the files before it stay imported (%s); %s", strings.Join(imported, ", "), note)
			}
			if isBad {
				fmt.Fprintf(a.stderr, "backfilld: %v\nbackfilld: %s\n", ferr, note)
				return &reportedError{code: exitInvalid, err: ferr}
			}
			return fmt.Errorf("symbols import: %w\n%s", err, note)
		}
	},
}

type symbolsImportOutput struct {
	Files []batch.SymbolImportResult `json:"files"`
	Error *importError               `json:"error,omitempty"`
}

var symbolsListCommand = &command{
	Name:     "symbols list",
	Summary:  "list the symbols' reference data",
	Database: true,
	Help:     `List every row of the symbols table, by symbol.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		asJSON := fs.Bool("json", false, "print the symbols as a JSON array")
		return func(ctx context.Context, a *app, args []string) error {
			if err := a.checkArgs(args, 0, 0); err != nil {
				return err
			}
			pool, err := a.db(ctx)
			if err != nil {
				return err
			}
			syms, err := batch.ListSymbols(ctx, pool, a.schema)
			if err != nil {
				return err
			}
			if *asJSON {
				out := make([]symbolJSON, len(syms))
				for i, s := range syms {
					out[i] = symbolJSON{s.Symbol, s.Name, string(s.AssetType), s.Sector, s.Industry, s.Country, s.Currency, s.MarketCap, s.Beta, s.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z")}
				}
				return writeJSON(a.stdout, out)
			}
			printSymbols(a.stdout, syms)
			return nil
		}
	},
}

// symbolJSON is one symbol in `symbols list --json`; unknown values are
// empty strings or null.
type symbolJSON struct {
	Symbol    string   `json:"symbol"`
	Name      string   `json:"name"`
	AssetType string   `json:"asset_type"`
	Sector    string   `json:"sector"`
	Industry  string   `json:"industry"`
	Country   string   `json:"country"`
	Currency  string   `json:"currency"`
	MarketCap *float64 `json:"market_cap"`
	Beta      *float64 `json:"beta"`
	UpdatedAt string   `json:"updated_at"`
}

func printSymbols(w io.Writer, syms []batch.Symbol) {
	num := func(x *float64) string {
		if x == nil {
			return "-"
		}
		return strconv.FormatFloat(*x, 'f', -1, 64)
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "SYMBOL\tASSET TYPE\tSECTOR\tBETA\tMARKET CAP\tCURRENCY\tNAME")
	for _, s := range syms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Symbol, dash(string(s.AssetType)), dash(s.Sector), num(s.Beta), num(s.MarketCap), dash(s.Currency), dash(s.Name))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d symbols\n", len(syms))
}
