package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
)

var onboardCommand = &command{
	Name:     "onboard",
	Args:     "FILE.csv",
	Summary:  "create a portfolio from a positions CSV and request its backfill",
	Database: true,
	Help: `Validate a positions file and, in one transaction, create the portfolio, its
positions, the capital flows the file records and a pending backfill run.
FILE.csv "-" reads standard input. The file is the seed system's 12-column
format or a broker export (Schwab, Fidelity, Interactive Brokers, Vanguard,
Robinhood), recognised by --format auto; --dry-run shows what would be
created and writes nothing.

Validation is all-or-nothing: every problem of every row is listed (row,
line, field, code, message) and nothing is written. An owner's account names
are unique: a second portfolio with the same one is ERR_PORT_001.

With --json the result is the onboarding result, or on invalid input the
error envelope {"error":{"code","message","details":{"errors":[…],"total_errors":N}}},
listing the first 100 errors.

Exit status 2 for invalid input and a duplicate account.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		var req portfolio.OnboardRequest
		fs.StringVar(&req.OwnerID, "owner", "", "owner `ID` in the embedding application (required)")
		fs.StringVar(&req.PortfolioName, "portfolio-name", "", "portfolio `NAME` (required)")
		fs.StringVar(&req.AccountName, "account-name", "", "account `NAME`, unique per owner (required)")
		fs.StringVar(&req.AccountType, "account-type", "", "account `TYPE` (required): "+strings.Join(portfolio.AccountTypes, ", "))
		fs.StringVar(&req.StartingEquity, "equity", "", "starting equity `AMOUNT`, a plain decimal such as 250000.00 (required)")
		fs.StringVar(&req.Description, "description", "", "optional description `TEXT`")
		fs.BoolVar(&req.NoRequest, "no-calculate", false, "do not request a backfill run now; the reconciler still backfills the portfolio on its next sweep")
		asJSON := fs.Bool("json", false, "print the result, or the error envelope, as JSON")
		imp := importFlags(fs)
		return func(ctx context.Context, a *app, args []string) error {
			if err := a.checkArgs(args, 1, 1); err != nil {
				return err
			}
			if err := imp.apply(a, &req); err != nil {
				return err
			}
			if imp.dryRun {
				return previewOnboard(ctx, a, &req, args[0], *asJSON)
			}
			var missing []string
			for _, f := range []struct{ name, value string }{
				{"--owner", req.OwnerID}, {"--portfolio-name", req.PortfolioName}, {"--account-name", req.AccountName},
				{"--account-type", req.AccountType}, {"--equity", req.StartingEquity},
			} {
				if f.value == "" {
					missing = append(missing, f.name)
				}
			}
			if len(missing) > 0 {
				return a.usage("missing %s", strings.Join(missing, ", "))
			}
			csv, closeCSV, err := openInput(ctx, a, args[0])
			if err != nil {
				return err
			}
			defer closeCSV()
			req.CSV = csv

			client, err := a.client(ctx)
			if err != nil {
				return err
			}
			res, err := client.Onboard(ctx, &req)
			var verr *portfolio.ValidationError
			if errors.As(err, &verr) {
				return reportValidation(a, verr, *asJSON)
			}
			if err != nil {
				return err
			}
			return printOut(a, *asJSON, res, printOnboarded)
		}
	},
}

// errorEnvelope is the JSON body of a rejected onboarding, as the seed
// system's API returned it.
type errorEnvelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    portfolio.Code         `json:"code"`
	Message string                 `json:"message"`
	Details portfolio.ErrorDetails `json:"details"`
}

// reportValidation describes a rejected onboarding, as JSON on stdout or as a
// table on stderr, and returns the error for exit status 2.
func reportValidation(a *app, verr *portfolio.ValidationError, asJSON bool) error {
	summary := fmt.Errorf("onboard: %s: %s; nothing was written", verr.Code, verr.Message)
	if asJSON {
		if err := writeJSON(a.stdout, errorEnvelope{errorBody{verr.Code, verr.Message, verr.Details()}}); err != nil {
			return err
		}
		return &reportedError{code: exitInvalid, err: summary}
	}
	fmt.Fprintf(a.stderr, "backfilld: %v\n", summary)
	if len(verr.Errors) > 0 {
		tw := newTable(a.stderr)
		fmt.Fprintln(tw, "  ROW\tLINE\tFIELD\tCODE\tMESSAGE")
		for _, e := range verr.Errors {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", orDash(e.Row), orDash(e.Line), cmp.Or(e.Field, "-"), e.Code, e.Message)
		}
		tw.Flush()
	}
	return &reportedError{code: exitInvalid, err: summary}
}

func orDash(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func printOnboarded(w io.Writer, res *portfolio.OnboardResult) {
	tw := newTable(w)
	fmt.Fprintf(tw, "Onboarded portfolio %s\n", res.PortfolioID)
	fmt.Fprintf(tw, "  name:\t%s (account %s, %s)\n", res.PortfolioName, res.AccountName, res.AccountType)
	fmt.Fprintf(tw, "  starting equity:\t%s\n", res.StartingEquity)
	fmt.Fprintf(tw, "  inception date:\t%s\n", res.InceptionDate.Format(time.DateOnly))
	fmt.Fprintf(tw, "  positions imported:\t%d\n", res.PositionsImported)
	if res.RunID != uuid.Nil {
		fmt.Fprintf(tw, "  backfill run:\t%s (pending)\n", res.RunID)
	} else {
		fmt.Fprintf(tw, "  backfill run:\tnone requested (--no-calculate)\n")
	}
	tw.Flush()
	fmt.Fprintf(w, "Next: `backfilld calculate --wait %s` computes its snapshots now;\n"+
		"a running reconciler (`backfilld run`) picks it up by itself.\n", res.PortfolioID)
}
