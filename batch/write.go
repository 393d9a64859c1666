package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sigmasight/backfill/portfolio"
)

// claim takes the portfolio's lease for this engine: free, or expired.
func (e *Engine) claim(ctx context.Context, id uuid.UUID) (uuid.UUID, error) {
	token := uuid.New()
	tag, err := e.pool.Exec(ctx, e.sql(`
		UPDATE {schema}.backfill_state
		SET lease_owner = $2, lease_token = $3, lease_expires_at = now() + make_interval(secs => $4),
		    status = `+portfolio.StateRunning.Literal()+`, updated_at = now()
		WHERE portfolio_id = $1 AND (lease_token IS NULL OR lease_expires_at <= now())`),
		id, e.cfg.Worker, token, e.cfg.LeaseTTL.Seconds())
	if err != nil {
		return uuid.Nil, fmt.Errorf("claim lease %s: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return token, nil
	}
	var owner string
	err = e.pool.QueryRow(ctx, e.sql(`SELECT coalesce(lease_owner, '') FROM {schema}.backfill_state WHERE portfolio_id = $1`), id).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, fmt.Errorf("claim lease %s: %w", id, portfolio.ErrNotFound)
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("claim lease %s: %w", id, err)
	}
	return uuid.Nil, fmt.Errorf("claim lease %s: %w (%s)", id, ErrLeaseHeld, owner)
}

// release gives the lease up, if it is still ours.
func (e *Engine) release(ctx context.Context, id, token uuid.UUID) error {
	_, err := e.pool.Exec(ctx, e.sql(`
		UPDATE {schema}.backfill_state
		SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = now()
		WHERE portfolio_id = $1 AND lease_token = $2`), id, token)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", id, err)
	}
	return nil
}

// startRun marks the run this call executes as running: the given one, the
// portfolio's pending one, or a new one. A run left running by a worker
// that lost its lease is closed as failed first: we hold the lease now.
// The three statements travel as one batch, which PostgreSQL runs as one
// implicit transaction.
func (e *Engine) startRun(ctx context.Context, id, runID uuid.UUID, trigger portfolio.Trigger, token uuid.UUID) (uuid.UUID, error) {
	newID := uuid.Must(uuid.NewV7())
	running := portfolio.RunRunning.Literal()
	b := &pgx.Batch{}
	b.Queue(e.sql(`
		UPDATE {schema}.batch_runs SET status = CASE WHEN days_written > 0 THEN `+portfolio.RunPartial.Literal()+` ELSE `+portfolio.RunFailed.Literal()+` END,
		       finished_at = now(), error = 'abandoned: its worker lost the lease before finishing'
		WHERE portfolio_id = $1 AND status = `+running), id)
	b.Queue(e.sql(`
		UPDATE {schema}.batch_runs SET status = `+running+`, started_at = now(), worker = $3, lease_token = $4
		WHERE portfolio_id = $1 AND status = `+portfolio.RunPending.Literal()+` AND ($2::uuid IS NULL OR id = $2)`),
		id, nullUUID(runID), e.cfg.Worker, token)
	b.Queue(e.sql(`
		INSERT INTO {schema}.batch_runs (portfolio_id, id, trigger, status, started_at, worker, lease_token)
		SELECT $1, $2, $3, `+running+`, now(), $4, $5
		WHERE $6 AND NOT EXISTS (SELECT 1 FROM {schema}.batch_runs WHERE portfolio_id = $1 AND status = `+running+`)`),
		id, newID, string(trigger), e.cfg.Worker, token, runID == uuid.Nil)
	b.Queue(e.sql(`SELECT id FROM {schema}.batch_runs WHERE portfolio_id = $1 AND status = `+running+` AND lease_token = $2`), id, token)
	var out uuid.UUID
	br := e.pool.SendBatch(ctx, b)
	err := execN(br, 3)
	if err == nil {
		err = br.QueryRow().Scan(&out)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("run %s is not pending", runID)
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("start run %s: %w", id, err)
	}
	return out, nil
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// snapshotColumns are written by COPY in this order.
var snapshotColumns = append([]string{
	"portfolio_id", "snapshot_date", "nav", "cash", "long_value", "short_value", "gross_exposure",
	"net_exposure", "daily_pnl", "daily_realized_pnl", "daily_return", "cumulative_pnl",
	"cumulative_return", "capital_flow", "num_positions", "num_long", "num_short",
	"stale_positions", "unpriced_positions", "max_drawdown", "return_index", "batch_run_id", "computed_at",
	"volatility_21d", "volatility_63d", "beta_realized_90d", "factor_exposure_dollar",
	"holdings_covered", "gross_coverage", "factor_holdings_covered", "factor_gross_coverage", "holdings_excluded",
	"hhi", "effective_positions", "top1_weight", "top3_weight", "top10_weight",
	"provider_beta", "provider_beta_coverage", "sector_mix",
}, riskSnapshotColumns...)

// copySnapshotsSQL is the binary COPY statement for snapshotColumns.
func (e *Engine) copySnapshotsSQL() string {
	return e.sql(`COPY {schema}.portfolio_snapshots (` + strings.Join(snapshotColumns, ", ") + `) FROM STDIN (FORMAT binary)`)
}

// appendSnapshotRows appends days as rows of the binary COPY of
// snapshotColumns (see copyRows). Money columns are NUMERIC holding the
// shortest decimal form of the computed float, so a value read back as
// float8 is the value that was computed (the chain continues exactly);
// the other numbers travel as their exact binary floats.
func appendSnapshotRows(w *copyRows, id, runID uuid.UUID, at time.Time, days []day) error {
	at = at.UTC()
	for i := range days {
		d := &days[i]
		for _, v := range [...]float64{d.nav, d.cash, d.long, d.short, d.gross, d.net, d.pnl, d.realized,
			d.ret, d.cumPnL, d.cumReturn, d.flow, d.maxDrawdown, d.index} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("snapshot %s: non-finite value", d.date.Format(time.DateOnly))
			}
		}
		w.row(len(snapshotColumns))
		w.uuid(id)
		w.date(d.date)
		for _, v := range [...]float64{d.nav, d.cash, d.long, d.short, d.gross, d.net, d.pnl, d.realized} {
			w.numeric(v)
		}
		w.optFloat8(d.ret, d.hasRet)
		w.numeric(d.cumPnL)
		w.float8(d.cumReturn)
		w.numeric(d.flow)
		for _, n := range [...]int{d.nPos, d.nLong, d.nShort, d.nStale, d.nUnpriced} {
			w.int4(n)
		}
		w.float8(d.maxDrawdown)
		w.float8(d.index)
		w.uuid(runID)
		w.timestamptz(at)
		w.optFloat8(d.vol21, d.hasVol21)
		w.optFloat8(d.vol63, d.hasVol63)
		w.optFloat8(d.betaReal, d.hasBetaReal)
		appendExposures(w, d)
		appendComposition(w, d)
		appendRiskColumns(w, &d.dayRisk)
	}
	return nil
}

