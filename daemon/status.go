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

// refreshGauges sets the database-derived gauges: portfolios by state and
// by lag behind target, the largest lag, and the oldest missing day.
func (r *Reconciler) refreshGauges(ctx context.Context, target time.Time) error {
	st, err := r.Status(ctx, target, 0)
	if err != nil {
		return err
	}
	for _, s := range portfolio.States() {
		r.metrics.portfolios.WithLabelValues(string(s)).Set(float64(st.ByState[s]))
	}
	for _, l := range lagBuckets {
		r.metrics.behind.WithLabelValues(l).Set(float64(st.Behind[l]))
	}
	r.metrics.maxLag.Set(float64(st.MaxLagTradingDays))
	var oldest time.Time
	if st.OldestMissing != nil {
		oldest = *st.OldestMissing
	}
	r.metrics.oldestMissing.Set(unixDay(oldest))
	r.metrics.targetDay.Set(unixDay(target))
	return nil
}

func unixDay(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Unix())
}

// Status is the reconciler's view of all portfolios, served by /status.
type Status struct {
	Overview
	LastSweep *SweepResult `json:"last_sweep,omitempty"`
	InFlight  int          `json:"in_flight"`
}

// Overview is what the database tells of all portfolios: Status without
// what only a running reconciler knows (`backfilld status --json`).
type Overview struct {
	Target time.Time `json:"target"`
	// ByState counts the portfolios in each state, every state present.
	ByState           map[portfolio.State]int `json:"by_state"`
	Behind            map[string]int          `json:"behind"`
	MaxLagTradingDays int                     `json:"max_lag_trading_days"`
	// OldestMissing is the earliest session some portfolio lacks a
	// snapshot for; nil (JSON null) when nothing is missing.
	OldestMissing *time.Time `json:"oldest_missing"`
	// Attention lists the most-behind or failing portfolios with why.
	Attention []PortfolioStatus `json:"attention"`
}

// PortfolioStatus explains one portfolio's state.
type PortfolioStatus struct {
	PortfolioID uuid.UUID       `json:"portfolio_id"`
	State       portfolio.State `json:"state"`
	Watermark   *time.Time      `json:"watermark"`
	Progress
	Requested bool `json:"requested"`
	// Reason is the wording of Explain's Reason.
	Reason string `json:"reason"`
}

// Status reads the state of every portfolio against target (zero: the
// current target day), listing up to limit portfolios that need attention.
func (r *Reconciler) Status(ctx context.Context, target time.Time, limit int) (*Status, error) {
	if target.IsZero() {
		var err error
		if target, err = r.target(ctx); err != nil {
			return nil, err
		}
	}
	st := &Status{Overview: Overview{Target: target, ByState: map[portfolio.State]int{}, Behind: map[string]int{}}}
	var oldest time.Time // zero until a missing day is found
	for _, s := range portfolio.States() {
		st.ByState[s] = 0
	}
	for _, l := range lagBuckets {
		st.Behind[l] = 0
	}
	b := &pgx.Batch{}
	b.Queue(r.cfg.Schema.SQL(`SELECT status, count(*) FROM {schema}.backfill_state GROUP BY status`)).Query(func(rows pgx.Rows) error {
		var s portfolio.State
		var n int
		_, err := pgx.ForEachRow(rows, []any{&s, &n}, func() error { st.ByState[s] = n; return nil })
		return err
	})
	// Behind portfolios grouped by watermark: few distinct dates, whose
	// lag the calendar turns into trading days.
	b.Queue(r.cfg.Schema.SQL(`
		SELECT snapshot_through, count(*) FROM {schema}.backfill_state
		WHERE snapshot_through < $1 GROUP BY snapshot_through`), nullDate(target)).Query(func(rows pgx.Rows) error {
		var d time.Time
		var n int
		_, err := pgx.ForEachRow(rows, []any{&d, &n}, func() error {
			lag := batch.SessionsBetween(r.cal, d, target)
			switch {
			case lag <= 0:
				return nil
			case lag == 1:
				st.Behind["1d"] += n
			case lag <= 5:
				st.Behind["2_5d"] += n
			default:
				st.Behind["gt_5d"] += n
			}
			st.MaxLagTradingDays = max(st.MaxLagTradingDays, lag)
			if missing := batch.NextSession(r.cal, d); oldest.IsZero() || missing.Before(oldest) {
				oldest = missing
			}
			return nil
		})
		return err
	})
	b.Queue(r.cfg.Schema.SQL(`
		SELECT count(*), min(p.inception_date) FROM {schema}.backfill_state s
		JOIN {schema}.portfolios p ON p.id = s.portfolio_id WHERE s.snapshot_through IS NULL`)).QueryRow(func(row pgx.Row) error {
		var n int
		var first *time.Time
		if err := row.Scan(&n, &first); err != nil {
			return err
		}
		st.Behind["never"] = n
		if first != nil && !target.IsZero() {
			if missing := batch.SessionOnOrAfter(r.cal, *first); !missing.After(target) && (oldest.IsZero() || missing.Before(oldest)) {
				oldest = missing
			}
		}
		return nil
	})
	if limit > 0 {
		lastSession := batch.MostRecentClose(r.cal, r.cfg.Now(), r.engine.Config().CloseDelay)
		b.Queue(r.cfg.Schema.SQL(`
			SELECT s.portfolio_id, s.status, s.snapshot_through, p.inception_date, s.attempts, coalesce(s.last_error, ''),
			       s.next_attempt_at, s.next_attempt_at <= now(), coalesce(s.lease_owner, ''), s.lease_expires_at,
			       coalesce(s.lease_expires_at <= now(), false), s.requested_at IS NOT NULL
			FROM {schema}.backfill_state s JOIN {schema}.portfolios p ON p.id = s.portfolio_id
			WHERE s.status IN (`+portfolio.Literals(portfolio.StateFailing, portfolio.StateQuarantined)+`)
			   OR s.snapshot_through IS NULL OR s.snapshot_through < $1 OR s.requested_at IS NOT NULL
			ORDER BY s.status = `+portfolio.StateQuarantined.Literal()+` DESC, s.status = `+portfolio.StateFailing.Literal()+` DESC,
			         s.snapshot_through NULLS FIRST, s.portfolio_id
			LIMIT $2`), nullDate(target), limit).Query(func(rows pgx.Rows) error {
			var err error
			st.Attention, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (PortfolioStatus, error) {
				// The explanation of what the row tells, for its Reason.
				ex := Explanation{hasState: true, LastSession: lastSession, Benchmark: SymbolPrice{Symbol: r.engine.Config().Benchmark}}
				err := row.Scan(&ex.PortfolioID, &ex.State, &ex.Watermark, &ex.Inception, &ex.Attempts, &ex.LastError,
					&ex.NextAttemptAt, &ex.Due, &ex.LeaseOwner, &ex.LeaseExpires, &ex.LeaseExpired, &ex.Requested)
				if !target.IsZero() {
					ex.Target, ex.Benchmark.HasClose = &target, target.Equal(lastSession)
					ex.LagDays = lagDays(r.cal, ex.Watermark, ex.Inception, target)
				}
				return PortfolioStatus{
					PortfolioID: ex.PortfolioID, State: ex.State, Watermark: ex.Watermark, Progress: ex.Progress,
					Requested: ex.Requested, Reason: ex.reason(),
				}, err
			})
			return err
		})
	}
	if err := r.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if !oldest.IsZero() {
		st.OldestMissing = &oldest
	}
	r.mu.Lock()
	if !r.lastSweep.Started.IsZero() {
		ls := r.lastSweep
		st.LastSweep = &ls
	}
	st.InFlight = len(r.inFlight)
	r.mu.Unlock()
	return st, nil
}

