package portfolio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Portfolio is a stored portfolio with its reconciler state.
type Portfolio struct {
	ID             uuid.UUID  `json:"id"`
	OwnerID        string     `json:"owner_id"`
	Name           string     `json:"name"`
	AccountName    string     `json:"account_name"`
	AccountType    string     `json:"account_type"`
	Description    string     `json:"description"`
	Currency       string     `json:"currency"`
	StartingEquity Decimal    `json:"equity_balance"`
	InceptionDate  time.Time  `json:"inception_date"`
	CreatedAt      time.Time  `json:"created_at"`
	DeletedAt      *time.Time `json:"deleted_at,omitempty"`
	// Positions counts its positions, open and closed.
	Positions int `json:"position_count"`
	// State is the reconciler's state ("" for a deleted portfolio, which
	// the reconciler forgets).
	State State `json:"backfill_state"`
	// SnapshotThrough is the watermark: every trading day through it has
	// a snapshot. Nil when never snapshotted.
	SnapshotThrough *time.Time `json:"snapshot_through"`
}

const portfolioColumns = `
	p.id, p.owner_id, p.name, p.account_name, p.account_type, p.description, p.currency, p.starting_equity::text,
	p.inception_date, p.created_at, p.deleted_at,
	(SELECT count(*) FROM {schema}.positions x WHERE x.portfolio_id = p.id),
	coalesce(s.status, ''), s.snapshot_through
	FROM {schema}.portfolios p LEFT JOIN {schema}.backfill_state s ON s.portfolio_id = p.id`

func scanPortfolio(row pgx.Row) (*Portfolio, error) {
	var p Portfolio
	var equity string
	if err := row.Scan(&p.ID, &p.OwnerID, &p.Name, &p.AccountName, &p.AccountType, &p.Description, &p.Currency, &equity,
		&p.InceptionDate, &p.CreatedAt, &p.DeletedAt, &p.Positions, &p.State, &p.SnapshotThrough); err != nil {
		return nil, err
	}
	d, err := ParseDecimal(equity)
	if err != nil {
		return nil, fmt.Errorf("starting equity %q: %w", equity, err)
	}
	p.StartingEquity = d.canonical()
	return &p, nil
}

// PortfolioGet returns a portfolio, deleted or not (see DeletedAt), or
// ErrNotFound.
func (c *Client) PortfolioGet(ctx context.Context, id uuid.UUID) (*Portfolio, error) {
	p, err := scanPortfolio(c.db.QueryRow(ctx, c.cfg.Schema.SQL(`SELECT `+portfolioColumns+` WHERE p.id = $1`), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("portfolio %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get portfolio %s: %w", id, err)
	}
	return p, nil
}

// PortfolioGetOwned returns a live portfolio of owner. A deleted
// portfolio and another owner's are ErrNotFound alike, so that a caller
// answering an owner cannot tell them from a missing one.
func (c *Client) PortfolioGetOwned(ctx context.Context, ownerID string, id uuid.UUID) (*Portfolio, error) {
	p, err := c.PortfolioGet(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.DeletedAt != nil || p.OwnerID != ownerID {
		return nil, fmt.Errorf("portfolio %s: %w", id, ErrNotFound)
	}
	return p, nil
}

// PortfolioListParams selects portfolios for PortfolioList.
type PortfolioListParams struct {
	// OwnerID, when set, lists only that owner's portfolios.
	OwnerID string
	// IncludeDeleted lists soft-deleted portfolios too.
	IncludeDeleted bool
}

// PortfolioList returns portfolios, oldest first (by creation, then id).
// Nil params lists every live portfolio.
func (c *Client) PortfolioList(ctx context.Context, params *PortfolioListParams) ([]*Portfolio, error) {
	var p PortfolioListParams
	if params != nil {
		p = *params
	}
	rows, err := c.db.Query(ctx, c.cfg.Schema.SQL(`SELECT `+portfolioColumns+`
		WHERE ($1 = '' OR p.owner_id = $1) AND ($2 OR p.deleted_at IS NULL)
		ORDER BY p.created_at, p.id`), p.OwnerID, p.IncludeDeleted)
	if err != nil {
		return nil, fmt.Errorf("list portfolios: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Portfolio, error) { return scanPortfolio(row) })
	if err != nil {
		return nil, fmt.Errorf("list portfolios: %w", err)
	}
	return list, nil
}
