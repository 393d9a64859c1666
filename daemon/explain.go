package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

// ExplainRuns is how many of the portfolio's latest runs Explain lists.
const ExplainRuns = 5

// Explanation is everything about why one portfolio is, or is not,
// behind: served by `backfilld explain`, the ops page, and (its Reason)
// every entry of /status.
type Explanation struct {
	PortfolioID uuid.UUID  `json:"portfolio_id"`
	Name        string     `json:"name"`
	AccountName string     `json:"account_name"`
	Inception   time.Time  `json:"inception_date"`
	DeletedAt   *time.Time `json:"deleted_at,omitempty"`

	// State is the reconciler's state of the portfolio; "" when it has
	// no backfill state.
	State portfolio.State `json:"state"`
	// Watermark: every trading day through it has a snapshot; nil when
	// never snapshotted.
	Watermark *time.Time `json:"watermark"`
	// LastSession is the most recent closed session by the clock.
	LastSession time.Time `json:"last_session"`
	// Target is the latest closed session with the benchmark's close: the
	// day the reconciler brings portfolios up to. Nil when there is none.
	Target *time.Time `json:"target"`

	Progress
	LeaseExpired bool       `json:"lease_expired,omitempty"`
	Requested    bool       `json:"requested"`
	RequestedAt  *time.Time `json:"requested_at,omitempty"`
	// Reason says in words why the portfolio is, or is not, behind.
	Reason string `json:"reason"`

	// Runs are its latest batch runs, newest first.
	Runs []*portfolio.BatchRun `json:"runs"`
	// Benchmark and Prices tell, for the last closed session, whether
	// the benchmark and the symbols the positions are valued by have a
	// close.
	Benchmark SymbolPrice   `json:"benchmark"`
	Prices    []SymbolPrice `json:"prices"`

	hasState bool
}

// Progress is how far a portfolio is behind and how its backfills went:
// the fields /status and Explain share.
type Progress struct {
	// LagDays counts the target's trading days without a snapshot.
	LagDays int `json:"lag_trading_days"`
	// Attempts counts the failed backfills in a row.
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
	// NextAttemptAt is when the portfolio is due; Due says whether that
	// has passed by the database clock.
	NextAttemptAt time.Time `json:"next_attempt_at"`
	Due           bool      `json:"due"`
	// LeaseOwner is the worker that holds or held the lease, until
	// LeaseExpires; empty and nil when none does.
	LeaseOwner   string     `json:"lease_owner,omitempty"`
	LeaseExpires *time.Time `json:"lease_expires_at,omitempty"`
}

// SymbolPrice is a symbol's price coverage of the last closed session.
type SymbolPrice struct {
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

// Explain reads the portfolio's state, latest runs and prices as of the
// reconciler's clock. It returns portfolio.ErrNotFound for a portfolio
// that was never onboarded (a deleted one is explained as deleted).
func (r *Reconciler) Explain(ctx context.Context, id uuid.UUID) (*Explanation, error) {
	ec := r.engine.Config()
	schema := r.cfg.Schema
	now := r.cfg.Now()
	ex := &Explanation{PortfolioID: id, Prices: []SymbolPrice{}}
	ex.LastSession = batch.MostRecentClose(r.cal, now, ec.CloseDelay)
	ex.Benchmark.Symbol = ec.Benchmark
	var found bool

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
			if err := rows.Scan(&ex.Name, &ex.AccountName, &ex.Inception, &ex.DeletedAt, &ex.hasState,
				&ex.State, &ex.Watermark, &ex.Attempts, &ex.LastError, &ex.NextAttemptAt, &ex.Due,
				&ex.LeaseOwner, &ex.LeaseExpires, &ex.LeaseExpired, &ex.RequestedAt); err != nil {
				return err
			}
		}
		return rows.Err()
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
		var p SymbolPrice
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
	if err := r.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("explain %s: %w", id, err)
	}
	if !found {
		return nil, fmt.Errorf("explain %s: %w", id, portfolio.ErrNotFound)
	}
	runs, err := r.client.RunList(ctx, &portfolio.RunListParams{PortfolioID: id, Limit: ExplainRuns})
	if err != nil {
		return nil, fmt.Errorf("explain %s: %w", id, err)
	}
	ex.Runs = runs.Runs
	ex.Benchmark.Needed = true
	ex.Target = ex.Benchmark.LatestClose
	ex.Requested = ex.RequestedAt != nil
	if ex.Target != nil {
		ex.LagDays = lagDays(r.cal, ex.Watermark, ex.Inception, *ex.Target)
	}
	ex.Reason = ex.reason()
	return ex, nil
}

