package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
)

// Retried is what RetryPortfolio did to one portfolio.
type Retried struct {
	PortfolioID uuid.UUID `json:"portfolio_id"`
	// Previous* are the state before the retry.
	PreviousState    portfolio.State `json:"previous_state"`
	PreviousAttempts int             `json:"previous_attempts"`
	LastError        string          `json:"last_error,omitempty"`
	// State is the state now.
	State portfolio.State `json:"state"`
}

// RetryPortfolio is Retry reporting the state before and after, read in
// the same transaction. It returns portfolio.ErrNotFound for a portfolio
// the reconciler does not know (never onboarded, or deleted).
func (r *Reconciler) RetryPortfolio(ctx context.Context, id uuid.UUID) (*Retried, error) {
	out := &Retried{PortfolioID: id}
	schema := r.cfg.Schema
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, schema.SQL(`
			SELECT status, attempts, coalesce(last_error, '') FROM {schema}.backfill_state
			WHERE portfolio_id = $1 FOR UPDATE`), id).Scan(&out.PreviousState, &out.PreviousAttempts, &out.LastError)
		if errors.Is(err, pgx.ErrNoRows) {
			return portfolio.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := retry(ctx, tx, schema, r.cfg.NotifyChannel, id); err != nil {
			return err
		}
		return tx.QueryRow(ctx, schema.SQL(`SELECT status FROM {schema}.backfill_state WHERE portfolio_id = $1`), id).Scan(&out.State)
	})
	if err != nil {
		return nil, fmt.Errorf("retry %s: %w", id, err)
	}
	return out, nil
}

// RetriedQuarantined is what RetryAllQuarantined did.
type RetriedQuarantined struct {
	Retried      int         `json:"retried"`
	PortfolioIDs []uuid.UUID `json:"portfolio_ids"`
}

// RetryAllQuarantined is RetryQuarantined listing the portfolios it
// retried, read in the same transaction.
func (r *Reconciler) RetryAllQuarantined(ctx context.Context) (*RetriedQuarantined, error) {
	out := &RetriedQuarantined{PortfolioIDs: []uuid.UUID{}}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, r.cfg.Schema.SQL(`
			SELECT portfolio_id FROM {schema}.backfill_state WHERE status = `+portfolio.StateQuarantined.Literal()+`
			ORDER BY portfolio_id FOR UPDATE`))
		if err != nil {
			return err
		}
		if out.PortfolioIDs, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return err
		}
		out.Retried, err = retryQuarantined(ctx, tx, r.cfg.Schema, r.cfg.NotifyChannel)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("retry quarantined: %w", err)
	}
	if out.PortfolioIDs == nil {
		out.PortfolioIDs = []uuid.UUID{}
	}
	return out, nil
}

// Client returns the library client the reconciler reads portfolios,
// runs and snapshots with.
func (r *Reconciler) Client() *portfolio.Client { return r.client }
