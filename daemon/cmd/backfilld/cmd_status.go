package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
)

var statusCommand = &command{
	Name:     "status",
	Summary:  "show how many portfolios are current, behind or failing, and which need attention",
	Database: true,
	Help: `Show the reconciler's view of every portfolio, read from the database: the
target trading day (the latest closed session with the benchmark's close),
portfolios by state and by lag behind the target, the largest lag, the oldest
missing snapshot, and the portfolios that need attention (quarantined,
failing, behind, never snapshotted or requested) with the reason for each,
worst first. 'backfilld explain PORTFOLIO_ID' goes into one of them.

--json prints the same document as a running reconciler's /status, without
its process-local last_sweep and in_flight.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		asJSON := fs.Bool("json", false, "print the status as JSON")
		limit := fs.Int("limit", daemon.DefaultStatusLimit, "list at most `N` portfolios needing attention (default "+strconv.Itoa(daemon.DefaultStatusLimit)+")")
		return func(ctx context.Context, a *app, args []string) error {
			if err := a.checkArgs(args, 0, 0); err != nil {
				return err
			}
			if *limit < 0 {
				return a.usage("--limit %d: want 0 or more", *limit)
			}
			r, err := a.reconciler(ctx)
			if err != nil {
				return err
			}
			st, err := r.Status(ctx, time.Time{}, *limit)
			if err != nil {
				return err
			}
			if st.Attention == nil {
				st.Attention = []daemon.PortfolioStatus{}
			}
			if *asJSON {
				return writeJSON(a.stdout, st.Overview)
			}
			printStatus(a.stdout, st, r.Engine().Config().Benchmark, *limit)
			return nil
		}
	},
}

// stateOrder lists the reconciler's states from done to stuck: current,
// then the others in their lifecycle order.
var stateOrder = append([]portfolio.State{portfolio.StateCurrent},
	slices.DeleteFunc(portfolio.States(), func(s portfolio.State) bool { return s == portfolio.StateCurrent })...)

func printStatus(w io.Writer, st *daemon.Status, benchmark string, limit int) {
	tw := newTable(w)
	if st.Target.IsZero() {
		fmt.Fprintf(tw, "Target trading day:\tnone: %s has no close up to the last closed session\n", benchmark)
	} else {
		fmt.Fprintf(tw, "Target trading day:\t%s (latest closed session with %s's close)\n", day(st.Target), benchmark)
	}
	total := 0
	for _, n := range st.ByState {
		total += n
	}
	fmt.Fprintf(tw, "Portfolios:\t%d\n", total)
	states := slices.Clone(stateOrder)
	for s := range st.ByState {
		if !slices.Contains(states, s) {
			states = append(states, s)
		}
	}
	for _, s := range states {
		fmt.Fprintf(tw, "  %s\t%d\n", s, st.ByState[s])
	}
	fmt.Fprintf(tw, "Behind the target:\t1 day %d, 2-5 days %d, more than 5 days %d; never snapshotted %d\n",
		st.Behind["1d"], st.Behind["2_5d"], st.Behind["gt_5d"], st.Behind["never"])
	fmt.Fprintf(tw, "Largest lag:\t%d trading days\n", st.MaxLagTradingDays)
	oldest := "-"
	if st.OldestMissing != nil {
		oldest = day(*st.OldestMissing)
	}
	fmt.Fprintf(tw, "Oldest missing snapshot:\t%s\n", oldest)
	tw.Flush()

	if len(st.Attention) == 0 {
		if limit > 0 {
			fmt.Fprintln(w, "\nNo portfolio needs attention.")
		}
		return
	}
	more := ""
	if len(st.Attention) == limit {
		more = ", the first " + strconv.Itoa(limit) + " (--limit)"
	}
	fmt.Fprintf(w, "\nNeeding attention, worst first%s:\n", more)
	tw = newTable(w)
	fmt.Fprintln(tw, "  PORTFOLIO\tSTATE\tWATERMARK\tLAG\tATTEMPTS\tREASON")
	for _, p := range st.Attention {
		wm := "-"
		if p.Watermark != nil {
			wm = day(*p.Watermark)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%s\n", p.PortfolioID, p.State, wm, p.LagDays, p.Attempts, p.Reason)
	}
	tw.Flush()
	fmt.Fprintln(w, "'backfilld explain PORTFOLIO_ID' shows why one is behind.")
}
