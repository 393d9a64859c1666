package portfolio

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// A rewind moves a portfolio's watermark back so that its next backfill
// recomputes every day from a date on, and requests that backfill. Every
// rewind also bumps backfill_state.rewind_seq: a backfill that was already
// running when the rewind happened still writes its days but no longer
// moves the watermark, and the portfolio stays requested, so a change made
// during a backfill is never overwritten by it.
//
// The recompute range runs from the changed day to the latest day: the
// rolling analytics of a day depend on up to 252 earlier sessions, so every
// stored day on or after the change may depend on it, and none before it
// does.

// rewindStateSQL is the backfill_state update of a rewind: t names a
// relation with portfolio_id, from_date (the first day to recompute) and
// through (the watermark to set back to).
var rewindStateSQL = `
	UPDATE {schema}.backfill_state s
	SET snapshot_through = CASE WHEN s.snapshot_through >= t.from_date THEN t.through ELSE s.snapshot_through END,
	    rewind_seq = s.rewind_seq + 1,
	    requested_at = coalesce(s.requested_at, now()),
	    status = CASE WHEN s.status IN (` + Literals(StateCurrent, StateWaitingForPrices) + `)
	                  THEN ` + StatePending.Literal() + ` ELSE s.status END,
	    next_attempt_at = CASE WHEN s.status = ` + StateFailing.Literal() + `
	                           THEN s.next_attempt_at ELSE least(s.next_attempt_at, now()) END,
	    behind_since = coalesce(s.behind_since, now()),
	    updated_at = now()
	FROM t
	WHERE s.portfolio_id = t.portfolio_id`

// rewind moves one portfolio's watermark back so that the next backfill
// recomputes from date on, and requests that backfill (notified on
// commit).
func (c *Client) rewind(ctx context.Context, tx pgx.Tx, portfolioID uuid.UUID, date time.Time) error {
	if _, err := tx.Exec(ctx, c.cfg.Schema.SQL(`
		WITH t AS (SELECT $1::uuid AS portfolio_id, $2::date AS from_date, $2::date - 1 AS through)`+
		rewindStateSQL), portfolioID, date); err != nil {
		return fmt.Errorf("rewind watermark: %w", err)
	}
	_, err := c.RequestBackfillTx(ctx, tx, portfolioID, TriggerCalculate)
	return err
}

