package portfolio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// maxFlowAmount bounds a capital flow's magnitude (1e12), like starting
// equity.
var maxFlowAmount = maxStartingEquity

// CapitalFlow is money moved into (positive) or out of (negative) a
// portfolio, counted at the start of its day.
type CapitalFlow struct {
	// Date is the day of the flow; a flow on a non-trading day counts on
	// the next session.
	Date time.Time
	// Amount is exact decimal text, non-zero, at most 4 decimals and 1e12
	// in magnitude.
	Amount string
	// Description is optional, at most 2000 characters.
	Description string
}

// RecordCapitalFlow records a flow. When it is dated at or before the
// portfolio's watermark, the watermark moves back to the day before it in
// the same transaction and a backfill is requested, so the next backfill
// recomputes exactly the affected days.
func (c *Client) RecordCapitalFlow(ctx context.Context, portfolioID uuid.UUID, f CapitalFlow) (uuid.UUID, error) {
	amount, err := validateFlow(&f)
	if err != nil {
		return uuid.Nil, err
	}
	date := dateOnly(f.Date)
	id := newID()
	err = inTx(ctx, c.db, func(tx pgx.Tx) error {
		if err := c.lockForFlow(ctx, tx, portfolioID, date); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, c.cfg.Schema.SQL(`
			INSERT INTO {schema}.capital_flows (portfolio_id, id, flow_date, amount, description)
			VALUES ($1, $2, $3, $4, $5)`), portfolioID, id, date, amount, strings.TrimSpace(f.Description)); err != nil {
			return fmt.Errorf("insert flow: %w", err)
		}
		return c.rewind(ctx, tx, portfolioID, date)
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("record capital flow: %w", err)
	}
	return id, nil
}

// validateFlow checks a flow's fields and returns its amount.
func validateFlow(f *CapitalFlow) (Decimal, error) {
	var errs []FieldError
	amount, err := ParseDecimal(strings.TrimSpace(f.Amount))
	switch {
	case err != nil || amount.IsZero() || amount.Scale() > 4:
		errs = append(errs, FieldError{Field: "amount", Code: CodeFlow001, Value: truncate(f.Amount),
			Message: "Flow amount must be a non-zero number with at most 4 decimal places"})
	case amount.IntDigits() > 13 || absCmp(amount, maxFlowAmount) > 0:
		errs = append(errs, FieldError{Field: "amount", Code: CodeFlow001, Value: truncate(f.Amount),
			Message: "Flow amount must be at most 1,000,000,000,000 in magnitude"})
	}
	if f.Date.IsZero() {
		errs = append(errs, FieldError{Field: "date", Code: CodeFlow002, Message: "Flow date is required"})
	}
	if !isText(f.Description) || len([]rune(f.Description)) > MaxDescriptionLength {
		errs = append(errs, FieldError{Field: "description", Code: CodePort012, Message: Message(CodePort012)})
	}
	if len(errs) > 0 {
		return amount, &ValidationError{Code: errs[0].Code, Message: errs[0].Message, Errors: errs}
	}
	return amount, nil
}

// lockForFlow locks the live portfolio for a write of a flow dated date,
// which it refuses when date is before the portfolio's inception.
func (c *Client) lockForFlow(ctx context.Context, tx pgx.Tx, portfolioID uuid.UUID, date time.Time) error {
	inception, err := c.lockLive(ctx, tx, portfolioID)
	if err != nil {
		return err
	}
	return checkFlowDate(date, inception)
}

// checkFlowDate refuses a flow dated before the portfolio's inception.
func checkFlowDate(date, inception time.Time) error {
	if !date.Before(inception) {
		return nil
	}
	return &ValidationError{Code: CodeFlow002, Message: "Flow date is before the portfolio's inception",
		Errors: []FieldError{{Field: "date", Code: CodeFlow002, Value: date.Format(time.DateOnly),
			Message: "Flow date " + date.Format(time.DateOnly) + " is before the portfolio's inception " + inception.Format(time.DateOnly)}}}
}

// AddPositionsResult describes positions added to a portfolio.
type AddPositionsResult struct {
	PositionsImported int
	// RecomputeFrom is the first day whose snapshots will be recomputed.
	RecomputeFrom time.Time
}

