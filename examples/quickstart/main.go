// Command quickstart runs backfill end to end on an embedded PostgreSQL:
// it migrates, loads generated sample prices, onboards a sample portfolio
// through the library, brings it up to date and prints a summary.
//
//	go run ./examples/quickstart
//
// With DATABASE_URL set it uses that database instead of the embedded one.
// A second run reuses the embedded data directory and writes nothing new.
package main

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/pgserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// samplePositions is the sample portfolio: stocks, ETFs, a short, an
// option, cash and a closed position.
const samplePositions = `Symbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype,Underlying Symbol,Strike Price,Expiration Date,Option Type,Exit Date,Exit Price Per Share
AAPL,120,{AAPL},{start},PUBLIC,STOCK,,,,,,
MSFT,60,{MSFT},{start},PUBLIC,STOCK,,,,,,
NVDA,80,{NVDA},{start},PUBLIC,STOCK,,,,,,
JNJ,90,{JNJ},{start},PUBLIC,STOCK,,,,,,
SPY,40,{SPY},{start},PUBLIC,ETF,,,,,,
TLT,100,{TLT},{start},PUBLIC,ETF,,,,,,
SHOP,-150,{SHOP},{start},PUBLIC,STOCK,,,,,,
,5,{option},{start},OPTIONS,,SPY,{strike},{expiry},CALL,,
CASH_USD,25000,1,{start},,,,,,,,
XOM,200,{XOM},{start},PUBLIC,STOCK,,,,{exit},{XOMexit}
`

// sampleReference is the synthetic reference data (sectors, provider
// betas) of the sample symbols.
//
//go:embed sample_symbols.csv
var sampleReference string

// sampleSymbols get generated prices: the factor ETFs and the holdings.
var sampleSymbols = []string{"SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV", "AAPL", "MSFT", "NVDA", "JNJ", "SHOP", "XOM"}

func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	started := time.Now()
	logger := slog.New(slog.DiscardHandler)
	say := func(format string, args ...any) { fmt.Fprintf(out, "» "+format+"\n", args...) }

	url := getenv("DATABASE_URL")
	dir := getenv("BACKFILL_DATA_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "backfill-quickstart", "pgdata")
	}
	if url == "" {
		say("no DATABASE_URL: starting an embedded PostgreSQL in %s", dir)
	}
	pool, closeDB, err := pgserver.Open(ctx, url, &pgserver.Options{DataDir: dir, Logger: logger})
	if err != nil {
		return err
	}
	defer closeDB(context.WithoutCancel(ctx)) //nolint:errcheck // best effort on the way out
	if err := portfolio.Migrate(ctx, pool, nil); err != nil {
		return err
	}
	say("schema migrated (version %d)", portfolio.LatestVersion())

	cal := batch.NewNYSECalendar()
	through := batch.MostRecentClose(cal, time.Now(), batch.DefaultCloseDelay)
	// Three years of closes: a year of history before the portfolio's
	// first day fills the analytics windows from that day on.
	first := batch.Sessions(cal, through.AddDate(-3, 0, 0), through)[0]
	if err := loadPrices(ctx, pool, cal, first, through, say); err != nil {
		return err
	}

	ref, err := batch.ImportSymbols(ctx, pool, strings.NewReader(sampleReference), "sample_symbols.csv", nil)
	if err != nil {
		return fmt.Errorf("import symbols: %w", err)
	}
	say("reference data for %d symbols (synthetic sample; %d new)", ref.Rows, ref.Inserted)

	client, err := portfolio.NewClient(pool, nil)
	if err != nil {
		return err
	}
	id, err := onboardSample(ctx, pool, client, cal, through, say)
	if err != nil {
		return err
	}

	// The reconciler finds the new portfolio by itself (it was notified on
	// commit, and it was never snapshotted) and brings it up to date.
	reg := prometheus.NewRegistry()
	rec, err := daemon.New(pool, &daemon.Config{Logger: logger, Registerer: reg, Schedule: "@every 1h"})
	if err != nil {
		return err
	}
	if err := rec.Start(ctx); err != nil {
		return err
	}
	bf, err := waitCurrent(ctx, client, id, say)
	if err == nil {
		// One more sweep refreshes the reconciler's state gauges; it finds
		// nothing to do.
		_, err = rec.SweepNow(ctx)
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := rec.Stop(stopCtx); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	if err := summary(ctx, client, out, id, bf); err != nil {
		return err
	}
	if err := metricLines(reg, out); err != nil {
		return err
	}
	say("done in %s", time.Since(started).Round(time.Millisecond))
	return nil
}