// appendExposures appends the day's factor columns: the exposure dollars
// (NULL for a factor no holding covers), the coverage — as two scalars when
// every factor has the same, else as two arrays — and the excluded count;
// all NULL when analytics are off.
func appendExposures(w *copyRows, d *day) {
	x := d.expo
	if x == nil {
		for range 5 {
			w.null()
		}
		w.int4(0)
		return
	}
	base := d.row * x.nf
	w.float8Array(x.nf, func(k int) (float64, bool) {
		n, _ := x.covered(d.row, k)
		// Dollars are money: 4 decimals, like the snapshot's.
		return round4(x.dollars[base+k]), n > 0
	})
	// A share: 6 decimals say more than enough.
	share := func(gross float64) (float64, bool) {
		if d.grossRaw <= 0 {
			return 0, false
		}
		return math.Round(gross/d.grossRaw*1e6) / 1e6, true
	}
	if !x.partial[d.row] {
		w.int4(int(x.allCount[d.row]))
		w.optFloat8(share(x.allGross[d.row]))
		w.null()
		w.null()
	} else {
		w.null()
		w.null()
		w.int4Array(x.nf, func(k int) int {
			n, _ := x.covered(d.row, k)
			return int(n)
		})
		w.float8Array(x.nf, func(k int) (float64, bool) {
			_, g := x.covered(d.row, k)
			return share(g)
		})
	}
	w.int4(int(x.excluded[d.row]))
}