// lagDays counts the sessions through target without a snapshot: after
// the watermark, or from inception when never snapshotted.
func lagDays(cal batch.Calendar, watermark *time.Time, inception, target time.Time) int {
	from := inception.AddDate(0, 0, -1)
	if watermark != nil {
		from = *watermark
	}
	return batch.SessionsBetween(cal, from, target)
}

// reason says why the portfolio is behind, or that it is not, the most
// pressing cause first. It is the one wording of /status, explain and the
// ops page.
func (ex *Explanation) reason() string {
	id := ex.PortfolioID.String()
	switch {
	case ex.DeletedAt != nil:
		return "deleted: the reconciler no longer backfills it"
	case !ex.hasState:
		return "no backfill state: onboarded by something other than this library's Onboard"
	case ex.State == portfolio.StateQuarantined:
		return fmt.Sprintf("quarantined after %d failed attempts in a row; fix the cause, then `backfilld retry %s`. Last error: %s",
			ex.Attempts, id, ex.LastError)
	case ex.LeaseOwner != "" && !ex.LeaseExpired && ex.LeaseExpires != nil:
		return fmt.Sprintf("being backfilled now by %s (lease until %s)", ex.LeaseOwner, ex.LeaseExpires.UTC().Format(time.RFC3339))
	case ex.LeaseOwner != "" && ex.LeaseExpires != nil:
		return fmt.Sprintf("its lease held by %s expired at %s (the worker died or hangs); the next sweep of any replica takes it over",
			ex.LeaseOwner, ex.LeaseExpires.UTC().Format(time.RFC3339))
	case ex.State == portfolio.StateFailing:
		return fmt.Sprintf("failing: %d failed attempts in a row, next attempt at %s. Last error: %s",
			ex.Attempts, ex.NextAttemptAt.UTC().Format(time.RFC3339), ex.LastError)
	case ex.Target == nil:
		return fmt.Sprintf("waiting for prices: the benchmark %s has no close up to %s; `backfilld prices import` them",
			ex.Benchmark.Symbol, ex.LastSession.Format(time.DateOnly))
	}
	target := ex.Target.Format(time.DateOnly)
	var why string
	switch {
	case ex.Watermark == nil:
		why = fmt.Sprintf("never snapshotted: %d trading days to compute through %s", ex.LagDays, target)
	case ex.LagDays > 0:
		why = fmt.Sprintf("%d trading days behind the target %s", ex.LagDays, target)
	case ex.Requested:
		why = "a recalculation was requested"
	default:
		why = "current through the target " + target
		if !ex.Benchmark.HasClose {
			why += fmt.Sprintf("; the last closed session %s waits for %s's close (`backfilld prices import`)",
				ex.LastSession.Format(time.DateOnly), ex.Benchmark.Symbol)
		}
		return why
	}
	if ex.State == portfolio.StateWaitingForPrices {
		return why + fmt.Sprintf("; the last backfill waited for %s's close, retried at %s",
			ex.Benchmark.Symbol, ex.NextAttemptAt.UTC().Format(time.RFC3339))
	}
	if !ex.Due {
		return why + "; next attempt at " + ex.NextAttemptAt.UTC().Format(time.RFC3339)
	}
	return why + "; due: a running reconciler claims it on its next sweep (`backfilld run --once` runs it here)"
}