// onboardSample onboards the sample portfolio, entered two years ago at
// that day's closes, unless an earlier run already did.
func onboardSample(ctx context.Context, pool *pgxpool.Pool, client *portfolio.Client, cal batch.Calendar, through time.Time, say func(string, ...any)) (uuid.UUID, error) {
	const owner, account = "quickstart", "Sample brokerage"
	mine, err := client.PortfolioList(ctx, &portfolio.PortfolioListParams{OwnerID: owner})
	if err != nil {
		return uuid.Nil, err
	}
	for _, p := range mine {
		if p.AccountName == account {
			say("sample portfolio %s already onboarded", p.ID)
			return p.ID, nil
		}
	}
	start := batch.SessionOnOrAfter(cal, through.AddDate(-2, 0, 0))
	exit := batch.PrevSession(cal, through.AddDate(-1, 0, 0))
	prices := batch.NewDBPriceSource(pool, client.Config().Schema)
	closeOn := func(sym string, d time.Time) (float64, error) {
		closes, err := prices.Closes(ctx, []string{sym}, d, d)
		if err != nil {
			return 0, err
		}
		for _, c := range closes[sym] {
			if c.Date.Equal(d) {
				return c.Value, nil
			}
		}
		return 0, errors.New("no close")
	}
	repl := []string{"{start}", start.Format(time.DateOnly), "{exit}", exit.Format(time.DateOnly),
		"{expiry}", batch.PrevSession(cal, through.AddDate(0, -6, 0)).Format(time.DateOnly)}
	for _, sym := range []string{"AAPL", "MSFT", "NVDA", "JNJ", "SPY", "TLT", "SHOP", "XOM"} {
		c, err := closeOn(sym, start)
		if err != nil {
			return uuid.Nil, fmt.Errorf("close of %s on %s: %w", sym, start.Format(time.DateOnly), err)
		}
		repl = append(repl, "{"+sym+"}", fmt.Sprintf("%.2f", c))
	}
	spy, _ := closeOn("SPY", start)
	strike := math.Round(spy*1.05/5) * 5
	xomExit, err := closeOn("XOM", exit)
	if err != nil {
		return uuid.Nil, err
	}
	repl = append(repl, "{strike}", fmt.Sprintf("%.0f", strike), "{option}", fmt.Sprintf("%.2f", spy*0.04),
		"{XOMexit}", fmt.Sprintf("%.2f", xomExit))
	res, err := client.Onboard(ctx, &portfolio.OnboardRequest{
		OwnerID: owner, PortfolioName: "Quickstart sample", AccountName: account,
		AccountType: "taxable", StartingEquity: "250000",
		CSV: strings.NewReader(strings.NewReplacer(repl...).Replace(samplePositions)),
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("onboard: %w", err)
	}
	say("onboarded %s: %d positions, backfill run %s requested", res.PortfolioID, res.PositionsImported, res.RunID)
	return res.PortfolioID, nil
}

// loadPrices imports deterministic generated closes for the sample symbols
// unless they are already there.
func loadPrices(ctx context.Context, pool *pgxpool.Pool, cal batch.Calendar, first, through time.Time, say func(string, ...any)) error {
	closes, err := batch.NewDBPriceSource(pool, portfolio.DefaultSchema).Closes(ctx, sampleSymbols, first, through)
	if err != nil {
		return err
	}
	have := 0
	for _, cs := range closes {
		for _, c := range cs {
			if !c.Date.Before(first) {
				have++
			}
		}
	}
	sessions := batch.Sessions(cal, first, through)
	if have == len(sessions)*len(sampleSymbols) {
		say("sample prices already loaded (%d closes)", have)
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString("date,symbol,close\n")
	for i, sym := range sampleSymbols {
		// The anchor date fixes every path, so a date always gets the same
		// close whatever day the quickstart runs.
		rng := rand.New(rand.NewPCG(uint64(i)+1, 42))
		p := 50 + 400*rng.Float64()
		d := time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)
		for !d.After(through) {
			p *= math.Exp(0.0003 + 0.015*rng.NormFloat64())
			if !d.Before(first) {
				fmt.Fprintf(&buf, "%s,%s,%.2f\n", d.Format(time.DateOnly), sym, p)
			}
			d = batch.NextSession(cal, d)
		}
	}
	res, err := batch.ImportPrices(ctx, pool, &buf, "sample-prices.csv", nil)
	if err != nil {
		return fmt.Errorf("import prices: %w", err)
	}
	say("loaded %d sample closes for %d symbols (%d new)", res.Rows, res.Symbols, res.Inserted)
	return nil
}

// runInfo is the last batch run of the portfolio.
type runInfo struct {
	status             string
	daysWritten, total int
	warnings           []batch.Warning
	wrote              bool // a run wrote days during this quickstart
}

// waitCurrent polls the portfolio's state while the reconciler works,
// printing progress, until it is current (or waiting for prices).
func waitCurrent(ctx context.Context, client *portfolio.Client, id uuid.UUID, say func(string, ...any)) (*runInfo, error) {
	startedAt := time.Now()
	deadline := startedAt.Add(2 * time.Minute)
	var last string
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for {
		p, err := client.PortfolioGet(ctx, id)
		if err != nil {
			return nil, err
		}
		state := p.State
		runs, err := client.RunList(ctx, &portfolio.RunListParams{PortfolioID: id, Limit: 1})
		if err != nil {
			return nil, err
		}
		var run runInfo
		if len(runs.Runs) > 0 {
			r := runs.Runs[0]
			run.status, run.daysWritten, run.total = string(r.Status), r.DaysWritten, r.DaysTotal
			if err := json.Unmarshal(r.Warnings, &run.warnings); err != nil {
				return nil, err
			}
			run.wrote = r.StartedAt != nil && r.StartedAt.After(startedAt.Add(-time.Second)) && run.daysWritten > 0
		}
		line := fmt.Sprintf("portfolio %s; last run %s, %d/%d days written", state, run.status, run.daysWritten, run.total)
		if line != last {
			say("%s", line)
			last = line
		}
		switch state {
		case portfolio.StateCurrent, portfolio.StateWaitingForPrices:
			return &run, nil
		case portfolio.StateFailing, portfolio.StateQuarantined:
			return nil, fmt.Errorf("backfill failed (state %s)", state)
		}
		if time.Now().After(deadline) {
			return nil, errors.New("portfolio not current after 2 minutes")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ticker.C:
		}
	}
}

// metricLines prints a few of the reconciler's metrics.
func metricLines(reg *prometheus.Registry, out io.Writer) error {
	families, err := reg.Gather()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nreconciler metrics (excerpt)\n")
	want := map[string]bool{"backfill_backfills_total": true, "backfill_days_written_total": true,
		"backfill_portfolios": true, "backfill_sweeps_total": true}
	for _, f := range families {
		if !want[f.GetName()] {
			continue
		}
		for _, m := range f.GetMetric() {
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if v == 0 {
				continue
			}
			labels := ""
			for _, l := range m.GetLabel() {
				labels += fmt.Sprintf(`%s=%q`, l.GetName(), l.GetValue())
			}
			if labels != "" {
				labels = "{" + labels + "}"
			}
			fmt.Fprintf(out, "  %s%s %g\n", f.GetName(), labels, v)
		}
	}
	return nil
}

// summary prints the NAV path, returns, exposures and risk.
func summary(ctx context.Context, client *portfolio.Client, out io.Writer, id uuid.UUID, bf *runInfo) error {
	snaps, err := client.SnapshotList(ctx, id, nil)
	if err != nil {
		return err
	}
	if len(snaps) == 0 {
		return errors.New("no snapshots: are prices loaded for the benchmark SPY?")
	}
	fmt.Fprintf(out, "\nNAV path (month ends)\n")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "date\tNAV\tcumulative return\tgross\tnet\tpositions\t")
	for i, s := range snaps {
		if i == len(snaps)-1 || snaps[i+1].Date.Month() != s.Date.Month() {
			fmt.Fprintf(tw, "%s\t%.2f\t%s\t%.0f\t%.0f\t%d\t\n", s.Date.Format(time.DateOnly), s.NAV, pct(s.CumulativeReturn), s.GrossExposure, s.NetExposure, s.NumPositions)
		}
	}
	tw.Flush()
	var best, worst *portfolio.Snapshot
	for _, s := range snaps {
		if s.DailyReturn == nil {
			continue
		}
		if best == nil || *s.DailyReturn > *best.DailyReturn {
			best = s
		}
		if worst == nil || *s.DailyReturn < *worst.DailyReturn {
			worst = s
		}
	}
	last := snaps[len(snaps)-1]
	fmt.Fprintf(out, "\nlast day %s: NAV %.2f, long %.2f, short %.2f, gross %.2f, net %.2f\n",
		last.Date.Format(time.DateOnly), last.NAV, last.LongValue, last.ShortValue, last.GrossExposure, last.NetExposure)
	if best != nil {
		fmt.Fprintf(out, "best day %s (%s), worst day %s (%s)\n", best.Date.Format(time.DateOnly), pct(best.DailyReturn),
			worst.Date.Format(time.DateOnly), pct(worst.DailyReturn))
	}
	vol21, vol63, beta, dd := last.Volatility21d, last.Volatility63d, last.BetaRealized90d, last.MaxDrawdown
	fmt.Fprintf(out, "risk: volatility 21d %s, 63d %s, realized beta 90d %s, max drawdown %s\n",
		strings.TrimPrefix(pct(vol21), "+"), strings.TrimPrefix(pct(vol63), "+"), num(beta), pct(dd))

	factors, err := client.FactorExposureList(ctx, id, last.Date)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nfactor exposures on %s\n", last.Date.Format(time.DateOnly))
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "factor\texposure\tdollars\tholdings\texcluded\tgross covered\t")
	for _, f := range factors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t\n", f.Factor, num(f.Exposure), money(f.ExposureDollar),
			f.HoldingsCovered, f.HoldingsExcluded, pct(f.GrossCoverage))
	}
	tw.Flush()
	if err := composition(ctx, client, out, last); err != nil {
		return err
	}
	if bf != nil && bf.wrote {
		fmt.Fprintf(out, "\nrun: %s, %d days written, %d warnings\n", bf.status, bf.daysWritten, len(bf.warnings))
		for i, w := range bf.warnings {
			if i == 5 {
				fmt.Fprintf(out, "  … and %d more\n", len(bf.warnings)-5)
				break
			}
			fmt.Fprintf(out, "  warning %s %s %s..%s: %s\n", w.Code, w.Symbol, w.From, w.To, w.Message)
		}
	}
	return nil
}

