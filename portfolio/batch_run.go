package portfolio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ErrRunNotFound: no batch run with that id (for that portfolio).
var ErrRunNotFound = errors.New("batch run not found")

// BatchRun is one recorded run of the backfill engine for a portfolio.
type BatchRun struct {
	ID          uuid.UUID  `json:"batch_run_id"`
	PortfolioID uuid.UUID  `json:"portfolio_id"`
	Trigger     Trigger    `json:"trigger"`
	Status      RunStatus  `json:"status"`
	RequestedAt time.Time  `json:"requested_at"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	// From and Through are the run's range of days; nil until known.
	From        *time.Time `json:"from_date"`
	Through     *time.Time `json:"through_date"`
	DaysTotal   int        `json:"days_total"`
	DaysWritten int        `json:"days_written"`
	// Warnings is the run's JSON array of warnings.
	Warnings json.RawMessage `json:"warnings"`
	Error    string          `json:"error,omitempty"`
	// PhaseTimings is the run's JSON object of phase durations.
	PhaseTimings json.RawMessage `json:"phase_timings"`
	Worker       string          `json:"worker,omitempty"`
}

// Duration is how long the run took, or has taken so far at now; zero
// before it started.
func (r *BatchRun) Duration(now time.Time) time.Duration {
	switch {
	case r.StartedAt == nil:
		return 0
	case r.FinishedAt != nil:
		return r.FinishedAt.Sub(*r.StartedAt)
	}
	return max(now.Sub(*r.StartedAt), 0)
}

const runColumns = `portfolio_id, id, trigger, status, requested_at, started_at, finished_at, from_date, through_date,
	days_total, days_written, warnings, coalesce(error, ''), phase_timings, coalesce(worker, '')`

func scanRun(row pgx.Row) (*BatchRun, error) {
	var r BatchRun
	var warnings, timings []byte
	if err := row.Scan(&r.PortfolioID, &r.ID, &r.Trigger, &r.Status, &r.RequestedAt, &r.StartedAt, &r.FinishedAt,
		&r.From, &r.Through, &r.DaysTotal, &r.DaysWritten, &warnings, &r.Error, &timings, &r.Worker); err != nil {
		return nil, err
	}
	r.Warnings, r.PhaseTimings = json.RawMessage(warnings), json.RawMessage(timings)
	return &r, nil
}

// RunGet returns one run. A non-nil portfolioID requires the run to be
// that portfolio's; otherwise, and for an unknown id, it returns
// ErrRunNotFound.
func (c *Client) RunGet(ctx context.Context, portfolioID, runID uuid.UUID) (*BatchRun, error) {
	r, err := scanRun(c.db.QueryRow(ctx, c.cfg.Schema.SQL(`SELECT `+runColumns+` FROM {schema}.batch_runs
		WHERE id = $1 AND ($2::uuid IS NULL OR portfolio_id = $2)`), runID, nilUUID(portfolioID)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", runID, ErrRunNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get run %s: %w", runID, err)
	}
	return r, nil
}

// DefaultRunListLimit and MaxRunListLimit bound a page of RunList.
const (
	DefaultRunListLimit = 50
	MaxRunListLimit     = 1000
)

// RunListParams selects and pages runs for RunList.
type RunListParams struct {
	// PortfolioID, when not uuid.Nil, lists only that portfolio's runs.
	PortfolioID uuid.UUID
	// Worker, when set, lists only runs that worker started.
	Worker string
	// StartedSince, when set, lists only runs started at or after it.
	StartedSince time.Time
	// Statuses, when set, lists only runs in these statuses.
	Statuses []RunStatus
	// Limit is the page size. Default DefaultRunListLimit, at most
	// MaxRunListLimit.
	Limit int
	// Cursor continues after the last run of a previous page
	// (RunListResult.Next); "" starts at the newest run.
	Cursor string
}

// RunListResult is one page of runs, newest first.
type RunListResult struct {
	Runs []*BatchRun `json:"runs"`
	// Next is the cursor of the following page; "" on the last page.
	Next string `json:"next_cursor"`
}

// runCursor is a position in the newest-first order.
type runCursor struct {
	RequestedAt time.Time `json:"t"`
	ID          uuid.UUID `json:"id"`
}

// ErrInvalidCursor: a RunListParams.Cursor that no RunList returned.
var ErrInvalidCursor = errors.New("invalid cursor")

// RunList returns a page of runs, newest first (by request time, then id).
func (c *Client) RunList(ctx context.Context, params *RunListParams) (*RunListResult, error) {
	var p RunListParams
	if params != nil {
		p = *params
	}
	if p.Limit == 0 {
		p.Limit = DefaultRunListLimit
	}
	if p.Limit < 0 || p.Limit > MaxRunListLimit {
		return nil, fmt.Errorf("list runs: limit %d: want 1 to %d", p.Limit, MaxRunListLimit)
	}
	var cur *runCursor
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		cur = &runCursor{}
		if err != nil || json.Unmarshal(b, cur) != nil || cur.ID == uuid.Nil {
			return nil, fmt.Errorf("list runs: cursor %q: %w", p.Cursor, ErrInvalidCursor)
		}
	}
	var afterT *time.Time
	var afterID *uuid.UUID
	if cur != nil {
		afterT, afterID = &cur.RequestedAt, &cur.ID
	}
	statuses := make([]string, len(p.Statuses))
	for i, s := range p.Statuses {
		statuses[i] = string(s)
	}
	var since *time.Time
	if !p.StartedSince.IsZero() {
		since = &p.StartedSince
	}
	rows, err := c.db.Query(ctx, c.cfg.Schema.SQL(`SELECT `+runColumns+` FROM {schema}.batch_runs
		WHERE ($1::uuid IS NULL OR portfolio_id = $1)
		  AND ($2 = '' OR worker = $2)
		  AND ($3::timestamptz IS NULL OR started_at >= $3)
		  AND (cardinality($4::text[]) = 0 OR status = ANY($4))
		  AND ($5::timestamptz IS NULL OR (requested_at, id) < ($5, $6::uuid))
		ORDER BY requested_at DESC, id DESC LIMIT $7`),
		nilUUID(p.PortfolioID), p.Worker, since, statuses, afterT, afterID, p.Limit+1)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*BatchRun, error) { return scanRun(row) })
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	res := &RunListResult{Runs: runs}
	if len(runs) > p.Limit {
		res.Runs = runs[:p.Limit]
		last := res.Runs[p.Limit-1]
		b, _ := json.Marshal(runCursor{RequestedAt: last.RequestedAt, ID: last.ID})
		res.Next = base64.RawURLEncoding.EncodeToString(b)
	}
	if res.Runs == nil {
		res.Runs = []*BatchRun{}
	}
	return res, nil
}

// nilUUID is nil for uuid.Nil, so that SQL sees NULL.
func nilUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// RunSummary counts runs and their days by status.
type RunSummary struct {
	Runs        map[RunStatus]int `json:"runs"`
	DaysWritten int               `json:"days_written"`
}

// RunSummarize counts the runs params selects (Limit and Cursor are
// ignored) by status, with the days they wrote.
func (c *Client) RunSummarize(ctx context.Context, params *RunListParams) (*RunSummary, error) {
	var p RunListParams
	if params != nil {
		p = *params
	}
	var since *time.Time
	if !p.StartedSince.IsZero() {
		since = &p.StartedSince
	}
	rows, err := c.db.Query(ctx, c.cfg.Schema.SQL(`
		SELECT status, count(*), coalesce(sum(days_written), 0) FROM {schema}.batch_runs
		WHERE ($1::uuid IS NULL OR portfolio_id = $1) AND ($2 = '' OR worker = $2)
		  AND ($3::timestamptz IS NULL OR started_at >= $3)
		GROUP BY status`), nilUUID(p.PortfolioID), p.Worker, since)
	if err != nil {
		return nil, fmt.Errorf("summarize runs: %w", err)
	}
	sum := &RunSummary{Runs: map[RunStatus]int{}}
	var status string
	var n, days int
	if _, err := pgx.ForEachRow(rows, []any{&status, &n, &days}, func() error {
		sum.Runs[RunStatus(strings.Clone(status))] = n
		sum.DaysWritten += days
		return nil
	}); err != nil {
		return nil, fmt.Errorf("summarize runs: %w", err)
	}
	return sum, nil
}
