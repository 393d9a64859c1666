package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
)

// writeAdvance writes the computed days of many portfolios in one
// transaction and returns the portfolios it wrote. The first statement
// fences: it moves each watermark whose lease token still holds and whose
// rewind counter is unchanged since the load (a rewind since keeps the
// watermark and the request: the rows are written and recomputed by the
// next backfill), settles the portfolio's state and releases its lease.
// Only the fenced portfolios' rows follow: one COPY of every snapshot
// row, set statements for the runs, correlation sets and rolling states.
func (e *Engine) writeAdvance(ctx context.Context, items []*advanceItem) (map[uuid.UUID]bool, error) {
	n := len(items)
	ids, tokens := make([]uuid.UUID, n), make([]uuid.UUID, n)
	seqs := make([]int64, n)
	froms, throughs, targets := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	states := make([]portfolio.State, n)
	for i, it := range items {
		r := it.res
		r.From, r.Through = it.days[0].date, it.days[len(it.days)-1].date
		ids[i], tokens[i], seqs[i] = it.claim.PortfolioID, it.claim.LeaseToken, r.rewindSeq
		froms[i], throughs[i], targets[i] = r.From, r.Through, r.Target
		states[i] = portfolio.StateCurrent
		if r.Status == portfolio.RunWaitingForPrices {
			states[i] = portfolio.StateWaitingForPrices
		}
	}
	fenced := make(map[uuid.UUID]bool, n)
	at := e.cfg.Now().UTC()
	if err := e.storeAdvanceMoves(ctx, items); err != nil {
		return nil, err
	}
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		clear(fenced)
		rows, err := tx.Query(ctx, e.sql(`
			UPDATE {schema}.backfill_state s
			SET snapshot_through = CASE WHEN s.rewind_seq = c.seq THEN c.through ELSE s.snapshot_through END,
			    status = CASE WHEN s.rewind_seq <> c.seq THEN `+portfolio.StatePending.Literal()+` ELSE c.state END,
			    target_date = c.target, updated_at = now(),
			    requested_at = CASE WHEN s.rewind_seq <> c.seq THEN s.requested_at END,
			    attempts = 0, last_error = NULL, next_attempt_at = now(),
			    behind_since = CASE WHEN c.state = `+portfolio.StateCurrent.Literal()+` AND s.rewind_seq = c.seq THEN NULL
			                        ELSE coalesce(s.behind_since, now()) END,
			    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
			FROM unnest($1::uuid[], $2::uuid[], $3::int8[], $4::date[], $5::text[], $6::date[])
			     c (id, token, seq, through, state, target)
			WHERE s.portfolio_id = c.id AND s.lease_token = c.token AND s.lease_expires_at > now()
			RETURNING s.portfolio_id`), ids, tokens, seqs, throughs, states, targets)
		if err != nil {
			return fmt.Errorf("fence: %w", err)
		}
		var id uuid.UUID
		if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { fenced[id] = true; return nil }); err != nil {
			return fmt.Errorf("fence: %w", err)
		}
		if len(fenced) == 0 {
			return nil
		}
		var (
			w       []*advanceItem
			wIDs    []uuid.UUID
			rolling []*rollingState
			snaps   = copyBuffers.Get().(*copyRows)
		)
		defer copyBuffers.Put(snaps)
		snaps.begin()
		for _, it := range items {
			if !fenced[it.claim.PortfolioID] {
				continue
			}
			r := it.res
			r.DaysTotal, r.DaysWritten, r.Watermark = len(it.days), len(it.days), r.Through
			w = append(w, it)
			wIDs = append(wIDs, it.claim.PortfolioID)
			rolling = append(rolling, r.rolling)
			if err := appendSnapshotRows(snaps, it.claim.PortfolioID, r.RunID, at, it.days); err != nil {
				return fmt.Errorf("portfolio %s: %w", it.claim.PortfolioID, err)
			}
		}
		// Rows of the days written (left after the watermark by a rewind)
		// are replaced. One (portfolio, day) pair per day: equality on the
		// whole key is an index probe each, where a range per portfolio
		// is planned as a scan of the table.
		var delIDs []uuid.UUID
		var delDays []time.Time
		for _, it := range w {
			for k := range it.days {
				delIDs, delDays = append(delIDs, it.claim.PortfolioID), append(delDays, it.days[k].date)
			}
		}
		b := &pgx.Batch{}
		b.Queue(e.sql(`
			DELETE FROM {schema}.portfolio_snapshots s USING unnest($1::uuid[], $2::date[]) c (id, day)
			WHERE s.portfolio_id = c.id AND s.snapshot_date = c.day`), delIDs, delDays)
		b.Queue(e.sql(`
			DELETE FROM {schema}.correlation_sets s USING unnest($1::uuid[], $2::date[]) c (id, day)
			WHERE s.portfolio_id = c.id AND s.as_of_date = c.day`), delIDs, delDays)
		if err := e.queueAdvanceRuns(b, w); err != nil {
			return err
		}
		e.queueRollingStates(b, wIDs, rolling)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("write runs: %w", err)
		}
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(snaps.end()), e.copySnapshotsSQL()); err != nil {
			return fmt.Errorf("copy snapshots: %w", err)
		}
		snaps.begin()
		sets := 0
		for _, it := range w {
			if risk := it.res.risk; risk != nil && risk.matrix != nil {
				appendCorrelationSet(snaps, it.claim.PortfolioID, it.res.RunID, risk.matrix)
				sets++
			}
		}
		if sets > 0 {
			if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(snaps.end()), e.sql(`COPY {schema}.correlation_sets (`+
				strings.Join(correlationSetColumns, ", ")+`) FROM STDIN (FORMAT binary)`)); err != nil {
				return fmt.Errorf("copy correlation sets: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write advance of %d portfolios: %w", n, err)
	}
	return fenced, nil
}

