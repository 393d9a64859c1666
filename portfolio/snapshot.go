package portfolio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ErrNotComputed: the portfolio has no snapshot for the day asked (not
// computed yet, not a trading day, or before its inception).
var ErrNotComputed = errors.New("day not computed")

// Snapshot is one stored day of a portfolio. Money is float64: the engine
// stores each amount as its float64's shortest decimal, so the value is
// exact.
type Snapshot struct {
	PortfolioID       uuid.UUID  `json:"portfolio_id"`
	Date              time.Time  `json:"date"`
	NAV               float64    `json:"nav"`
	Cash              float64    `json:"cash"`
	LongValue         float64    `json:"long_value"`
	ShortValue        float64    `json:"short_value"`
	GrossExposure     float64    `json:"gross_exposure"`
	NetExposure       float64    `json:"net_exposure"`
	DailyPnL          float64    `json:"daily_pnl"`
	DailyRealizedPnL  float64    `json:"daily_realized_pnl"`
	DailyReturn       *float64   `json:"daily_return"`
	CumulativePnL     float64    `json:"cumulative_pnl"`
	CumulativeReturn  *float64   `json:"cumulative_return"`
	CapitalFlow       float64    `json:"capital_flow"`
	NumPositions      int        `json:"num_positions"`
	NumLong           int        `json:"num_long"`
	NumShort          int        `json:"num_short"`
	StalePositions    int        `json:"stale_positions"`
	UnpricedPositions int        `json:"unpriced_positions"`
	Volatility21d     *float64   `json:"volatility_21d"`
	Volatility63d     *float64   `json:"volatility_63d"`
	BetaRealized90d   *float64   `json:"beta_realized_90d"`
	MaxDrawdown       *float64   `json:"max_drawdown"`
	HoldingsExcluded  int        `json:"holdings_excluded"`
	BatchRunID        *uuid.UUID `json:"batch_run_id"`
	ComputedAt        time.Time  `json:"computed_at"`
	// Extra holds the row's other columns by name, as JSON values:
	// analytics that later schema versions add to portfolio_snapshots
	// (concentration, volatility forecasts, correlation summaries, …).
	// Extra(name) reads one.
	Extra map[string]json.RawMessage `json:"-"`
}

// MarshalJSON writes Date as YYYY-MM-DD.
func (s Snapshot) MarshalJSON() ([]byte, error) {
	type plain Snapshot
	return json.Marshal(struct {
		plain
		Date string `json:"date"`
	}{plain(s), s.Date.Format(time.DateOnly)})
}

// ExtraFloat returns the extra column name as a number; ok is false when
// the column does not exist or is NULL.
func (s *Snapshot) ExtraFloat(name string) (v float64, ok bool) {
	raw, found := s.Extra[name]
	if !found || string(raw) == "null" {
		return 0, false
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, false
	}
	return v, true
}

// HasExtra reports whether the snapshot row has the column name (NULL or
// not): whether the schema stores it.
func (s *Snapshot) HasExtra(name string) bool {
	_, ok := s.Extra[name]
	return ok
}

// snapshotKnown are the columns Snapshot has fields for; the rest go to
// Extra.
const snapshotKnown = `'{portfolio_id,snapshot_date,nav,cash,long_value,short_value,gross_exposure,net_exposure,
	daily_pnl,daily_realized_pnl,daily_return,cumulative_pnl,cumulative_return,capital_flow,num_positions,num_long,
	num_short,stale_positions,unpriced_positions,volatility_21d,volatility_63d,beta_realized_90d,max_drawdown,
	holdings_excluded,batch_run_id,computed_at}'::text[]`

const snapshotColumns = `s.portfolio_id, s.snapshot_date, s.nav::float8, s.cash::float8, s.long_value::float8,
	s.short_value::float8, s.gross_exposure::float8, s.net_exposure::float8, s.daily_pnl::float8,
	s.daily_realized_pnl::float8, s.daily_return, s.cumulative_pnl::float8, s.cumulative_return,
	s.capital_flow::float8, s.num_positions, s.num_long, s.num_short, s.stale_positions, s.unpriced_positions,
	s.volatility_21d, s.volatility_63d, s.beta_realized_90d, s.max_drawdown, s.holdings_excluded, s.batch_run_id,
	s.computed_at, to_jsonb(s) - ` + snapshotKnown

func scanSnapshot(row pgx.Row) (*Snapshot, error) {
	var x Snapshot
	var extra []byte
	if err := row.Scan(&x.PortfolioID, &x.Date, &x.NAV, &x.Cash, &x.LongValue, &x.ShortValue, &x.GrossExposure,
		&x.NetExposure, &x.DailyPnL, &x.DailyRealizedPnL, &x.DailyReturn, &x.CumulativePnL, &x.CumulativeReturn,
		&x.CapitalFlow, &x.NumPositions, &x.NumLong, &x.NumShort, &x.StalePositions, &x.UnpricedPositions,
		&x.Volatility21d, &x.Volatility63d, &x.BetaRealized90d, &x.MaxDrawdown, &x.HoldingsExcluded, &x.BatchRunID,
		&x.ComputedAt, &extra); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(extra, &x.Extra); err != nil {
		return nil, fmt.Errorf("snapshot columns: %w", err)
	}
	return &x, nil
}

// SnapshotListParams bounds SnapshotList; zero dates are open ends.
type SnapshotListParams struct {
	From, To time.Time
}

// SnapshotList returns the portfolio's snapshots from From through To
// (both inclusive), oldest first.
func (c *Client) SnapshotList(ctx context.Context, portfolioID uuid.UUID, params *SnapshotListParams) ([]*Snapshot, error) {
	var p SnapshotListParams
	if params != nil {
		p = *params
	}
	return queryList(ctx, c.db, "snapshots", c.cfg.Schema.SQL(`SELECT `+snapshotColumns+` FROM {schema}.portfolio_snapshots s
		WHERE s.portfolio_id = $1 AND s.snapshot_date >= coalesce($2::date, '-infinity')
		  AND s.snapshot_date <= coalesce($3::date, 'infinity')
		ORDER BY s.snapshot_date`),
		func(row pgx.CollectableRow) (*Snapshot, error) { return scanSnapshot(row) },
		portfolioID, nullDay(p.From), nullDay(p.To))
}

// SnapshotGet returns the portfolio's snapshot of day, or of its latest
// stored day when day is zero. It returns ErrNotComputed when there is
// none.
func (c *Client) SnapshotGet(ctx context.Context, portfolioID uuid.UUID, day time.Time) (*Snapshot, error) {
	s, err := scanSnapshot(c.db.QueryRow(ctx, c.cfg.Schema.SQL(`SELECT `+snapshotColumns+` FROM {schema}.portfolio_snapshots s
		WHERE s.portfolio_id = $1 AND ($2::date IS NULL OR s.snapshot_date = $2)
		ORDER BY s.snapshot_date DESC LIMIT 1`), portfolioID, nullDay(day)))
	if errors.Is(err, pgx.ErrNoRows) {
		what := "any day"
		if !day.IsZero() {
			what = day.Format(time.DateOnly)
		}
		return nil, fmt.Errorf("snapshot of %s for %s: %w", portfolioID, what, ErrNotComputed)
	}
	if err != nil {
		return nil, fmt.Errorf("get snapshot: %w", err)
	}
	return s, nil
}

func nullDay(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	d := dateOnly(t)
	return &d
}

// FactorExposure is a portfolio's beta-weighted exposure to one factor on
// one day.
type FactorExposure struct {
	Factor           string   `json:"factor"`
	Exposure         *float64 `json:"exposure"`
	ExposureDollar   *float64 `json:"exposure_dollar"`
	HoldingsCovered  int      `json:"holdings_covered"`
	HoldingsExcluded int      `json:"holdings_excluded"`
	GrossCoverage    *float64 `json:"gross_coverage"`
}

// FactorExposureList returns the portfolio's factor exposures of day, in
// the order the engine stores them. It returns ErrNotComputed when the day
// has no snapshot.
func (c *Client) FactorExposureList(ctx context.Context, portfolioID uuid.UUID, day time.Time) ([]FactorExposure, error) {
	rows, err := c.db.Query(ctx, c.cfg.Schema.SQL(`
		SELECT factor, exposure, exposure_dollar, holdings_covered, holdings_excluded, gross_coverage
		FROM {schema}.factor_exposures WHERE portfolio_id = $1 AND exposure_date = $2`), portfolioID, dateOnly(day))
	if err != nil {
		return nil, fmt.Errorf("factor exposures: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (FactorExposure, error) {
		var f FactorExposure
		err := row.Scan(&f.Factor, &f.Exposure, &f.ExposureDollar, &f.HoldingsCovered, &f.HoldingsExcluded, &f.GrossCoverage)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("factor exposures: %w", err)
	}
	if len(list) == 0 {
		if _, err := c.SnapshotGet(ctx, portfolioID, day); err != nil {
			return nil, err
		}
		list = []FactorExposure{}
	}
	return list, nil
}

// LatestExposureDate is the latest day with factor exposures; zero when
// none.
func (c *Client) LatestExposureDate(ctx context.Context, portfolioID uuid.UUID) (time.Time, error) {
	var d *time.Time
	if err := c.db.QueryRow(ctx, c.cfg.Schema.SQL(
		`SELECT max(exposure_date) FROM {schema}.factor_exposures WHERE portfolio_id = $1`), portfolioID).Scan(&d); err != nil {
		return time.Time{}, fmt.Errorf("latest exposure date: %w", err)
	}
	if d == nil {
		return time.Time{}, nil
	}
	return *d, nil
}

// RealizedPnLThrough sums the portfolio's realized P&L over its snapshots
// through day (inclusive).
func (c *Client) RealizedPnLThrough(ctx context.Context, portfolioID uuid.UUID, day time.Time) (float64, error) {
	var sum float64
	if err := c.db.QueryRow(ctx, c.cfg.Schema.SQL(`
		SELECT coalesce(sum(daily_realized_pnl), 0)::float8 FROM {schema}.portfolio_snapshots
		WHERE portfolio_id = $1 AND snapshot_date <= $2`), portfolioID, dateOnly(day)).Scan(&sum); err != nil {
		return 0, fmt.Errorf("realized P&L: %w", err)
	}
	return sum, nil
}

// queryList runs a query and scans every row with scan, returning an empty
// (never nil) list; what names the list in errors.
func queryList[T any](ctx context.Context, db DBTX, what, sql string, scan func(pgx.CollectableRow) (T, error), args ...any) ([]T, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	list, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	if list == nil {
		list = []T{}
	}
	return list, nil
}
