package portfolio

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Preview reads and validates req's positions file as Onboard would, in
// any of Formats, and returns what Onboard would create from it: the
// positions, the capital flows, every skipped row with its reason, and the
// market-value checks. It writes nothing and does not touch the database;
// the request's other fields are not checked.
func (c *Client) Preview(req *OnboardRequest) (*Import, error) {
	if req == nil || req.CSV == nil {
		return nil, &ValidationError{Code: CodePort007, Message: Message(CodePort007),
			Errors: []FieldError{{Field: "csv_file", Code: CodePort007, Message: Message(CodePort007)}}}
	}
	return c.readImport(req)
}

// readImport reads req.CSV with the client's limits and clock.
func (c *Client) readImport(req *OnboardRequest) (*Import, error) {
	return ReadPositions(req.CSV, &ImportOptions{Format: req.Format, EntryDate: req.EntryDate,
		Now: c.cfg.Now, MaxRows: c.cfg.MaxRows, MaxBytes: c.cfg.MaxBytes})
}

// writeImportedFlows inserts the capital flows read from an export, in the
// onboarding's transaction. They are dated after the inception, so the
// first backfill counts them; no rewind is needed.
func (c *Client) writeImportedFlows(ctx context.Context, tx pgx.Tx, portfolioID uuid.UUID, flows []ImportedFlow) error {
	if len(flows) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{c.cfg.Schema.Name(), "capital_flows"},
		[]string{"portfolio_id", "id", "flow_date", "amount", "description"},
		pgx.CopyFromSlice(len(flows), func(i int) ([]any, error) {
			f := &flows[i]
			amount, err := ParseDecimal(f.Amount)
			if err != nil {
				return nil, err
			}
			return []any{portfolioID, newID(), dateOnly(f.Date), amount, f.Description}, nil
		}))
	if err != nil {
		return fmt.Errorf("insert capital flows: %w", err)
	}
	return nil
}
