package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
)

var retryCommand = &command{
	Name:     "retry",
	Args:     "(PORTFOLIO_ID | --quarantined)",
	Summary:  "make a quarantined or failing portfolio due again, or every quarantined one",
	Database: true,
	Help: `Make the portfolio due again now: a quarantined or failing one becomes
pending with its failed attempts reset, and any portfolio is marked requested,
so the reconciler backfills it on its next sweep; running reconcilers are
notified and sweep at once. With --quarantined, do that for every quarantined
portfolio.

Give a portfolio id or --quarantined, not both. Exit status 1 for an unknown
portfolio.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		quarantined := fs.Bool("quarantined", false, "retry every quarantined portfolio")
		asJSON := fs.Bool("json", false, "print what was retried as JSON")
		return func(ctx context.Context, a *app, args []string) error {
			switch {
			case *quarantined && len(args) > 0:
				return a.usage("give a portfolio id or --quarantined, not both")
			case !*quarantined && len(args) == 0:
				return a.usage("missing PORTFOLIO_ID, or --quarantined for every quarantined portfolio")
			case len(args) > 1:
				return a.usage("unexpected argument %q: retry takes one portfolio id", args[1])
			}
			var id uuid.UUID
			if !*quarantined {
				var err error
				if id, err = parsePortfolioID(args[0]); err != nil {
					return err
				}
			}
			r, err := a.reconciler(ctx)
			if err != nil {
				return err
			}
			if *quarantined {
				out, err := r.RetryAllQuarantined(ctx)
				if err != nil {
					return err
				}
				return printOut(a, *asJSON, out, printRetriedQuarantined)
			}
			out, err := r.RetryPortfolio(ctx, id)
			if errors.Is(err, portfolio.ErrNotFound) {
				return fmt.Errorf("portfolio %s not found (never onboarded)", id)
			}
			if err != nil {
				return err
			}
			return printOut(a, *asJSON, out, printRetried)
		}
	},
}

func printRetried(w io.Writer, r *daemon.Retried) {
	switch r.PreviousState {
	case portfolio.StateQuarantined, portfolio.StateFailing:
		fmt.Fprintf(w, "Retried portfolio %s: it was %s after %d failed attempts; now %s, attempts reset, due now.\n",
			r.PortfolioID, r.PreviousState, r.PreviousAttempts, r.State)
		if r.LastError != "" {
			fmt.Fprintf(w, "  last error: %s\n", r.LastError)
		}
	default:
		fmt.Fprintf(w, "Requested portfolio %s again: it was %s (not failing); it stays %s and is due now.\n",
			r.PortfolioID, r.PreviousState, r.State)
	}
	fmt.Fprintf(w, "A running reconciler was notified and picks it up at once; `backfilld run --once` runs it here.\n")
}

func printRetriedQuarantined(w io.Writer, r *daemon.RetriedQuarantined) {
	if r.Retried == 0 {
		fmt.Fprintln(w, "No quarantined portfolio: nothing to retry.")
		return
	}
	fmt.Fprintf(w, "Retried %d quarantined portfolios: now pending, attempts reset, due now.\n", r.Retried)
	for _, id := range r.PortfolioIDs {
		fmt.Fprintf(w, "  %s\n", id)
	}
	fmt.Fprintf(w, "Running reconcilers were notified and pick them up at once; `backfilld run --once` runs them here.\n")
}
