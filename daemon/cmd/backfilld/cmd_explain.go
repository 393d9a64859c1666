package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
)

var explainCommand = &command{
	Name:     "explain",
	Args:     "PORTFOLIO_ID",
	Summary:  "explain why a portfolio is behind: its state, lease, recent runs and missing prices",
	Database: true,
	Help: `Explain one portfolio's backfill state, read from the database: its state,
watermark (snapshots complete through), the target trading day and its lag in
trading days, failed attempts, last error, next attempt, lease owner and
expiry, whether a backfill was requested, a one-line reason, its 5 latest
runs (trigger, status, range, days written, error), and prices: for every
symbol its positions are valued by (options also by their underlying; cash
and private positions need none) the date and value of the latest close and
whether the last closed session has one, the benchmark first; each symbol is
listed once.

The target day is the latest closed session on which the benchmark (SPY) has
a close; while it lacks the last closed session, every portfolio waits.

Exit status 1 for an unknown portfolio.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		asJSON := fs.Bool("json", false, "print the explanation as JSON")
		return func(ctx context.Context, a *app, args []string) error {
			id, err := a.portfolioID(args, 1)
			if err != nil {
				return err
			}
			r, err := a.reconciler(ctx)
			if err != nil {
				return err
			}
			ex, err := r.Explain(ctx, id)
			if errors.Is(err, portfolio.ErrNotFound) {
				return fmt.Errorf("portfolio %s not found (never onboarded)", id)
			}
			if err != nil {
				return err
			}
			return printOut(a, *asJSON, ex, printExplanation)
		}
	},
}

// parsePortfolioID parses a portfolio id argument; a malformed one is
// invalid input.
func parsePortfolioID(arg string) (uuid.UUID, error) {
	id, err := uuid.Parse(arg)
	if err != nil {
		return uuid.Nil, invalidf("invalid portfolio id %q: want a UUID such as 01923f4e-7b3c-7d2a-9c1e-5f6a7b8c9d0e", arg)
	}
	return id, nil
}

func printExplanation(w io.Writer, ex *daemon.Explanation) {
	tw := newTable(w)
	fmt.Fprintf(tw, "Portfolio %s: %s\n", ex.PortfolioID, orNone(string(ex.State)))
	fmt.Fprintf(tw, "  name:\t%s (account %s), inception %s\n", ex.Name, ex.AccountName, day(ex.Inception))
	if ex.DeletedAt != nil {
		fmt.Fprintf(tw, "  deleted:\t%s\n", ex.DeletedAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "  reason:\t%s\n", ex.Reason)
	wm := "none (never snapshotted)"
	if ex.Watermark != nil {
		wm = day(*ex.Watermark) + " (snapshots complete through)"
	}
	fmt.Fprintf(tw, "  watermark:\t%s\n", wm)
	if ex.Target != nil {
		fmt.Fprintf(tw, "  target:\t%s (latest closed session with %s's close; last closed session %s)\n",
			day(*ex.Target), ex.Benchmark.Symbol, day(ex.LastSession))
	} else {
		fmt.Fprintf(tw, "  target:\tnone (%s has no close up to the last closed session %s)\n", ex.Benchmark.Symbol, day(ex.LastSession))
	}
	fmt.Fprintf(tw, "  lag:\t%d trading days\n", ex.LagDays)
	fmt.Fprintf(tw, "  attempts:\t%d failed in a row\n", ex.Attempts)
	if ex.LastError != "" {
		fmt.Fprintf(tw, "  last error:\t%s\n", ex.LastError)
	}
	switch {
	case ex.State == portfolio.StateQuarantined:
		fmt.Fprintf(tw, "  next attempt:\tnone until `backfilld retry`\n")
	case ex.Due:
		fmt.Fprintf(tw, "  next attempt:\tdue since %s\n", ex.NextAttemptAt.UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(tw, "  next attempt:\t%s\n", ex.NextAttemptAt.UTC().Format(time.RFC3339))
	}
	switch {
	case ex.LeaseOwner == "":
		fmt.Fprintf(tw, "  lease:\tnone\n")
	case ex.LeaseExpired:
		fmt.Fprintf(tw, "  lease:\t%s, expired %s\n", ex.LeaseOwner, ex.LeaseExpires.UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(tw, "  lease:\t%s until %s\n", ex.LeaseOwner, ex.LeaseExpires.UTC().Format(time.RFC3339))
	}
	if ex.Requested {
		fmt.Fprintf(tw, "  requested:\tyes, at %s\n", ex.RequestedAt.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(tw, "  requested:\tno\n")
	}
	tw.Flush()

	fmt.Fprintf(w, "\nLatest runs (newest first):\n")
	if len(ex.Runs) == 0 {
		fmt.Fprintf(w, "  none\n")
	} else {
		tw = newTable(w)
		fmt.Fprintln(tw, "  RUN\tTRIGGER\tSTATUS\tWORKER\tREQUESTED\tRANGE\tDAYS\tERROR")
		for _, r := range ex.Runs {
			rng := "-"
			if r.From != nil && r.Through != nil {
				rng = day(*r.From) + " … " + day(*r.Through)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", r.ID, r.Trigger, r.Status, orNone(r.Worker),
				r.RequestedAt.UTC().Format(time.RFC3339), rng, r.DaysWritten, r.DaysTotal, orNone(r.Error))
		}
		tw.Flush()
	}

	fmt.Fprintf(w, "\nPrices on the last closed session %s:\n", day(ex.LastSession))
	tw = newTable(w)
	fmt.Fprintln(tw, "  SYMBOL\tLATEST CLOSE\tVALUE\tON "+day(ex.LastSession))
	row := func(p daemon.SymbolPrice, note string) {
		latest, value := "none", "-"
		if p.LatestClose != nil {
			latest = day(*p.LatestClose)
		}
		if p.Close != nil {
			value = closeText(*p.Close)
		}
		on := "yes"
		switch {
		case !p.HasClose && p.Needed:
			on = "MISSING"
		case !p.HasClose:
			on = "missing (no open position)"
		}
		fmt.Fprintf(tw, "  %s%s\t%s\t%s\t%s\n", p.Symbol, note, latest, value, on)
	}
	row(ex.Benchmark, " (benchmark)")
	for _, p := range ex.Prices {
		row(p, "")
	}
	tw.Flush()
	var missing []string
	for _, p := range ex.Prices {
		if p.Needed && !p.HasClose {
			missing = append(missing, p.Symbol)
		}
	}
	if !ex.Benchmark.HasClose {
		fmt.Fprintf(w, "Without %s's close the day is not ready: no portfolio gets it yet.\n", ex.Benchmark.Symbol)
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "Missing closes of held symbols (%s) do not hold the backfill back: their last close is carried forward\n"+
			"(flagged stale after a few sessions), or without any close they are left unpriced.\n",
			strings.Join(missing, ", "))
	}
}

// closeText shows a close: as stored, or in exponent form when it has more
// digits than a column can show (an absurd value such as 1e300 stays
// visible as what it is).
func closeText(s string) string {
	if len(s) <= 24 {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s[:24] + "…"
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
