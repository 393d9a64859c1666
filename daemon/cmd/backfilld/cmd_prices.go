package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
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
A changed close rewinds every portfolio whose days depend on it (holders of
the symbol; everyone for the benchmark and the factor ETFs), which the
reconciler then recomputes.

Symbols are upper-cased (aapl and AAPL are one symbol). A close must be
below 1e9, a date from 1970-01-01 to the current session by the clock (--now,
BACKFILL_NOW), and a close may not move beyond ×10 or ÷10 from the close
before it, in the file or stored (nor the stored close after it from it),
unless --allow-jumps. FILE must be a regular file: a directory, FIFO or
device is rejected before the database is opened.

A bad file is reported as FILE:LINE: reason, with exit status 2: nothing of
it is imported, the files before it stay imported, and the files after it
are not read.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		source := fs.String("source", "", "`NAME` recorded as each price's source. Default the file's base name")
		asJSON := fs.Bool("json", false, `print {"files":[…]} as JSON, with "error" for a bad file (its first 100 problems, "more" and "total_errors")`)
		allowJumps := fs.Bool("allow-jumps", false, "accept day-over-day moves beyond ×10 or ÷10, such as a reverse split on unadjusted closes")
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
			results, err := batch.ImportPriceFiles(ctx, pool, paths, &batch.ImportOpts{Schema: a.schema, Source: *source, Now: a.now, AllowJumps: *allowJumps})
			var perr *batch.PriceFileError
			isBad := errors.As(err, &perr)
			// Changed closes rewind the portfolios that depend on them now,
			// so that status never shows one current while it is behind; a
			// running reconciler would do the same on its next sweep.
			var applied batch.Applied
			if len(results) > 0 {
				var aerr error
				if applied, aerr = applyPriceChanges(ctx, a, pool); aerr != nil {
					fmt.Fprintf(a.stderr, "backfilld: the import is done, but rewinding the portfolios it affects failed (a reconciler retries on its next sweep): %v\n", aerr)
				}
			}
			if *asJSON {
				out := importOutput{Files: make([]importedFile, 0, len(results)), Rewound: applied.Rewound}
				for _, r := range results {
					out.Files = append(out.Files, importedFile{r.File, r.Rows, r.Inserted, r.Updated, r.Unchanged, r.Symbols, day(r.From), day(r.To)})
				}
				if isBad {
					listed := perr.Problems[:min(len(perr.Problems), portfolio.MaxListedErrors)]
					total := len(perr.Problems) + perr.More
					out.Error = &importError{File: perr.File, Problems: make([]priceProblem, len(listed)), More: total - len(listed), TotalErrors: total}
					for i, p := range listed {
						out.Error.Problems[i] = priceProblem(p)
					}
				}
				if jerr := writeJSON(a.stdout, out); jerr != nil {
					return jerr
				}
			} else if len(results) > 0 {
				printImported(a.stdout, results)
				if applied.Rewound > 0 {
					fmt.Fprintf(a.stdout, "Changed closes: %d portfolio(s) rewound to recompute the days they affect.\n", applied.Rewound)
				}
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

// applyPriceChanges turns the recorded price changes into rewinds.
func applyPriceChanges(ctx context.Context, a *app, pool *pgxpool.Pool) (batch.Applied, error) {
	engine, err := batch.NewEngine(pool, &batch.Config{Schema: a.schema, Now: a.now, Logger: a.logger})
	if err != nil {
		return batch.Applied{}, err
	}
	return engine.ApplyPriceChanges(ctx, nil)
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

// importError is the bad file in the --json output: the first
// portfolio.MaxListedErrors problems, the number of the others, and the
// total.
type importError struct {
	File        string         `json:"file"`
	Problems    []priceProblem `json:"problems"`
	More        int            `json:"more"`
	TotalErrors int            `json:"total_errors"`
}

type priceProblem struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

type importOutput struct {
	Files []importedFile `json:"files"`
	// Rewound counts the portfolios rewound because closes they depend on
	// changed.
	Rewound int          `json:"rewound"`
	Error   *importError `json:"error,omitempty"`
}

func printImported(w io.Writer, results []batch.ImportResult) {
	tw := newTable(w)
	fmt.Fprintln(tw, "FILE\tROWS\tINSERTED\tUPDATED\tUNCHANGED\tSYMBOLS\tFROM\tTO")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.File, r.Rows, r.Inserted, r.Updated, r.Unchanged, r.Symbols, day(r.From), day(r.To))
	}
	tw.Flush()
}
