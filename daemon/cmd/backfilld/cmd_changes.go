package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
)

// The commands that change a portfolio after onboarding. Each change
// rewinds the portfolio's watermark to the day before the first day it
// affects, in the same transaction, and requests a backfill: a running
// reconciler recomputes exactly those days.

// client returns the library client on the command's database.
func (a *app) client(ctx context.Context) (*portfolio.Client, error) {
	pool, err := a.db(ctx)
	if err != nil {
		return nil, err
	}
	return portfolio.NewClient(pool, &portfolio.Config{Schema: a.schema, Now: a.now, Logger: a.logger})
}

// portfolioID checks that there are n arguments and parses the first, the
// portfolio id.
func (a *app) portfolioID(args []string, n int) (uuid.UUID, error) {
	if err := a.checkArgs(args, n, n); err != nil {
		return uuid.Nil, err
	}
	return parsePortfolioID(args[0])
}

// portfolioArg parses the portfolio id argument and returns the client.
func (a *app) portfolioArg(ctx context.Context, args []string, n int) (*portfolio.Client, uuid.UUID, error) {
	id, err := a.portfolioID(args, n)
	if err != nil {
		return nil, uuid.Nil, err
	}
	client, err := a.client(ctx)
	return client, id, err
}

// portfolioList is the run function of a command that lists the items of
// one portfolio (the command name) with list: it takes the PORTFOLIO_ID,
// fails for an unknown or deleted portfolio, and prints the items as JSON
// with --json, else by text.
func portfolioList[T any](fs *flag.FlagSet, name, items string,
	list func(*portfolio.Client, context.Context, uuid.UUID) (T, error), text func(io.Writer, T)) runFunc {
	asJSON := fs.Bool("json", false, "print the "+items+" as JSON")
	return func(ctx context.Context, a *app, args []string) error {
		client, id, err := a.portfolioArg(ctx, args, 1)
		if err != nil {
			return err
		}
		if _, err := client.PortfolioGet(ctx, id); err != nil {
			return changeError(a, name, id, err, *asJSON)
		}
		v, err := list(client, ctx, id)
		if err != nil {
			return err
		}
		return printOut(a, *asJSON, v, text)
	}
}

// changeError turns the library's errors of a change into backfilld's.
func changeError(a *app, what string, id uuid.UUID, err error, asJSON bool) error {
	var verr *portfolio.ValidationError
	switch {
	case errors.Is(err, portfolio.ErrNotFound):
		return fmt.Errorf("portfolio %s not found (never onboarded, or deleted)", id)
	case errors.As(err, &verr):
		return reportInvalid(a, what, verr, asJSON)
	}
	return err
}

// reportInvalid describes a validation error like onboard does, for what.
func reportInvalid(a *app, what string, verr *portfolio.ValidationError, asJSON bool) error {
	err := reportValidation(a, verr, asJSON)
	var rep *reportedError
	if errors.As(err, &rep) && rep.err != nil {
		rep.err = errors.New(strings.Replace(rep.err.Error(), "onboard:", what+":", 1))
	}
	return err
}

