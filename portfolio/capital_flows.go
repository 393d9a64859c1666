package portfolio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ErrFlowNotFound: no capital flow with that id in the portfolio.
var ErrFlowNotFound = errors.New("capital flow not found")

// StoredFlow is a recorded capital flow.
type StoredFlow struct {
	ID          uuid.UUID `json:"id"`
	PortfolioID uuid.UUID `json:"portfolio_id"`
	Date        time.Time `json:"date"`
	// Amount is signed: a deposit is positive, a withdrawal negative.
	Amount      Decimal   `json:"amount"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

const flowColumns = `id, portfolio_id, flow_date, amount::text, description, created_at`

func scanFlow(row pgx.Row) (*StoredFlow, error) {
	var f StoredFlow
	var amount string
	if err := row.Scan(&f.ID, &f.PortfolioID, &f.Date, &amount, &f.Description, &f.CreatedAt); err != nil {
		return nil, err
	}
	d, err := ParseDecimal(amount)
	if err != nil {
		return nil, fmt.Errorf("flow amount %q: %w", amount, err)
	}
	f.Amount = d.canonical()
	return &f, nil
}

// FlowList returns the portfolio's capital flows by date, then creation.
func (c *Client) FlowList(ctx context.Context, portfolioID uuid.UUID) ([]*StoredFlow, error) {
	return queryList(ctx, c.db, "flows", c.cfg.Schema.SQL(`SELECT `+flowColumns+` FROM {schema}.capital_flows
		WHERE portfolio_id = $1 ORDER BY flow_date, created_at, id`),
		func(row pgx.CollectableRow) (*StoredFlow, error) { return scanFlow(row) }, portfolioID)
}

// FlowGet returns one of the portfolio's flows, or ErrFlowNotFound.
func (c *Client) FlowGet(ctx context.Context, portfolioID, flowID uuid.UUID) (*StoredFlow, error) {
	f, err := scanFlow(c.db.QueryRow(ctx, c.cfg.Schema.SQL(`SELECT `+flowColumns+` FROM {schema}.capital_flows
		WHERE portfolio_id = $1 AND id = $2`), portfolioID, flowID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("flow %s: %w", flowID, ErrFlowNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get flow %s: %w", flowID, err)
	}
	return f, nil
}

// FlowUpdate replaces a flow's date, amount and description (validated
// like RecordCapitalFlow). The days from the earlier of its old and new
// dates on are recomputed: the watermark moves back in the same
// transaction and a backfill is requested.
func (c *Client) FlowUpdate(ctx context.Context, portfolioID, flowID uuid.UUID, f CapitalFlow) (*StoredFlow, error) {
	amount, err := validateFlow(&f)
	if err != nil {
		return nil, err
	}
	date := dateOnly(f.Date)
	var out *StoredFlow
	err = inTx(ctx, c.db, func(tx pgx.Tx) error {
		if err := c.lockForFlow(ctx, tx, portfolioID, date); err != nil {
			return err
		}
		var old time.Time
		err = tx.QueryRow(ctx, c.cfg.Schema.SQL(`
			SELECT flow_date FROM {schema}.capital_flows WHERE portfolio_id = $1 AND id = $2 FOR UPDATE`),
			portfolioID, flowID).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("flow %s: %w", flowID, ErrFlowNotFound)
		}
		if err != nil {
			return err
		}
		out, err = scanFlow(tx.QueryRow(ctx, c.cfg.Schema.SQL(`
			UPDATE {schema}.capital_flows SET flow_date = $3, amount = $4, description = $5
			WHERE portfolio_id = $1 AND id = $2 RETURNING `+flowColumns),
			portfolioID, flowID, date, amount, strings.TrimSpace(f.Description)))
		if err != nil {
			return fmt.Errorf("update flow: %w", err)
		}
		return c.rewind(ctx, tx, portfolioID, minDate(old, date))
	})
	if err != nil {
		return nil, fmt.Errorf("update capital flow: %w", err)
	}
	return out, nil
}

// FlowDelete removes a flow; the days from its date on are recomputed.
func (c *Client) FlowDelete(ctx context.Context, portfolioID, flowID uuid.UUID) error {
	err := inTx(ctx, c.db, func(tx pgx.Tx) error {
		if _, err := c.lockLive(ctx, tx, portfolioID); err != nil {
			return err
		}
		var old time.Time
		err := tx.QueryRow(ctx, c.cfg.Schema.SQL(`
			DELETE FROM {schema}.capital_flows WHERE portfolio_id = $1 AND id = $2 RETURNING flow_date`),
			portfolioID, flowID).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("flow %s: %w", flowID, ErrFlowNotFound)
		}
		if err != nil {
			return err
		}
		return c.rewind(ctx, tx, portfolioID, old)
	})
	if err != nil {
		return fmt.Errorf("delete capital flow: %w", err)
	}
	return nil
}

func minDate(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// canonical is d without trailing fraction zeros: stored NUMERIC(20,4)
// values read back as entered ("2500.5", not "2500.5000").
func (d Decimal) canonical() Decimal {
	if d.scale == 0 {
		return d
	}
	c, err := ParseDecimal(d.trimmed())
	if err != nil {
		return d
	}
	return c
}