// Retry makes a quarantined or failing portfolio due again now, with its
// attempts reset, and notifies the reconcilers on
// portfolio.DefaultNotifyChannel (reconcilers on another channel: use the
// method). It returns portfolio.ErrNotFound for an unknown portfolio.
func Retry(ctx context.Context, db portfolio.Querier, schema portfolio.Schema, portfolioID uuid.UUID) error {
	return retry(ctx, db, schema, portfolio.DefaultNotifyChannel, portfolioID)
}

// Retry is the function Retry on the reconciler's pool, schema and
// notification channel.
func (r *Reconciler) Retry(ctx context.Context, portfolioID uuid.UUID) error {
	return retry(ctx, r.pool, r.cfg.Schema, r.cfg.NotifyChannel, portfolioID)
}

func retry(ctx context.Context, db portfolio.Querier, schema portfolio.Schema, channel string, portfolioID uuid.UUID) error {
	tag, err := db.Exec(ctx, schema.SQL(`
		WITH s AS (
			UPDATE {schema}.backfill_state
			SET status = CASE WHEN status IN (`+portfolio.Literals(portfolio.StateQuarantined, portfolio.StateFailing)+`)
			                  THEN `+portfolio.StatePending.Literal()+` ELSE status END,
			    attempts = 0, next_attempt_at = now(), requested_at = coalesce(requested_at, now()), updated_at = now()
			WHERE portfolio_id = $1 RETURNING portfolio_id)
		SELECT pg_notify($2, portfolio_id::text) FROM s`), portfolioID, channel)
	if err != nil {
		return fmt.Errorf("retry %s: %w", portfolioID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("retry %s: %w", portfolioID, portfolio.ErrNotFound)
	}
	return nil
}

// RetryQuarantined makes every quarantined portfolio due again, notifies
// the reconcilers on portfolio.DefaultNotifyChannel (reconcilers on another
// channel: use the method) and returns how many there were.
func RetryQuarantined(ctx context.Context, db portfolio.Querier, schema portfolio.Schema) (int, error) {
	return retryQuarantined(ctx, db, schema, portfolio.DefaultNotifyChannel)
}

// RetryQuarantined is the function RetryQuarantined on the reconciler's
// pool, schema and notification channel.
func (r *Reconciler) RetryQuarantined(ctx context.Context) (int, error) {
	return retryQuarantined(ctx, r.pool, r.cfg.Schema, r.cfg.NotifyChannel)
}

func retryQuarantined(ctx context.Context, db portfolio.Querier, schema portfolio.Schema, channel string) (int, error) {
	tag, err := db.Exec(ctx, schema.SQL(`
		UPDATE {schema}.backfill_state
		SET status = `+portfolio.StatePending.Literal()+`, attempts = 0, next_attempt_at = now(),
		    requested_at = coalesce(requested_at, now()), updated_at = now()
		WHERE status = `+portfolio.StateQuarantined.Literal()))
	if err != nil {
		return 0, fmt.Errorf("retry quarantined: %w", err)
	}
	if _, err := db.Exec(ctx, `SELECT pg_notify($1, '')`, channel); err != nil {
		return 0, fmt.Errorf("retry quarantined: notify: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
