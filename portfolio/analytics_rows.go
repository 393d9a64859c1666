package portfolio

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// UnavailableError says why an analytic cannot be read: the schema does
// not store it (yet), or the day has not been computed. Callers answering
// clients report Reason with available: false.
type UnavailableError struct {
	Reason string
}

func (e *UnavailableError) Error() string { return "unavailable: " + e.Reason }

// Row is one row of an analytics relation whose columns this version does
// not type: column name to JSON value.
type Row map[string]json.RawMessage

// Relations of analytics that later schema versions add. They are read
// generically (Row) while this package has no typed reader for them: a
// relation that does not exist yet reads as *UnavailableError.
const (
	RelationStressTests         = "stress_test_results"
	RelationCorrelationMatrices = "correlation_matrices"
	RelationCorrelationClusters = "correlation_clusters"
	RelationSectorExposures     = "sector_exposures"
)

// AnalyticsRows returns the rows of relation (one of the Relation*
// constants) for the portfolio and day. The relation's day is its column
// of type date; a relation without one is read whole for the portfolio.
// A relation the schema does not have returns *UnavailableError.
//
// This is the one place to replace with typed reads once those relations
// exist in the migrations.
func (c *Client) AnalyticsRows(ctx context.Context, relation string, portfolioID uuid.UUID, day time.Time) ([]Row, error) {
	switch relation {
	case RelationStressTests, RelationCorrelationMatrices, RelationCorrelationClusters, RelationSectorExposures:
	default:
		return nil, fmt.Errorf("analytics rows: unknown relation %q", relation)
	}
	var dateCol *string
	var exists bool
	err := c.db.QueryRow(ctx, `
		SELECT to_regclass(quote_ident($1) || '.' || quote_ident($2)) IS NOT NULL,
		       (SELECT column_name::text FROM information_schema.columns
		        WHERE table_schema = $1 AND table_name = $2 AND data_type = 'date' ORDER BY ordinal_position LIMIT 1)`,
		c.cfg.Schema.Name(), relation).Scan(&exists, &dateCol)
	if err != nil {
		return nil, fmt.Errorf("analytics rows %s: %w", relation, err)
	}
	if !exists {
		return nil, &UnavailableError{Reason: fmt.Sprintf("not computed by this version: the schema has no %s", relation)}
	}
	query := `SELECT to_jsonb(t) FROM {schema}.` + pgx.Identifier{relation}.Sanitize() + ` t WHERE t.portfolio_id = $1`
	args := []any{portfolioID}
	if dateCol != nil {
		query += ` AND t.` + pgx.Identifier{*dateCol}.Sanitize() + ` = $2`
		args = append(args, dateOnly(day))
	}
	rows, err := c.db.Query(ctx, c.cfg.Schema.SQL(query), args...)
	if err != nil {
		return nil, fmt.Errorf("analytics rows %s: %w", relation, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Row, error) {
		var b []byte
		if err := row.Scan(&b); err != nil {
			return nil, err
		}
		var r Row
		return r, json.Unmarshal(b, &r)
	})
	if err != nil {
		return nil, fmt.Errorf("analytics rows %s: %w", relation, err)
	}
	if list == nil {
		list = []Row{}
	}
	return list, nil
}