// storeAdvanceMoves stores the stress moves of the items' days under their
// plans (storeStressMoves; the portfolios of a day share its moves).
func (e *Engine) storeAdvanceMoves(ctx context.Context, items []*advanceItem) error {
	byPlan := map[*stressPlan][]*stressDay{}
	for _, it := range items {
		if risk := it.res.risk; risk != nil && risk.plan != nil {
			for _, sd := range risk.moves {
				if !slices.Contains(byPlan[risk.plan], sd) {
					byPlan[risk.plan] = append(byPlan[risk.plan], sd)
				}
			}
		}
	}
	for plan, sds := range byPlan {
		if err := e.storeStressMoves(ctx, plan, sds); err != nil {
			return err
		}
	}
	return nil
}

// queueAdvanceRuns queues the completion of the written portfolios' runs
// with their stress columns: one statement per stress plan, which the
// portfolios of one price generation share, so each run is updated once.
func (e *Engine) queueAdvanceRuns(b *pgx.Batch, items []*advanceItem) error {
	type group struct {
		ids, runs      []uuid.UUID
		statuses       []string
		first, last    []time.Time
		days           []int32
		warns, timings []string
	}
	byPlan := map[*stressPlan]*group{}
	var order []*stressPlan
	for _, it := range items {
		r := it.res
		var plan *stressPlan
		if r.risk != nil {
			plan = r.risk.plan
		}
		g := byPlan[plan]
		if g == nil {
			g = &group{}
			byPlan[plan] = g
			order = append(order, plan)
		}
		wj, err := json.Marshal(r.Warnings)
		if err != nil {
			return err
		}
		tj, err := json.Marshal(map[string]float64{
			"load_seconds": r.Timings.Load.Seconds(), "prices_seconds": r.Timings.Prices.Seconds(),
			"compute_seconds": r.Timings.Compute.Seconds(), "write_seconds": 0, "total_seconds": 0,
		})
		if err != nil {
			return err
		}
		g.ids, g.runs = append(g.ids, it.claim.PortfolioID), append(g.runs, r.RunID)
		g.statuses, g.first, g.last = append(g.statuses, string(r.Status)), append(g.first, r.From), append(g.last, r.Through)
		g.days, g.warns, g.timings = append(g.days, int32(len(it.days))), append(g.warns, string(wj)), append(g.timings, string(tj))
	}
	for _, plan := range order {
		g := byPlan[plan]
		ids, cats, missing, factors, shocks := plan.runColumns()
		b.Queue(e.sql(`
			UPDATE {schema}.batch_runs r
			SET status = c.status, finished_at = now(), from_date = c.first, through_date = c.last,
			    days_total = c.days, days_written = c.days, warnings = c.warnings, error = NULL,
			    phase_timings = c.timings, factors = $9, stress_scenarios = $10, stress_categories = $11,
			    stress_factors_missing = $12, stress_factors = $13, stress_shocks = $14, stress_plan = $15
			FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::date[], $6::int4[], $7::jsonb[], $8::jsonb[])
			     c (id, run, status, first, last, days, warnings, timings)
			WHERE r.portfolio_id = c.id AND r.id = c.run`),
			g.ids, g.runs, g.statuses, g.first, g.last, g.days, g.warns, g.timings, e.factors(),
			ids, cats, missing, factors, shocks, plan.keyOrNil())
	}
	return nil
}
