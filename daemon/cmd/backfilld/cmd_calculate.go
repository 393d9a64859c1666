package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

var calculateCommand = &command{
	Name:     "calculate",
	Args:     "PORTFOLIO_ID",
	Summary:  "request a portfolio's backfill, or run it now with --wait",
	Database: true,
	Help: `Request a backfill of the portfolio: record a pending run for the
reconciler, or return the run already pending or running.

With --wait, run the backfill in this process as well: it claims the
portfolio's lease (so it never races a reconciler), computes every missing
trading day up to the most recent closed session whose prices are in, and
prints the status, range, days written, warnings and timings. The exit status
is 1 when the run fails or ends partial, and when another worker holds the
lease.

With --from, the days from DATE on are computed again even when the
portfolio is current (its watermark moves back to the day before DATE).
With --all --symbol SYMBOL --from DATE, every live portfolio that holds
SYMBOL (directly or as an option's underlying) and has days on or after DATE
is rewound that way, for the reconciler to recompute; it prints how many.
With --all --from DATE, every live portfolio with days on or after DATE is
rewound (after an upgrade that added analytics columns, for example).
A corrected close needs none of this: every change to market_prices rewinds
the portfolios that depend on it by itself.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		wait := fs.Bool("wait", false, "run the backfill now, in this process, and print its result")
		through := fs.String("through", "", "with --wait, compute no day after `DATE` (YYYY-MM-DD). Default the most recent closed session with prices")
		asJSON := fs.Bool("json", false, "print the run, or with --wait the backfill result, as JSON")
		fromFlag := fs.String("from", "", "recompute from `DATE` (YYYY-MM-DD) on, even when the portfolio is current")
		all := fs.Bool("all", false, "with --from: rewind every portfolio (with --symbol: every one holding the symbol)")
		symbol := fs.String("symbol", "", "with --all: only the holders of `SYMBOL`")
		return func(ctx context.Context, a *app, args []string) error {
			var from time.Time
			if *fromFlag != "" {
				var err error
				if from, err = parseDate("from", *fromFlag); err != nil {
					return err
				}
			}
			if *all || *symbol != "" {
				switch {
				case !*all || from.IsZero():
					return a.usage("--all and --symbol need --all --from DATE: --all [--symbol SYMBOL] --from DATE")
				case len(args) > 0:
					return a.usage("--all takes no portfolio id")
				case *wait:
					return a.usage("--all cannot --wait: the reconciler (`backfilld run`) recomputes the portfolios")
				}
				return recomputeHolders(ctx, a, strings.ToUpper(strings.TrimSpace(*symbol)), from, *asJSON)
			}
			if err := a.checkArgs(args, 1, 1); err != nil {
				return err
			}
			id, err := uuid.Parse(args[0])
			if err != nil {
				return invalidf("invalid portfolio id %q: want a UUID such as 01923f4e-7b3c-7d2a-9c1e-5f6a7b8c9d0e", args[0])
			}
			var thr time.Time
			if *through != "" {
				if !*wait {
					return a.usage("--through needs --wait: a requested run goes up to the latest session")
				}
				if thr, err = parseDate("through", *through); err != nil {
					return err
				}
			}
			pool, err := a.db(ctx)
			if err != nil {
				return err
			}
			client, err := portfolio.NewClient(pool, &portfolio.Config{Schema: a.schema, Now: a.now, Logger: a.logger})
			if err != nil {
				return err
			}
			var run *portfolio.Run
			if from.IsZero() {
				run, err = client.RequestBackfill(ctx, id, portfolio.TriggerCalculate)
			} else {
				run, err = client.Recompute(ctx, id, from)
			}
			if errors.Is(err, portfolio.ErrNotFound) {
				return fmt.Errorf("portfolio %s not found (never onboarded, or deleted)", id)
			}
			if err != nil {
				return err
			}
			if !*wait {
				return printOut(a, *asJSON, run, printRun)
			}

			engine, err := batch.NewEngine(pool, &batch.Config{Schema: a.schema, Now: a.now, Logger: a.logger})
			if err != nil {
				return err
			}
			// Corrected closes not yet applied by a reconciler rewind their
			// holders first, this portfolio among them.
			if _, err := engine.ApplyPriceChanges(ctx, nil); err != nil {
				return err
			}
			res, err := engine.Backfill(ctx, id, &batch.BackfillOpts{Through: thr, From: from, RunID: run.ID, Trigger: portfolio.TriggerCalculate})
			if errors.Is(err, batch.ErrLeaseHeld) {
				return fmt.Errorf("another worker is backfilling this portfolio; try again or drop --wait (run %s stays pending): %w", run.ID, err)
			}
			if res != nil && res.RunID != uuid.Nil {
				if *asJSON {
					if jerr := writeJSON(a.stdout, res); jerr != nil {
						return jerr
					}
				} else {
					printResult(a.stdout, res, engine.Config().Benchmark)
				}
			}
			if err != nil {
				return fmt.Errorf("backfill of portfolio %s ended %s: %w", id, res.Status, err)
			}
			if res.Status == portfolio.RunFailed || res.Status == portfolio.RunPartial {
				return fmt.Errorf("backfill of portfolio %s ended %s: %s", id, res.Status, res.Error)
			}
			return nil
		}
	},
}

// recomputeHolders rewinds every portfolio holding symbol from from on.
func recomputeHolders(ctx context.Context, a *app, symbol string, from time.Time, asJSON bool) error {
	rewind := portfolio.SymbolRewind{Symbol: symbol, From: from, Everyone: symbol == ""}
	client, err := a.client(ctx)
	if err != nil {
		return err
	}
	n, err := client.RewindHolders(ctx, []portfolio.SymbolRewind{rewind}, portfolio.TriggerCalculate)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(a.stdout, map[string]any{"symbol": symbol, "from": from.Format(time.DateOnly), "portfolios_rewound": n})
	}
	holding := "holding " + symbol
	if rewind.Everyone {
		holding = "with days on or after it"
	}
	fmt.Fprintf(a.stdout, "Rewound %d portfolio(s) %s to recompute from %s.\n", n, holding, from.Format(time.DateOnly))
	fmt.Fprintln(a.stdout, "A running reconciler (`backfilld run`) recomputes them; `backfilld run --once` does it now.")
	return nil
}

func printRun(w io.Writer, run *portfolio.Run) {
	if run.Created {
		fmt.Fprintf(w, "Requested a backfill of portfolio %s\n  run: %s (%s)\n", run.PortfolioID, run.ID, run.Status)
	} else {
		fmt.Fprintf(w, "A backfill of portfolio %s is already pending\n  run: %s (%s, requested %s)\n",
			run.PortfolioID, run.ID, run.Status, run.RequestedAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "A running reconciler (`backfilld run`) picks it up; `backfilld calculate --wait %s` runs it now.\n", run.PortfolioID)
}

func printResult(w io.Writer, res *batch.Result, benchmark string) {
	tw := newTable(w)
	fmt.Fprintf(tw, "Backfill of portfolio %s: %s\n", res.PortfolioID, res.Status)
	fmt.Fprintf(tw, "  run:\t%s\n", res.RunID)
	if res.DaysTotal > 0 {
		fmt.Fprintf(tw, "  range:\t%s … %s\n", day(res.From), day(res.Through))
	} else {
		fmt.Fprintf(tw, "  range:\tnothing to compute\n")
	}
	fmt.Fprintf(tw, "  days written:\t%d of %d\n", res.DaysWritten, res.DaysTotal)
	if !res.Target.IsZero() {
		fmt.Fprintf(tw, "  target:\t%s (most recent closed session; prices ready through %s)\n", day(res.Target), day(res.Ready))
	}
	if !res.Watermark.IsZero() {
		fmt.Fprintf(tw, "  watermark:\t%s (snapshots complete through)\n", day(res.Watermark))
	}
	fmt.Fprintf(tw, "  warnings:\t%d\n", len(res.Warnings))
	if b := res.Betas; b.Loaded+b.Computed+b.Shared > 0 {
		fmt.Fprintf(tw, "  symbol betas:\t%d symbol-days loaded from symbol_factor_betas, %d computed (%d stored), %d shared\n", b.Loaded, b.Computed, b.Stored, b.Shared)
	}
	t := res.Timings
	fmt.Fprintf(tw, "  timings:\tload %s, prices %s, compute %s, write %s; total %s\n",
		dur(t.Load), dur(t.Prices), dur(t.Compute), dur(t.Write), dur(t.Total))
	if res.Error != "" {
		fmt.Fprintf(tw, "  error:\t%s\n", res.Error)
	}
	tw.Flush()
	for _, wn := range res.Warnings {
		fields := []string{wn.Code}
		if wn.Symbol != "" {
			fields = append(fields, wn.Symbol)
		}
		switch {
		case wn.From != "" && wn.From != wn.To:
			fields = append(fields, wn.From+"…"+wn.To)
		case wn.From != "":
			fields = append(fields, wn.From)
		}
		fmt.Fprintf(w, "    %s: %s\n", strings.Join(fields, " "), wn.Message)
	}
	if res.Status == portfolio.RunWaitingForPrices {
		since := "for the days to compute"
		if !res.Ready.IsZero() {
			since = "after " + day(res.Ready)
		}
		fmt.Fprintf(w, "Waiting for prices: %s has no close %s; load closes through %s with `backfilld prices import`.\n",
			benchmark, since, day(res.Target))
	}
}

// day formats a date, "-" for none.
func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.DateOnly)
}

// dur rounds a duration for reading.
func dur(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