// AddPositions validates a positions file like Onboard and adds its rows
// to an existing portfolio. A row that duplicates an existing position is
// an ERR_POS_023 error. Positions entered at or before the watermark move
// it back to the day before the earliest entry, in the same transaction,
// and a backfill is requested.
func (c *Client) AddPositions(ctx context.Context, portfolioID uuid.UUID, csv io.Reader) (*AddPositionsResult, error) {
	if csv == nil {
		return nil, &ValidationError{Code: CodePort007, Message: Message(CodePort007),
			Errors: []FieldError{{Field: "csv_file", Code: CodePort007, Message: Message(CodePort007)}}}
	}
	positions, err := ParsePositions(csv, &ParseOptions{Now: c.cfg.Now, MaxRows: c.cfg.MaxRows, MaxBytes: c.cfg.MaxBytes})
	if err != nil {
		return nil, err
	}
	res := &AddPositionsResult{PositionsImported: len(positions), RecomputeFrom: inceptionDate(positions)}
	err = inTx(ctx, c.db, func(tx pgx.Tx) error {
		if _, err := c.lockLive(ctx, tx, portfolioID); err != nil {
			return err
		}
		if err := c.checkDuplicates(ctx, tx, portfolioID, positions); err != nil {
			return err
		}
		ids := positionIDs(portfolioID, positions, false)
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.cfg.Schema.Name(), "positions"}, positionColumns,
			pgx.CopyFromSlice(len(positions), func(i int) ([]any, error) {
				return positionRow(portfolioID, ids[i], &positions[i]), nil
			})); err != nil {
			return fmt.Errorf("insert positions: %w", err)
		}
		if _, err := tx.Exec(ctx, c.cfg.Schema.SQL(`
			UPDATE {schema}.portfolios SET inception_date = least(inception_date, $2) WHERE id = $1`),
			portfolioID, res.RecomputeFrom); err != nil {
			return fmt.Errorf("move inception: %w", err)
		}
		return c.rewind(ctx, tx, portfolioID, res.RecomputeFrom)
	})
	if err != nil {
		return nil, fmt.Errorf("add positions: %w", err)
	}
	return res, nil
}

// lockLive locks a live portfolio's row for the change and returns its
// inception date.
func (c *Client) lockLive(ctx context.Context, tx pgx.Tx, portfolioID uuid.UUID) (time.Time, error) {
	var inception time.Time
	err := tx.QueryRow(ctx, c.cfg.Schema.SQL(
		`SELECT inception_date FROM {schema}.portfolios WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`),
		portfolioID).Scan(&inception)
	if errors.Is(err, pgx.ErrNoRows) {
		return inception, fmt.Errorf("portfolio %s: %w", portfolioID, ErrNotFound)
	}
	return inception, err
}

// checkDuplicates rejects positions that repeat an existing one (same key
// as the file-level duplicate rule).
func (c *Client) checkDuplicates(ctx context.Context, tx pgx.Tx, portfolioID uuid.UUID, ps []Position) error {
	rows, err := tx.Query(ctx, c.cfg.Schema.SQL(`
		SELECT symbol, investment_class, entry_date, coalesce(underlying_symbol, ''), coalesce(option_type, ''),
		       coalesce(strike_price::text, ''), expiration_date
		FROM {schema}.positions WHERE portfolio_id = $1`), portfolioID)
	if err != nil {
		return fmt.Errorf("read positions: %w", err)
	}
	existing := map[positionKey]bool{}
	for rows.Next() {
		var p Position
		var class, strike string
		var optType string
		if err := rows.Scan(&p.Symbol, &class, &p.EntryDate, &p.Underlying, &optType, &strike, &p.Expiration); err != nil {
			rows.Close()
			return fmt.Errorf("read positions: %w", err)
		}
		p.Class, p.OptionType = InvestmentClass(class), OptionType(optType)
		if strike != "" {
			d, err := ParseDecimal(strike)
			if err == nil {
				p.Strike = &d
			}
		}
		existing[keyOf(&p)] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read positions: %w", err)
	}
	var errs []FieldError
	for i := range ps {
		if existing[keyOf(&ps[i])] {
			errs = append(errs, FieldError{Row: ps[i].Row, Line: ps[i].Line, Field: "Symbol", Code: CodePos023,
				Symbol: ps[i].Symbol, Message: "Position already exists in the portfolio (same symbol and entry date)"})
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Code: CodePort008, Message: fmt.Sprintf("CSV validation failed with %d error(s)", len(errs)), Errors: errs}
	}
	return nil
}

// keyOf returns the position's identity under the duplicate rule: symbol
// and entry date, and for options the contract and entry date.
func keyOf(p *Position) positionKey {
	key := positionKey{entry: epochDay(p.EntryDate), symbol: upperASCII(p.Symbol)}
	if p.Class == ClassOptions && p.Strike != nil && p.Expiration != nil {
		key.symbol = upperASCII(p.Underlying)
		key.strike = p.Strike.trimmed()
		key.expiry = epochDay(*p.Expiration)
		key.kind = 1
		if p.OptionType == OptionPut {
			key.kind = 2
		}
	}
	return key
}

func dateOnly(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func absCmp(a, b Decimal) int {
	if a.Sign() < 0 {
		a = MustDecimal(strings.TrimPrefix(a.String(), "-"))
	}
	return a.Cmp(b)
}