var flowsAddCommand = &command{
	Name:     "flows add",
	Args:     "PORTFOLIO_ID",
	Summary:  "record a deposit (positive) or withdrawal (negative) and recompute from its day",
	Database: true,
	Help: `Record a capital flow into (positive --amount) or out of (negative) the
portfolio, counted at the start of --date. The days from --date on are
recomputed by the reconciler; the days before keep their snapshots.

Exit status 2 for an invalid amount or date (before the inception), 1 for an
unknown portfolio.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		date := fs.String("date", "", "the flow's `DATE` (YYYY-MM-DD)")
		amount := fs.String("amount", "", "the `AMOUNT`, exact decimal: positive deposits, negative withdraws")
		desc := fs.String("description", "", "an optional `TEXT`")
		asJSON := fs.Bool("json", false, "print the recorded flow as JSON")
		return func(ctx context.Context, a *app, args []string) error {
			if *date == "" || *amount == "" {
				return a.usage("--date and --amount are required")
			}
			d, err := parseDate("date", *date)
			if err != nil {
				return err
			}
			client, id, err := a.portfolioArg(ctx, args, 1)
			if err != nil {
				return err
			}
			flowID, err := client.RecordCapitalFlow(ctx, id, portfolio.CapitalFlow{Date: d, Amount: *amount, Description: *desc})
			if err != nil {
				return changeError(a, "flows add", id, err, *asJSON)
			}
			f, err := client.FlowGet(ctx, id, flowID)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(a.stdout, f)
			}
			fmt.Fprintf(a.stdout, "Recorded flow %s of %s on %s for portfolio %s; the days from %s on are recomputed.\n",
				f.ID, f.Amount, day(f.Date), id, day(f.Date))
			return nil
		}
	},
}

var flowsListCommand = &command{
	Name:     "flows list",
	Args:     "PORTFOLIO_ID",
	Summary:  "list a portfolio's deposits and withdrawals",
	Database: true,
	Help:     `List the portfolio's capital flows by date.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		return portfolioList(fs, "flows list", "flows", (*portfolio.Client).FlowList, printFlows)
	},
}

func printFlows(w io.Writer, flows []*portfolio.StoredFlow) {
	if len(flows) == 0 {
		fmt.Fprintln(w, "No capital flows.")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "FLOW\tDATE\tAMOUNT\tDESCRIPTION")
	for _, f := range flows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.ID, day(f.Date), f.Amount, orNone(f.Description))
	}
	tw.Flush()
}

var positionsAddCommand = &command{
	Name:     "positions add",
	Args:     "PORTFOLIO_ID FILE",
	Summary:  "add positions from a CSV or JSON file and recompute from the earliest entry",
	Database: true,
	Help: `Add the positions of FILE ("-" for standard input) to the portfolio: a
positions CSV in the onboarding format, or with --format json a JSON array of
objects with the CSV's columns as fields (symbol, quantity, entry_price,
entry_date, investment_class, …). Every row is validated and nothing is
written if one fails; a position that already exists is an error. The days
from the earliest entry on are recomputed.

Exit status 2 for invalid positions, 1 for an unknown portfolio.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		format := fs.String("format", "", "`csv` or json; default by the file's extension, else csv")
		asJSON := fs.Bool("json", false, "print the result (or the errors) as JSON")
		return func(ctx context.Context, a *app, args []string) error {
			id, err := a.portfolioID(args, 2)
			if err != nil {
				return err
			}
			kind := *format
			if kind == "" {
				kind = "csv"
				if strings.HasSuffix(strings.ToLower(args[1]), ".json") {
					kind = "json"
				}
			}
			if kind != "csv" && kind != "json" {
				return a.usage("--format %q: want csv or json", kind)
			}
			in, closeIn, err := openInput(ctx, a, args[1])
			if err != nil {
				return err
			}
			defer closeIn()
			client, err := a.client(ctx)
			if err != nil {
				return err
			}
			var res *portfolio.AddPositionsResult
			if kind == "json" {
				var ps []portfolio.PositionInput
				dec := json.NewDecoder(io.LimitReader(in, client.Config().MaxBytes))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&ps); err != nil {
					return invalidf("positions add: %s is not a JSON array of positions: %v", args[1], err)
				}
				res, err = client.AddPositionInputs(ctx, id, ps)
			} else {
				res, err = client.AddPositions(ctx, id, in)
			}
			if err != nil {
				return changeError(a, "positions add", id, err, *asJSON)
			}
			if *asJSON {
				return writeJSON(a.stdout, map[string]any{"portfolio_id": id, "positions_imported": res.PositionsImported,
					"recompute_from": day(res.RecomputeFrom)})
			}
			fmt.Fprintf(a.stdout, "Added %d positions to portfolio %s; the days from %s on are recomputed.\n",
				res.PositionsImported, id, day(res.RecomputeFrom))
			return nil
		}
	},
}

var positionsCloseCommand = &command{
	Name:     "positions close",
	Args:     "PORTFOLIO_ID POSITION_ID",
	Summary:  "close a position at an exit date and price and recompute from the exit",
	Database: true,
	Help: `Record the position's exit date and price (replacing an earlier close): its
P&L is realized on the exit day and it is no longer held after. The days from
the exit (or the earlier exit it replaces) on are recomputed. 'backfilld
positions list' shows the position ids.

Exit status 2 for an exit before the entry, in the future or a bad price, 1
for an unknown portfolio or position.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		date := fs.String("date", "", "the exit `DATE` (YYYY-MM-DD)")
		price := fs.String("price", "", "the exit `PRICE` per share, exact decimal")
		asJSON := fs.Bool("json", false, "print the closed position as JSON")
		return func(ctx context.Context, a *app, args []string) error {
			id, err := a.portfolioID(args, 2)
			if err != nil {
				return err
			}
			posID, err := uuid.Parse(args[1])
			if err != nil {
				return invalidf("invalid position id %q: want a UUID", args[1])
			}
			if *date == "" || *price == "" {
				return a.usage("--date and --price are required")
			}
			d, err := parseDate("date", *date)
			if err != nil {
				return err
			}
			client, err := a.client(ctx)
			if err != nil {
				return err
			}
			p, err := client.ClosePosition(ctx, id, posID, portfolio.PositionClose{ExitDate: d, ExitPrice: *price})
			if errors.Is(err, portfolio.ErrPositionNotFound) {
				return fmt.Errorf("position %s not found in portfolio %s", posID, id)
			}
			if err != nil {
				return changeError(a, "positions close", id, err, *asJSON)
			}
			if *asJSON {
				return writeJSON(a.stdout, p)
			}
			fmt.Fprintf(a.stdout, "Closed %s (%s) on %s at %s; the days from %s on are recomputed.\n",
				p.Symbol, p.ID, day(*p.ExitDate), p.ExitPrice, day(*p.ExitDate))
			return nil
		}
	},
}

