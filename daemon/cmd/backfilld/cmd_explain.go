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
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

// explainRuns is how many of the portfolio's latest runs explain shows.
const explainRuns = 5

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
			if err := a.checkArgs(args, 1, 1); err != nil {
				return err
			}
			id, err := parsePortfolioID(args[0])
			if err != nil {
				return err
			}
			pool, err := a.db(ctx)
			if err != nil {
				return err
			}
			engine, err := batch.NewEngine(pool, &batch.Config{Schema: a.schema, Now: a.now, Logger: a.logger})
			if err != nil {
				return err
			}
			ex, err := explain(ctx, pool, a.schema, engine.Config(), a.now(), id)
			if errors.Is(err, portfolio.ErrNotFound) {
				return fmt.Errorf("portfolio %s not found (never onboarded)", id)
			}
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(a.stdout, ex)
			}
			printExplanation(a.stdout, ex)
			return nil
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

// explanation is what explain reports about one portfolio.
type explanation struct {
	PortfolioID uuid.UUID  `json:"portfolio_id"`
	Name        string     `json:"name"`
	AccountName string     `json:"account_name"`
	Inception   time.Time  `json:"inception_date"`
	DeletedAt   *time.Time `json:"deleted_at,omitempty"`

	// State is the reconciler's state of the portfolio.
	State string `json:"state"`
	// Watermark: every trading day through it has a snapshot; nil when
	// never snapshotted.
	Watermark *time.Time `json:"watermark"`
	// LastSession is the most recent closed session by the clock.
	LastSession time.Time `json:"last_session"`
	// Target is the latest closed session with the benchmark's close: the
	// day the reconciler brings portfolios up to. Nil when there is none.
	Target *time.Time `json:"target"`
	// LagDays counts the target's trading days without a snapshot.
	LagDays int `json:"lag_trading_days"`

	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	Due           bool       `json:"due"`
	LeaseOwner    string     `json:"lease_owner,omitempty"`
	LeaseExpires  *time.Time `json:"lease_expires_at,omitempty"`
	LeaseExpired  bool       `json:"lease_expired,omitempty"`
	Requested     bool       `json:"requested"`
	RequestedAt   *time.Time `json:"requested_at,omitempty"`
	// Reason says in words why the portfolio is, or is not, behind.
	Reason string `json:"reason"`

	// Runs are its latest batch runs, newest first.
	Runs []explainedRun `json:"runs"`
	// Benchmark and Prices tell, for the last closed session, whether
	// the benchmark and the symbols the positions are valued by have a
	// close.
	Benchmark symbolPrice   `json:"benchmark"`
	Prices    []symbolPrice `json:"prices"`
}