// Recompute asks for the portfolio's days from date on to be computed
// again, even when the portfolio is current: its watermark moves back to
// the day before date (when it is past it) and a backfill is requested.
// It returns the pending or running run, and ErrNotFound for an unknown or
// deleted portfolio.
func (c *Client) Recompute(ctx context.Context, portfolioID uuid.UUID, date time.Time) (*Run, error) {
	if date.IsZero() {
		return nil, fmt.Errorf("recompute %s: a date is required", portfolioID)
	}
	var run *Run
	err := inTx(ctx, c.db, func(tx pgx.Tx) error {
		if _, err := c.lockLive(ctx, tx, portfolioID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, c.cfg.Schema.SQL(`
			WITH t AS (SELECT $1::uuid AS portfolio_id, $2::date AS from_date, $2::date - 1 AS through)`+
			rewindStateSQL), portfolioID, dateOnly(date)); err != nil {
			return fmt.Errorf("rewind watermark: %w", err)
		}
		var err error
		run, err = c.RequestBackfillTx(ctx, tx, portfolioID, TriggerCalculate)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("recompute: %w", err)
	}
	return run, nil
}

// SymbolRewind asks that every live portfolio whose stored days depend on
// Symbol's closes from From on recompute those days. With Everyone the
// symbol may be empty: every live portfolio recomputes from From (after a
// schema upgrade added analytics, say).
type SymbolRewind struct {
	Symbol string
	// From is the earliest day whose close changed.
	From time.Time
	// Through is the watermark an affected portfolio moves back to: the
	// trading session before From. Zero means the day before From.
	Through time.Time
	// Everyone: every portfolio depends on the symbol (the benchmark and
	// the factor instruments move every portfolio's analytics), not only
	// its holders.
	Everyone bool
	// Generation is the price generation the change created (see
	// batch_runs.price_generation): a portfolio whose stored days from From
	// on, and whose running backfill, were computed from prices of this
	// generation or later has seen the change and is not rewound. Zero
	// rewinds regardless.
	Generation int64
}

// RewindHolders rewinds, in one transaction, every live portfolio that
// depends on a rewind's symbol on or after its From: holders of the symbol
// (as the position's or an option's underlying symbol) not exited before
// From, or every portfolio for an Everyone rewind. A portfolio is rewound
// when it has stored days on or after From computed from prices older than
// the rewind's Generation, or when its running backfill loaded older
// prices and may write a day on or after From (its range is not known yet,
// or reaches From): a backfill that already saw the change, or a close
// that arrives for a day after everything a running backfill computes, does
// not cause a second computation. Rewinds of one portfolio coalesce, the earliest date
// winning. Each rewound portfolio gets a pending run with trigger (unless
// one is pending or running) and the reconcilers are notified. It returns
// the number of portfolios rewound.
func (c *Client) RewindHolders(ctx context.Context, rewinds []SymbolRewind, trigger Trigger) (int, error) {
	var n int
	err := inTx(ctx, c.db, func(tx pgx.Tx) error {
		var err error
		n, err = c.RewindHoldersTx(ctx, tx, rewinds, trigger)
		return err
	})
	return n, err
}

// RewindHoldersTx is RewindHolders inside the caller's transaction.
func (c *Client) RewindHoldersTx(ctx context.Context, tx pgx.Tx, rewinds []SymbolRewind, trigger Trigger) (int, error) {
	if !trigger.valid() {
		return 0, fmt.Errorf("rewind holders: unknown trigger %q", trigger)
	}
	if len(rewinds) == 0 {
		return 0, nil
	}
	syms := make([]string, len(rewinds))
	from := make([]time.Time, len(rewinds))
	through := make([]time.Time, len(rewinds))
	everyone := make([]bool, len(rewinds))
	gens := make([]int64, len(rewinds))
	for i, r := range rewinds {
		gens[i] = r.Generation
		if (r.Symbol == "" && !r.Everyone) || r.From.IsZero() {
			return 0, fmt.Errorf("rewind holders: rewind %d needs a symbol (or Everyone) and a date", i)
		}
		syms[i], from[i], everyone[i] = r.Symbol, dateOnly(r.From), r.Everyone
		through[i] = dateOnly(r.Through)
		if r.Through.IsZero() {
			through[i] = from[i].AddDate(0, 0, -1)
		}
	}
	var n int
	err := tx.QueryRow(ctx, c.cfg.Schema.SQL(`
		WITH c AS (
			SELECT * FROM unnest($1::text[], $2::date[], $3::date[], $4::bool[], $6::int8[])
			    AS c (symbol, from_date, through, everyone, generation)
		), hit AS (
			SELECT p.portfolio_id, c.from_date, c.through, c.generation
			FROM c JOIN {schema}.positions p ON p.symbol = c.symbol
			WHERE NOT c.everyone AND (p.exit_date IS NULL OR p.exit_date >= c.from_date)
			  AND (p.expiration_date IS NULL OR p.expiration_date >= c.from_date)
			UNION ALL
			SELECT p.portfolio_id, c.from_date, c.through, c.generation
			FROM c JOIN {schema}.positions p ON p.underlying_symbol = c.symbol
			WHERE NOT c.everyone AND (p.exit_date IS NULL OR p.exit_date >= c.from_date)
			  AND (p.expiration_date IS NULL OR p.expiration_date >= c.from_date)
			UNION ALL
			SELECT s.portfolio_id, c.from_date, c.through, c.generation
			FROM c CROSS JOIN {schema}.backfill_state s
			WHERE c.everyone
		), need AS (
			-- Stored days from the change on computed before it (the days
			-- of a portfolio come from runs of non-decreasing generation,
			-- so the first such day tells), or a running backfill that
			-- loaded its prices before it and may reach its day. A run
			-- records its generation under a share lock on it, which the
			-- change's bump waits for: a run without one loads after the
			-- change.
			SELECT h.portfolio_id, h.from_date, h.through
			FROM hit h
			JOIN {schema}.portfolios p ON p.id = h.portfolio_id AND p.deleted_at IS NULL
			JOIN {schema}.backfill_state s ON s.portfolio_id = h.portfolio_id
			LEFT JOIN {schema}.batch_runs r ON r.portfolio_id = s.portfolio_id AND r.status = `+RunRunning.Literal()+`
			WHERE CASE WHEN s.snapshot_through >= h.from_date THEN h.generation = 0 OR coalesce((
			          SELECT br.price_generation
			          FROM {schema}.portfolio_snapshots ps
			          JOIN {schema}.batch_runs br ON br.portfolio_id = ps.portfolio_id AND br.id = ps.batch_run_id
			          WHERE ps.portfolio_id = h.portfolio_id AND ps.snapshot_date >= h.from_date
			          ORDER BY ps.snapshot_date LIMIT 1), 0) < h.generation
			      ELSE false END
			   OR (s.lease_token IS NOT NULL AND coalesce(r.through_date, 'infinity') >= h.from_date
			       AND (h.generation = 0 OR r.price_generation < h.generation))
		), t AS (
			SELECT portfolio_id, min(from_date) AS from_date, min(through) AS through
			FROM need GROUP BY portfolio_id
		), rewound AS (`+rewindStateSQL+`
			RETURNING s.portfolio_id
		), runs AS (
			INSERT INTO {schema}.batch_runs (portfolio_id, id, trigger, status)
			SELECT portfolio_id, gen_random_uuid(), $5, `+RunPending.Literal()+` FROM rewound
			ON CONFLICT (portfolio_id) WHERE `+activeRuns+` DO NOTHING
		)
		SELECT count(*) FROM rewound`), syms, from, through, everyone, string(trigger), gens).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("rewind holders: %w", err)
	}
	if n > 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, c.cfg.NotifyChannel); err != nil {
			return 0, fmt.Errorf("rewind holders: notify: %w", err)
		}
	}
	return n, nil
}