var positionsListCommand = &command{
	Name:     "positions list",
	Args:     "PORTFOLIO_ID",
	Summary:  "list a portfolio's positions with their ids",
	Database: true,
	Help:     `List the portfolio's positions, open and closed, by symbol and entry date.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		return portfolioList(fs, "positions list", "positions", (*portfolio.Client).PositionList, printPositions)
	},
}

func printPositions(w io.Writer, ps []*portfolio.StoredPosition) {
	tw := newTable(w)
	fmt.Fprintln(tw, "POSITION\tSYMBOL\tQUANTITY\tENTRY\tEXIT")
	for _, p := range ps {
		exit := "-"
		if p.ExitDate != nil {
			exit = day(*p.ExitDate) + " at " + p.ExitPrice.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s at %s\t%s\n", p.ID, p.Symbol, p.Quantity, day(p.EntryDate), p.EntryPrice, exit)
	}
	tw.Flush()
}

var deleteCommand = &command{
	Name:     "delete",
	Args:     "PORTFOLIO_ID",
	Summary:  "soft-delete a portfolio: kept in the tables, no longer backfilled",
	Database: true,
	Help: `Soft-delete the portfolio: its rows stay (deleted_at is set), its account
name becomes free for the owner, and the reconciler forgets it.

Exit status 1 for an unknown or already deleted portfolio.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		return func(ctx context.Context, a *app, args []string) error {
			client, id, err := a.portfolioArg(ctx, args, 1)
			if err != nil {
				return err
			}
			if err := client.DeletePortfolio(ctx, id); err != nil {
				return changeError(a, "delete", id, err, false)
			}
			fmt.Fprintf(a.stdout, "Deleted portfolio %s at %s.\n", id, time.Now().UTC().Format(time.RFC3339))
			return nil
		}
	},
}
