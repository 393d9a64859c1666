package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sigmasight/backfill/batch"
)

var pricesImportCommand = &command{
	Name:     "prices import",
	Args:     "FILE...",
	Summary:  "load closing prices from CSV files into market_prices",
	Database: true,
	Help: `Import long-format price files (columns date, symbol, close; one row per
symbol and day) into market_prices, each file in its own transaction, in the
order given. New closes are inserted, changed ones updated, equal ones left
alone; a backfill is ready for a day once the benchmark (SPY) has its close.

A bad file is reported as FILE:LINE: reason, with exit status 2: nothing of
it is imported, the files before it stay imported, and the files after it
are not read.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		source := fs.String("source", "", "`NAME` recorded as each price's source. Default the file's base name")
		asJSON := fs.Bool("json", false, `print {"files":[…]} as JSON, with "error" for a bad file`)
		return func(ctx context.Context, a *app, paths []string) error {
			if err := a.checkArgs(paths, 1, -1); err != nil {
				return err
			}
			if err := checkFiles(paths, "price files"); err != nil {
				return err
			}
			pool, err := a.db(ctx)
			if err != nil {
				return err
			}
			results, err := batch.ImportPriceFiles(ctx, pool, paths, &batch.ImportOpts{Schema: a.schema, Source: *source})
			var perr *batch.PriceFileError
			isBad := errors.As(err, &perr)
			if *asJSON {
				out := importOutput{Files: make([]importedFile, 0, len(results))}
				for _, r := range results {
					out.Files = append(out.Files, importedFile{r.File, r.Rows, r.Inserted, r.Updated, r.Unchanged, r.Symbols, day(r.From), day(r.To)})
				}
				if isBad {
					out.Error = &importError{File: perr.File, Problems: make([]priceProblem, len(perr.Problems)), More: perr.More}
					for i, p := range perr.Problems {
						out.Error.Problems[i] = priceProblem(p)
					}
				}
				if jerr := writeJSON(a.stdout, out); jerr != nil {
					return jerr
				}
			} else if len(results) > 0 {
				printImported(a.stdout, results)
			}
			if err == nil {
				return nil
			}
			note := importNote(paths, results)
			if isBad {
				fmt.Fprintf(a.stderr, "backfilld: %v\nbackfilld: %s\n", perr, note)
				return &reportedError{code: exitInvalid, err: perr}
			}
			return fmt.Errorf("prices import: %w\n%s", err, note)
		}
	},
}

// importNote says what a failed import left behind.
func importNote(paths []string, results []batch.ImportResult) string {
	var b strings.Builder
	if len(results) > 0 {
		names := make([]string, len(results))
		for i, r := range results {
			names[i] = r.File
		}
		fmt.Fprintf(&b, "the files before it stay imported (%s); ", strings.Join(names, ", "))
	}
	if len(results) < len(paths) {
		fmt.Fprintf(&b, "nothing of %s was imported", paths[len(results)])
		if after := len(paths) - len(results) - 1; after > 0 {
			fmt.Fprintf(&b, ", and the %d file(s) after it were not read", after)
		}
		b.WriteString(": fix it and import it")
		if len(paths)-len(results) > 1 {
			b.WriteString(" and the files after it")
		}
		b.WriteString(" again")
	}
	return b.String()
}

// importedFile is one imported file in the --json output.
type importedFile struct {
	File      string `json:"file"`
	Rows      int    `json:"rows"`
	Inserted  int    `json:"inserted"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Symbols   int    `json:"symbols"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// importError is the bad file in the --json output.
type importError struct {
	File     string         `json:"file"`
	Problems []priceProblem `json:"problems"`
	More     int            `json:"more"`
}

type priceProblem struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

type importOutput struct {
	Files []importedFile `json:"files"`
	Error *importError   `json:"error,omitempty"`
}

func printImported(w io.Writer, results []batch.ImportResult) {
	tw := newTable(w)
	fmt.Fprintln(tw, "FILE\tROWS\tINSERTED\tUPDATED\tUNCHANGED\tSYMBOLS\tFROM\tTO")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.File, r.Rows, r.Inserted, r.Updated, r.Unchanged, r.Symbols, day(r.From), day(r.To))
	}
	tw.Flush()
}
