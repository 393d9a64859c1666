package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sigmasight/backfill/portfolio"
)

// onboardImportFlags are onboard's flags for broker exports.
type onboardImportFlags struct {
	format, entryDate string
	dryRun            bool
}

func importFlags(fs *flag.FlagSet) *onboardImportFlags {
	f := new(onboardImportFlags)
	fs.StringVar(&f.format, "format", string(portfolio.FormatAuto), "file `FORMAT`: auto (recognise it), "+formatNames())
	fs.StringVar(&f.entryDate, "entry-date", "", "entry `DATE` (YYYY-MM-DD) of positions whose export states no trade date; default: the export's \"as of\" date")
	fs.BoolVar(&f.dryRun, "dry-run", false, "convert and validate the file, print what would be created, and write nothing (no database needed)")
	return f
}

// apply checks the flags and sets them on req.
func (f *onboardImportFlags) apply(a *app, req *portfolio.OnboardRequest) error {
	format, err := portfolio.ParseFormat(f.format)
	if err != nil {
		return a.usage("--format %q: use auto or one of %s", f.format, formatNames())
	}
	req.Format = format
	if f.entryDate != "" {
		d, err := portfolio.ParseDate(f.entryDate)
		if err != nil {
			return a.usage("--entry-date %q: want a date as YYYY-MM-DD", f.entryDate)
		}
		req.EntryDate = d
	}
	return nil
}

func formatNames() string {
	names := make([]string, len(portfolio.Formats))
	for i, n := range portfolio.Formats {
		names[i] = string(n)
	}
	return strings.Join(names, ", ")
}

// previewOnboard is onboard --dry-run: the file is converted and validated
// as Onboard would, and nothing touches the database.
func previewOnboard(ctx context.Context, a *app, req *portfolio.OnboardRequest, name string, asJSON bool) error {
	csv, closeCSV, err := openInput(ctx, a, name)
	if err != nil {
		return err
	}
	defer closeCSV()
	imp, err := portfolio.ReadPositions(csv, &portfolio.ImportOptions{Format: req.Format, EntryDate: req.EntryDate, Now: a.now})
	var verr *portfolio.ValidationError
	if errors.As(err, &verr) {
		return reportValidation(a, verr, asJSON)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(a.stdout, newPreviewJSON(imp))
	}
	printPreview(a.stdout, imp)
	return nil
}

// previewJSON is the --dry-run --json output: the import, with positions
// and flows under the same snake_case names as the rest of the output.
type previewJSON struct {
	DryRun bool `json:"dry_run"`
	*portfolio.Import
	Positions []previewPosition `json:"positions"`
	Flows     []previewFlow     `json:"flows"`
}

type previewPosition struct {
	Line            int                `json:"line"`
	Symbol          string             `json:"symbol"`
	PositionType    string             `json:"position_type"`
	Quantity        portfolio.Decimal  `json:"quantity"`
	EntryPrice      portfolio.Decimal  `json:"entry_price"`
	EntryDate       string             `json:"entry_date"`
	InvestmentClass string             `json:"investment_class"`
	Subtype         string             `json:"investment_subtype,omitempty"`
	IsCash          bool               `json:"is_cash"`
	Underlying      string             `json:"underlying_symbol,omitempty"`
	Strike          *portfolio.Decimal `json:"strike_price,omitempty"`
	Expiration      string             `json:"expiration_date,omitempty"`
	OptionType      string             `json:"option_type,omitempty"`
	Multiplier      int                `json:"multiplier"`
}

type previewFlow struct {
	Line        int    `json:"line"`
	Date        string `json:"flow_date"`
	Amount      string `json:"amount"`
	Description string `json:"description"`
}

func newPreviewJSON(imp *portfolio.Import) previewJSON {
	out := previewJSON{DryRun: true, Import: imp, Positions: []previewPosition{}, Flows: []previewFlow{}}
	for _, p := range imp.Positions {
		v := previewPosition{Line: p.Line, Symbol: p.Symbol, PositionType: string(p.Type), Quantity: p.Quantity,
			EntryPrice: p.EntryPrice, EntryDate: p.EntryDate.Format(time.DateOnly), InvestmentClass: string(p.Class),
			Subtype: p.Subtype, IsCash: p.IsCash, Underlying: p.Underlying, Strike: p.Strike,
			OptionType: string(p.OptionType), Multiplier: p.Multiplier}
		if p.Expiration != nil {
			v.Expiration = p.Expiration.Format(time.DateOnly)
		}
		out.Positions = append(out.Positions, v)
	}
	for _, f := range imp.Flows {
		out.Flows = append(out.Flows, previewFlow{Line: f.Line, Date: f.Date.Format(time.DateOnly), Amount: f.Amount, Description: f.Description})
	}
	return out
}

func printPreview(w io.Writer, imp *portfolio.Import) {
	how := "as asked"
	if imp.Detected {
		how = "detected by " + imp.Signature
	}
	fmt.Fprintf(w, "Dry run: nothing was written.\nFormat: %s (%s)\n", imp.Format, how)
	if imp.AsOf != nil {
		fmt.Fprintf(w, "As of: %s\n", imp.AsOf.Format(time.DateOnly))
	}
	fmt.Fprintf(w, "\nPositions (%d):\n", len(imp.Positions))
	tw := newTable(w)
	fmt.Fprintln(tw, "  LINE\tSYMBOL\tTYPE\tQUANTITY\tENTRY PRICE\tENTRY DATE\tCLASS\tOPTION")
	for _, p := range imp.Positions {
		option := "-"
		if p.Class == portfolio.ClassOptions {
			option = fmt.Sprintf("%s %s %s %s", p.Underlying, p.OptionType, p.Strike, p.Expiration.Format(time.DateOnly))
		}
		class := string(p.Class)
		if p.IsCash {
			class += " (cash)"
		} else if p.Subtype != "" {
			class += "/" + p.Subtype
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Line, p.Symbol, p.Type, p.Quantity, p.EntryPrice,
			p.EntryDate.Format(time.DateOnly), class, option)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nCapital flows (%d):\n", len(imp.Flows))
	for _, f := range imp.Flows {
		fmt.Fprintf(w, "  line %d\t%s\t%s\t%s\n", f.Line, f.Date.Format(time.DateOnly), f.Amount, f.Description)
	}
	fmt.Fprintf(w, "\nSkipped rows (%d):\n", len(imp.Skipped))
	for _, s := range imp.Skipped {
		fmt.Fprintf(w, "  line %d: %s: %s\n", s.Line, s.Reason, cmp.Or(s.Text, "-"))
	}
	if len(imp.Warnings) > 0 {
		fmt.Fprintf(w, "\nWarnings (%d):\n", len(imp.Warnings))
		for _, x := range imp.Warnings {
			fmt.Fprintf(w, "  line %d %s: %s\n", x.Line, x.Symbol, x.Message)
		}
	}
	if len(imp.Checks) > 0 {
		bad := 0
		for _, c := range imp.Checks {
			if !c.OK {
				bad++
			}
		}
		fmt.Fprintf(w, "\nMarket value: %s per the export, %s as quantity × price (%d of %d rows agree)\n",
			imp.ExportValue, imp.ComputedValue, len(imp.Checks)-bad, len(imp.Checks))
	}
}