// write commits days in chunks, after the days' stress moves (shared by
// every portfolio, so stored on their own: storeStressMoves). Each chunk's
// transaction first moves the watermark, which succeeds only while token
// holds the lease (fencing) and extends it; then it replaces the chunk's
// days and counts them on the run.
func (e *Engine) write(ctx context.Context, id, token uuid.UUID, res *Result, days []day) error {
	at := e.cfg.Now().UTC()
	if res.risk != nil {
		if err := e.storeStressMoves(ctx, res.risk.plan, res.risk.moves); err != nil {
			return err
		}
	}
	for lo := 0; lo < len(days); lo += e.cfg.ChunkDays {
		hi := min(lo+e.cfg.ChunkDays, len(days))
		chunk := days[lo:hi]
		first, last := chunk[0].date, chunk[len(chunk)-1].date
		err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			// A rewind since the backfill loaded the portfolio (a price
			// correction, a flow) keeps the watermark where it put it:
			// the days are written, and recomputed by the next backfill.
			fence := b.Queue(e.sql(`
				UPDATE {schema}.backfill_state
				SET snapshot_through = CASE WHEN rewind_seq = $5 THEN $3 ELSE snapshot_through END,
				    lease_expires_at = now() + make_interval(secs => $4), updated_at = now()
				WHERE portfolio_id = $1 AND lease_token = $2 AND lease_expires_at > now()`),
				id, token, last, e.cfg.LeaseTTL.Seconds(), res.rewindSeq)
			var fenced bool
			fence.Exec(func(tag pgconn.CommandTag) error {
				fenced = tag.RowsAffected() == 0
				return nil
			})
			b.Queue(e.sql(`
				DELETE FROM {schema}.portfolio_snapshots
				WHERE portfolio_id = $1 AND snapshot_date BETWEEN $2 AND $3`), id, first, last)
			b.Queue(e.sql(`
				UPDATE {schema}.batch_runs SET days_written = days_written + $3, factors = $4, days_total = $5,
				       from_date = $6, through_date = $7
				WHERE portfolio_id = $1 AND id = $2`), id, res.RunID, len(chunk), e.factors(), len(days),
				res.From, res.Through)
			e.queueRiskRun(b, id, res, first, last, hi == len(days))
			// The rolling state follows the last chunk; an earlier chunk
			// leaves none behind, so that none can outlive its days.
			var rolling *rollingState
			if hi == len(days) {
				rolling = res.rolling
			}
			e.queueRollingStates(b, []uuid.UUID{id}, []*rollingState{rolling})
			// The batch stops at the first failing statement; a fenced
			// chunk fails in the transaction before anything is copied.
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("prepare chunk: %w", err)
			}
			if fenced {
				return ErrLeaseLost
			}
			w := copyBuffers.Get().(*copyRows)
			defer copyBuffers.Put(w)
			w.begin()
			if err := appendSnapshotRows(w, id, res.RunID, at, chunk); err != nil {
				return err
			}
			if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(w.end()), e.copySnapshotsSQL()); err != nil {
				return fmt.Errorf("copy snapshots: %w", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write %s..%s: %w", first.Format(time.DateOnly), last.Format(time.DateOnly), err)
		}
		res.DaysWritten += len(chunk)
		res.Watermark = last
		if e.afterChunk != nil {
			e.afterChunk(res.DaysWritten)
		}
	}
	return nil
}

// finish records the run's outcome and, while the lease is ours, the
// portfolio's state, releasing the lease when release is set: one batch,
// which PostgreSQL runs as one implicit transaction.
func (e *Engine) finish(ctx context.Context, res *Result, token uuid.UUID, release, cancelled bool) error {
	timings := map[string]float64{
		"load_seconds": res.Timings.Load.Seconds(), "prices_seconds": res.Timings.Prices.Seconds(),
		"compute_seconds": res.Timings.Compute.Seconds(), "write_seconds": res.Timings.Write.Seconds(),
		"total_seconds": res.Timings.Total.Seconds(),
	}
	var state portfolio.State
	switch {
	case res.Status == portfolio.RunCompleted:
		state = portfolio.StateCurrent
	case res.Status == portfolio.RunWaitingForPrices:
		state = portfolio.StateWaitingForPrices
	case cancelled:
		// Cancelled by the caller (a shutdown): not the portfolio's failure.
		state = portfolio.StatePending
	default:
		state = portfolio.StateFailing
	}
	current, waiting := portfolio.StateCurrent.Literal(), portfolio.StateWaitingForPrices.Literal()
	failing, pending := portfolio.StateFailing.Literal(), portfolio.StatePending.Literal()
	b := &pgx.Batch{}
	b.Queue(e.sql(`
		UPDATE {schema}.batch_runs
		SET status = $3, finished_at = now(), from_date = $4, through_date = $5, days_total = $6,
		    days_written = $7, warnings = $8, error = $9, phase_timings = $10
		WHERE portfolio_id = $1 AND id = $2`),
		res.PortfolioID, res.RunID, string(res.Status), nullDate(res.From), nullDate(res.Through),
		res.DaysTotal, res.DaysWritten, res.Warnings, nullString(res.Error), timings)
	b.Queue(e.sql(`
		UPDATE {schema}.backfill_state
		SET status = CASE WHEN rewind_seq <> $7 AND $3 IN (`+current+`, `+waiting+`) THEN `+pending+` ELSE $3 END,
		    target_date = $4, updated_at = now(),
		    requested_at = CASE WHEN $3 IN (`+failing+`, `+pending+`) OR rewind_seq <> $7 THEN requested_at END,
		    attempts = CASE $3 WHEN `+failing+` THEN attempts + 1 WHEN `+pending+` THEN attempts ELSE 0 END,
		    last_error = $5,
		    behind_since = CASE WHEN $3 = `+current+` AND rewind_seq = $7 THEN NULL ELSE coalesce(behind_since, now()) END,
		    lease_owner = CASE WHEN $6 THEN NULL ELSE lease_owner END,
		    lease_token = CASE WHEN $6 THEN NULL ELSE lease_token END,
		    lease_expires_at = CASE WHEN $6 THEN NULL ELSE lease_expires_at END
		WHERE portfolio_id = $1 AND lease_token = $2`),
		res.PortfolioID, token, state, nullDate(res.Target), nullString(res.Error), release, res.rewindSeq)
	if err := e.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("finish run %s: %w", res.RunID, err)
	}
	return nil
}

func nullDate(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// execN reads the results of the next n statements of a batch.
func execN(br pgx.BatchResults, n int) error {
	for range n {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	return nil
}