type explainedRun struct {
	ID          uuid.UUID  `json:"batch_run_id"`
	Trigger     string     `json:"trigger"`
	Status      string     `json:"status"`
	Worker      string     `json:"worker,omitempty"`
	RequestedAt time.Time  `json:"requested_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	From        *time.Time `json:"from,omitempty"`
	Through     *time.Time `json:"through,omitempty"`
	DaysTotal   int        `json:"days_total"`
	DaysWritten int        `json:"days_written"`
	Error       string     `json:"error,omitempty"`
}

// symbolPrice is a symbol's price coverage of the last closed session.
type symbolPrice struct {
	Symbol string `json:"symbol"`
	// LatestClose is its latest close on or before the last closed
	// session; nil when it has none.
	LatestClose *time.Time `json:"latest_close"`
	// Close is the value of that close, exact (NUMERIC as text); nil when
	// there is none.
	Close *string `json:"close"`
	// HasClose: it has a close on the last closed session.
	HasClose bool `json:"has_close"`
	// Needed: it is the benchmark, or a position valued by it is open on
	// the last closed session.
	Needed bool `json:"needed"`
}

// explain reads the portfolio's state, runs and prices as of now. It
// returns portfolio.ErrNotFound for an unknown portfolio.
func explain(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, ec batch.Config, now time.Time, id uuid.UUID) (*explanation, error) {
	ex := &explanation{PortfolioID: id, Runs: []explainedRun{}, Prices: []symbolPrice{}}
	ex.LastSession = batch.MostRecentClose(ec.Calendar, now, ec.CloseDelay)
	ex.Benchmark.Symbol = ec.Benchmark
	var found, hasState bool

	b := &pgx.Batch{}
	b.Queue(schema.SQL(`
		SELECT p.name, p.account_name, p.inception_date, p.deleted_at, s.portfolio_id IS NOT NULL,
		       coalesce(s.status, ''), s.snapshot_through, coalesce(s.attempts, 0), coalesce(s.last_error, ''),
		       coalesce(s.next_attempt_at, now()), coalesce(s.next_attempt_at <= now(), false),
		       coalesce(s.lease_owner, ''), s.lease_expires_at, coalesce(s.lease_expires_at <= now(), false),
		       s.requested_at
		FROM {schema}.portfolios p LEFT JOIN {schema}.backfill_state s ON s.portfolio_id = p.id
		WHERE p.id = $1`), id).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			found = true
			if err := rows.Scan(&ex.Name, &ex.AccountName, &ex.Inception, &ex.DeletedAt, &hasState,
				&ex.State, &ex.Watermark, &ex.Attempts, &ex.LastError, &ex.NextAttemptAt, &ex.Due,
				&ex.LeaseOwner, &ex.LeaseExpires, &ex.LeaseExpired, &ex.RequestedAt); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	b.Queue(schema.SQL(`
		SELECT id, trigger, status, coalesce(worker, ''), requested_at, started_at, finished_at,
		       from_date, through_date, days_total, days_written, coalesce(error, '')
		FROM {schema}.batch_runs WHERE portfolio_id = $1
		ORDER BY requested_at DESC, id DESC LIMIT $2`), id, explainRuns).Query(func(rows pgx.Rows) error {
		var r explainedRun
		_, err := pgx.ForEachRow(rows, []any{&r.ID, &r.Trigger, &r.Status, &r.Worker, &r.RequestedAt, &r.StartedAt,
			&r.FinishedAt, &r.From, &r.Through, &r.DaysTotal, &r.DaysWritten, &r.Error}, func() error {
			ex.Runs = append(ex.Runs, r)
			return nil
		})
		return err
	})
	// The symbols positions are valued by (as the engine prices them),
	// each with whether a position in it is open on the day, once: the
	// benchmark is reported on its own.
	b.Queue(schema.SQL(`
		WITH held AS (
			SELECT s.symbol,
			       bool_or(p.entry_date <= $2 AND (p.exit_date IS NULL OR p.exit_date > $2)
			               AND (p.expiration_date IS NULL OR p.expiration_date >= $2)) AS open
			FROM {schema}.positions p
			CROSS JOIN LATERAL (VALUES (p.symbol), (CASE WHEN p.investment_class = 'OPTIONS' THEN p.underlying_symbol END)) s (symbol)
			WHERE p.portfolio_id = $1 AND NOT p.is_cash AND p.investment_class <> 'PRIVATE' AND s.symbol IS NOT NULL
			  AND s.symbol <> $3
			GROUP BY s.symbol
		)
		SELECT h.symbol, h.open, l.price_date, l.close::text, coalesce(l.price_date = $2, false)
		FROM held h
		LEFT JOIN LATERAL (
			SELECT m.price_date, m.close FROM {schema}.market_prices m
			WHERE m.symbol = h.symbol AND m.price_date <= $2 ORDER BY m.price_date DESC LIMIT 1
		) l ON true
		ORDER BY h.symbol`), id, ex.LastSession, ec.Benchmark).Query(func(rows pgx.Rows) error {
		var p symbolPrice
		_, err := pgx.ForEachRow(rows, []any{&p.Symbol, &p.Needed, &p.LatestClose, &p.Close, &p.HasClose}, func() error {
			ex.Prices = append(ex.Prices, p)
			return nil
		})
		return err
	})
	b.Queue(schema.SQL(`
		SELECT l.price_date, l.close::text, coalesce(l.price_date = $2, false)
		FROM (SELECT 1) AS one
		LEFT JOIN LATERAL (
			SELECT price_date, close FROM {schema}.market_prices
			WHERE symbol = $1 AND price_date <= $2 ORDER BY price_date DESC LIMIT 1
		) l ON true`), ec.Benchmark, ex.LastSession).
		QueryRow(func(row pgx.Row) error {
			return row.Scan(&ex.Benchmark.LatestClose, &ex.Benchmark.Close, &ex.Benchmark.HasClose)
		})
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("explain %s: %w", id, err)
	}
	if !found {
		return nil, fmt.Errorf("explain %s: %w", id, portfolio.ErrNotFound)
	}
	ex.Benchmark.Needed = true
	ex.Target = ex.Benchmark.LatestClose
	ex.Requested = ex.RequestedAt != nil
	if ex.Target != nil {
		from := ex.Inception.AddDate(0, 0, -1) // never snapshotted: every session since inception
		if ex.Watermark != nil {
			from = *ex.Watermark
		}
		ex.LagDays = batch.SessionsBetween(ec.Calendar, from, *ex.Target)
	}
	ex.Reason = ex.reason(hasState, now)
	return ex, nil
}

// reason says why the portfolio is behind, or that it is not, the most
// pressing cause first.
func (ex *explanation) reason(hasState bool, now time.Time) string {
	id := ex.PortfolioID.String()
	switch {
	case ex.DeletedAt != nil:
		return "deleted: the reconciler no longer backfills it"
	case !hasState:
		return "no backfill state: onboarded by something other than this library's Onboard"
	case ex.State == "quarantined":
		return fmt.Sprintf("quarantined after %d failed attempts in a row; fix the cause, then `backfilld retry %s`. Last error: %s",
			ex.Attempts, id, ex.LastError)
	case ex.LeaseOwner != "" && !ex.LeaseExpired:
		return fmt.Sprintf("being backfilled now by %s (lease until %s)", ex.LeaseOwner, ex.LeaseExpires.UTC().Format(time.RFC3339))
	case ex.LeaseOwner != "":
		return fmt.Sprintf("its lease held by %s expired at %s (the worker died or hangs); the next sweep of any replica takes it over",
			ex.LeaseOwner, ex.LeaseExpires.UTC().Format(time.RFC3339))
	case ex.State == "failing":
		return fmt.Sprintf("failing: %d failed attempts in a row, next attempt at %s. Last error: %s",
			ex.Attempts, ex.NextAttemptAt.UTC().Format(time.RFC3339), ex.LastError)
	case ex.Target == nil:
		return fmt.Sprintf("waiting for prices: the benchmark %s has no close up to %s; `backfilld prices import` them",
			ex.Benchmark.Symbol, day(ex.LastSession))
	}
	var why string
	switch {
	case ex.Watermark == nil:
		why = fmt.Sprintf("never snapshotted: %d trading days to compute through %s", ex.LagDays, day(*ex.Target))
	case ex.LagDays > 0:
		why = fmt.Sprintf("%d trading days behind the target %s", ex.LagDays, day(*ex.Target))
	case ex.Requested:
		why = "a recalculation was requested"
	default:
		why = "current through the target " + day(*ex.Target)
		if !ex.Benchmark.HasClose {
			why += fmt.Sprintf("; the last closed session %s waits for %s's close (`backfilld prices import`)",
				day(ex.LastSession), ex.Benchmark.Symbol)
		}
		return why
	}
	if ex.State == "waiting_for_prices" {
		return why + fmt.Sprintf("; the last backfill waited for %s's close, retried at %s",
			ex.Benchmark.Symbol, ex.NextAttemptAt.UTC().Format(time.RFC3339))
	}
	if !ex.Due {
		return why + "; next attempt at " + ex.NextAttemptAt.UTC().Format(time.RFC3339)
	}
	return why + "; due: a running reconciler claims it on its next sweep (`backfilld run --once` runs it here)"
}

func printExplanation(w io.Writer, ex *explanation) {
	tw := newTable(w)
	fmt.Fprintf(tw, "Portfolio %s: %s\n", ex.PortfolioID, orNone(ex.State))
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
	case ex.State == "quarantined":
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
	row := func(p symbolPrice, note string) {
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
