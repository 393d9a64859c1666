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

// ErrPositionNotFound: no position with that id in the portfolio.
var ErrPositionNotFound = errors.New("position not found")

// StoredPosition is a position as stored.
type StoredPosition struct {
	ID          uuid.UUID    `json:"id"`
	PortfolioID uuid.UUID    `json:"portfolio_id"`
	Symbol      string       `json:"symbol"`
	Type        PositionType `json:"position_type"`
	Class       string       `json:"investment_class"`
	Subtype     string       `json:"investment_subtype,omitempty"`
	IsCash      bool         `json:"is_cash"`
	Quantity    Decimal      `json:"quantity"`
	EntryPrice  Decimal      `json:"entry_price"`
	EntryDate   time.Time    `json:"entry_date"`
	ExitDate    *time.Time   `json:"exit_date"`
	ExitPrice   *Decimal     `json:"exit_price"`
	Underlying  string       `json:"underlying_symbol,omitempty"`
	Expiration  *time.Time   `json:"expiration_date,omitempty"`
	Multiplier  int          `json:"multiplier"`
}

// HeldOn reports whether the position is held on day by the engine's
// rule: entered on or before it, not exited on or before it, and (for
// options) not expired before it.
func (p *StoredPosition) HeldOn(day time.Time) bool {
	day = dateOnly(day)
	return !p.EntryDate.After(day) && (p.ExitDate == nil || day.Before(*p.ExitDate)) &&
		(p.Expiration == nil || !day.After(*p.Expiration))
}

const storedPositionColumns = `id, portfolio_id, symbol, position_type, investment_class, coalesce(investment_subtype, ''),
	is_cash, quantity::text, entry_price::text, entry_date, exit_date, exit_price::text, coalesce(underlying_symbol, ''), expiration_date, multiplier`

func scanStoredPosition(row pgx.Row) (*StoredPosition, error) {
	var p StoredPosition
	var qty, entry string
	var exit *string
	if err := row.Scan(&p.ID, &p.PortfolioID, &p.Symbol, &p.Type, &p.Class, &p.Subtype, &p.IsCash, &qty, &entry,
		&p.EntryDate, &p.ExitDate, &exit, &p.Underlying, &p.Expiration, &p.Multiplier); err != nil {
		return nil, err
	}
	var err error
	if p.Quantity, err = ParseDecimal(qty); err != nil {
		return nil, err
	}
	if p.EntryPrice, err = ParseDecimal(entry); err != nil {
		return nil, err
	}
	p.Quantity, p.EntryPrice = p.Quantity.canonical(), p.EntryPrice.canonical()
	if exit != nil {
		d, err := ParseDecimal(*exit)
		if err != nil {
			return nil, err
		}
		d = d.canonical()
		p.ExitPrice = &d
	}
	return &p, nil
}

// PositionList returns the portfolio's positions by symbol and entry date.
func (c *Client) PositionList(ctx context.Context, portfolioID uuid.UUID) ([]*StoredPosition, error) {
	return queryList(ctx, c.db, "positions", c.cfg.Schema.SQL(`SELECT `+storedPositionColumns+` FROM {schema}.positions
		WHERE portfolio_id = $1 ORDER BY symbol, entry_date, id`),
		func(row pgx.CollectableRow) (*StoredPosition, error) { return scanStoredPosition(row) }, portfolioID)
}

// PositionClose is how a position was closed.
type PositionClose struct {
	// ExitDate is the day it was sold or bought back; not before its entry
	// date, not in the future.
	ExitDate time.Time
	// ExitPrice is exact decimal text, positive, at most 4 decimals.
	ExitPrice string
}

// ClosePosition records a position's exit date and price (replacing an
// earlier close). The days from the earlier of the old and new exit dates
// on are recomputed: the watermark moves back in the same transaction and
// a backfill is requested. It returns ErrNotFound for an unknown or
// deleted portfolio, ErrPositionNotFound for an unknown position and a
// *ValidationError (ERR_POS_018, ERR_POS_009…011, ERR_POS_014) for a bad
// date or price.
func (c *Client) ClosePosition(ctx context.Context, portfolioID, positionID uuid.UUID, pc PositionClose) (*StoredPosition, error) {
	var errs []FieldError
	price, err := ParseDecimal(strings.TrimSpace(pc.ExitPrice))
	switch {
	case err != nil || price.IntDigits() > 16:
		errs = append(errs, FieldError{Field: "exit_price", Code: CodePos009, Value: truncate(pc.ExitPrice), Message: "Exit price must be a valid number"})
	case price.Sign() <= 0:
		errs = append(errs, FieldError{Field: "exit_price", Code: CodePos010, Value: truncate(pc.ExitPrice), Message: "Exit price must be positive"})
	case price.Scale() > 4:
		errs = append(errs, FieldError{Field: "exit_price", Code: CodePos011, Value: truncate(pc.ExitPrice), Message: "Exit price has too many decimal places (max 4)"})
	}
	exit := dateOnly(pc.ExitDate)
	switch {
	case pc.ExitDate.IsZero():
		errs = append(errs, FieldError{Field: "exit_date", Code: CodePos018, Message: "Exit date is required to close a position"})
	case exit.After(dateOnly(c.cfg.Now())):
		errs = append(errs, FieldError{Field: "exit_date", Code: CodePos014, Value: exit.Format(time.DateOnly), Message: "Exit date cannot be in the future"})
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Code: errs[0].Code, Message: errs[0].Message, Errors: errs}
	}
	var out *StoredPosition
	err = inTx(ctx, c.db, func(tx pgx.Tx) error {
		if _, err := c.lockLive(ctx, tx, portfolioID); err != nil {
			return err
		}
		var entry time.Time
		var oldExit *time.Time
		err := tx.QueryRow(ctx, c.cfg.Schema.SQL(`
			SELECT entry_date, exit_date FROM {schema}.positions WHERE portfolio_id = $1 AND id = $2 FOR UPDATE`),
			portfolioID, positionID).Scan(&entry, &oldExit)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("position %s: %w", positionID, ErrPositionNotFound)
		}
		if err != nil {
			return err
		}
		if exit.Before(entry) {
			return &ValidationError{Code: CodePos018, Message: Message(CodePos018), Errors: []FieldError{{
				Field: "exit_date", Code: CodePos018, Value: exit.Format(time.DateOnly),
				Message: "Exit date " + exit.Format(time.DateOnly) + " is before the entry date " + entry.Format(time.DateOnly)}}}
		}
		out, err = scanStoredPosition(tx.QueryRow(ctx, c.cfg.Schema.SQL(`
			UPDATE {schema}.positions SET exit_date = $3, exit_price = $4
			WHERE portfolio_id = $1 AND id = $2 RETURNING `+storedPositionColumns), portfolioID, positionID, exit, price))
		if err != nil {
			return fmt.Errorf("close position: %w", err)
		}
		from := exit
		if oldExit != nil {
			from = minDate(*oldExit, exit)
		}
		return c.rewind(ctx, tx, portfolioID, from)
	})
	if err != nil {
		return nil, fmt.Errorf("close position %s: %w", positionID, err)
	}
	return out, nil
}
