package portfolio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Trigger says what asked for a backfill run.
type Trigger string

// Triggers recorded in batch_runs.trigger.
const (
	TriggerOnboarding Trigger = "onboarding"
	TriggerCalculate  Trigger = "calculate"
	TriggerSchedule   Trigger = "schedule"
	TriggerNotify     Trigger = "notify"
	TriggerManual     Trigger = "manual"
	// TriggerPriceCorrection: a stored close the portfolio's days depend
	// on was inserted, changed or deleted.
	TriggerPriceCorrection Trigger = "price_correction"
)

// Triggers returns every Trigger, in the order of the batch_runs CHECK
// constraint.
func Triggers() []Trigger {
	return []Trigger{TriggerOnboarding, TriggerCalculate, TriggerSchedule, TriggerNotify, TriggerManual, TriggerPriceCorrection}
}

func (t Trigger) valid() bool { return slices.Contains(Triggers(), t) }

// RunStatus is the state of a batch run.
type RunStatus string

// Run statuses recorded in batch_runs.status.
const (
	RunPending          RunStatus = "pending"
	RunRunning          RunStatus = "running"
	RunCompleted        RunStatus = "completed"
	RunPartial          RunStatus = "partial"
	RunWaitingForPrices RunStatus = "waiting_for_prices"
	RunFailed           RunStatus = "failed"
)

// Run is a requested backfill run as returned by RequestBackfill.
type Run struct {
	ID          uuid.UUID `json:"batch_run_id"`
	PortfolioID uuid.UUID `json:"portfolio_id"`
	Trigger     Trigger   `json:"trigger"`
	Status      RunStatus `json:"status"`
	RequestedAt time.Time `json:"requested_at"`
	// Created is false when an already pending or running run was returned.
	Created bool `json:"created"`
}

// RequestBackfill records an explicit request to bring the portfolio up to
// date: a pending batch run, the request flag on its backfill_state (which
// also makes it due now), and a notification to the reconciler. When a run
// is already pending or running for the portfolio, that run is returned
// instead of a second one. It returns ErrNotFound for an unknown or deleted
// portfolio.
func (c *Client) RequestBackfill(ctx context.Context, portfolioID uuid.UUID, trigger Trigger) (*Run, error) {
	var run *Run
	err := inTx(ctx, c.db, func(tx pgx.Tx) error {
		var err error
		run, err = c.RequestBackfillTx(ctx, tx, portfolioID, trigger)
		return err
	})
	return run, err
}

// RequestBackfillTx is RequestBackfill inside the caller's transaction.
func (c *Client) RequestBackfillTx(ctx context.Context, tx pgx.Tx, portfolioID uuid.UUID, trigger Trigger) (*Run, error) {
	if !trigger.valid() {
		return nil, fmt.Errorf("request backfill: unknown trigger %q", trigger)
	}
	var live bool
	err := tx.QueryRow(ctx, c.cfg.Schema.SQL(
		`SELECT deleted_at IS NULL FROM {schema}.portfolios WHERE id = $1 FOR SHARE`), portfolioID).Scan(&live)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !live) {
		return nil, fmt.Errorf("request backfill %s: %w", portfolioID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("request backfill %s: %w", portfolioID, err)
	}
	_, err = tx.Exec(ctx, c.cfg.Schema.SQL(`
		UPDATE {schema}.backfill_state
		SET requested_at = coalesce(requested_at, now()), next_attempt_at = least(next_attempt_at, now()), updated_at = now()
		WHERE portfolio_id = $1`), portfolioID)
	if err != nil {
		return nil, fmt.Errorf("request backfill %s: mark state: %w", portfolioID, err)
	}
	return c.requestTx(ctx, tx, portfolioID, trigger)
}

// requestTx inserts a pending run unless one is pending or running, and
// notifies the reconciler (delivered on commit).
func (c *Client) requestTx(ctx context.Context, tx pgx.Tx, portfolioID uuid.UUID, trigger Trigger) (*Run, error) {
	run := &Run{PortfolioID: portfolioID}
	err := tx.QueryRow(ctx, c.cfg.Schema.SQL(`
		INSERT INTO {schema}.batch_runs (portfolio_id, id, trigger, status)
		VALUES ($1, $2, $3, `+RunPending.Literal()+`)
		ON CONFLICT (portfolio_id) WHERE `+activeRuns+` DO NOTHING
		RETURNING id, trigger, status, requested_at`),
		portfolioID, newID(), string(trigger)).Scan(&run.ID, &run.Trigger, &run.Status, &run.RequestedAt)
	switch {
	case err == nil:
		run.Created = true
	case errors.Is(err, pgx.ErrNoRows):
		err = tx.QueryRow(ctx, c.cfg.Schema.SQL(`
			SELECT id, trigger, status, requested_at FROM {schema}.batch_runs
			WHERE portfolio_id = $1 AND `+activeRuns),
			portfolioID).Scan(&run.ID, &run.Trigger, &run.Status, &run.RequestedAt)
		if err != nil {
			return nil, fmt.Errorf("request backfill %s: find active run: %w", portfolioID, err)
		}
	default:
		return nil, fmt.Errorf("request backfill %s: insert run: %w", portfolioID, err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, c.cfg.NotifyChannel, portfolioID.String()); err != nil {
		return nil, fmt.Errorf("request backfill %s: notify: %w", portfolioID, err)
	}
	return run, nil
}

// DeletePortfolio soft-deletes a portfolio: it stays in the tables with
// deleted_at set, its account name becomes free for the owner, the
// reconciler forgets it (its backfill_state row is removed, so a backfill
// in flight loses its lease and writes nothing more), and pending or
// running runs are marked failed. It returns ErrNotFound when there is no
// live portfolio with that id.
func (c *Client) DeletePortfolio(ctx context.Context, portfolioID uuid.UUID) error {
	return inTx(ctx, c.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, c.cfg.Schema.SQL(
			`UPDATE {schema}.portfolios SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`), portfolioID)
		if err != nil {
			return fmt.Errorf("delete portfolio %s: %w", portfolioID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("delete portfolio %s: %w", portfolioID, ErrNotFound)
		}
		if _, err := tx.Exec(ctx, c.cfg.Schema.SQL(
			`DELETE FROM {schema}.backfill_state WHERE portfolio_id = $1`), portfolioID); err != nil {
			return fmt.Errorf("delete portfolio %s: state: %w", portfolioID, err)
		}
		if _, err := tx.Exec(ctx, c.cfg.Schema.SQL(`
			UPDATE {schema}.batch_runs SET status = `+RunFailed.Literal()+`, error = 'portfolio deleted', finished_at = now()
			WHERE portfolio_id = $1 AND `+activeRuns), portfolioID); err != nil {
			return fmt.Errorf("delete portfolio %s: runs: %w", portfolioID, err)
		}
		c.cfg.Logger.InfoContext(ctx, "portfolio deleted", "portfolio_id", portfolioID)
		return nil
	})
}