func num(x *float64) string {
	if x == nil {
		return "—"
	}
	return fmt.Sprintf("%.3f", *x)
}

func money(x *float64) string {
	if x == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f", *x)
}

func pct(x *float64) string {
	if x == nil {
		return "—"
	}
	return fmt.Sprintf("%+.2f%%", *x*100)
}

// composition prints the day's sector exposure, concentration and
// provider beta.
func composition(ctx context.Context, client *portfolio.Client, out io.Writer, last *portfolio.Snapshot) error {
	rows, err := client.AnalyticsRows(ctx, portfolio.RelationSectorExposures, last.PortfolioID, last.Date)
	if err != nil {
		return err
	}
	field := func(r portfolio.Row, name string) *float64 {
		var v *float64
		json.Unmarshal(r[name], &v) //nolint:errcheck // absent or null: nil
		return v
	}
	zero := func(v *float64) float64 {
		if v == nil {
			return 0
		}
		return *v
	}
	slices.SortFunc(rows, func(a, b portfolio.Row) int {
		if c := cmp.Compare(zero(field(b, "gross_weight")), zero(field(a, "gross_weight"))); c != 0 {
			return c
		}
		return strings.Compare(string(a["sector"]), string(b["sector"]))
	})
	fmt.Fprintf(out, "\nsector exposure on %s\n", last.Date.Format(time.DateOnly))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "sector\tlong\tshort\tnet\tgross weight\tnet weight\t")
	for _, r := range rows {
		var sector string
		json.Unmarshal(r["sector"], &sector) //nolint:errcheck // shown empty
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%s\t%s\t\n", sector, zero(field(r, "long_value")), zero(field(r, "short_value")),
			zero(field(r, "net_value")), strings.TrimPrefix(pct(field(r, "gross_weight")), "+"), pct(field(r, "net_weight")))
	}
	tw.Flush()
	col := func(name string) *float64 {
		if v, ok := last.ExtraFloat(name); ok {
			return &v
		}
		return nil
	}
	hhi, eff, top1, top3, top10, pb, pbCov := col("hhi"), col("effective_positions"), col("top1_weight"), col("top3_weight"),
		col("top10_weight"), col("provider_beta"), col("provider_beta_coverage")
	fmt.Fprintf(out, "concentration: HHI %s, effective positions %s, top 1 / 3 / 10 weight %s / %s / %s\n",
		money(hhi), num(eff), strings.TrimPrefix(pct(top1), "+"), strings.TrimPrefix(pct(top3), "+"), strings.TrimPrefix(pct(top10), "+"))
	fmt.Fprintf(out, "provider beta %s (holdings with a reference beta hold %s of gross)\n", num(pb), strings.TrimPrefix(pct(pbCov), "+"))
	return nil
}
