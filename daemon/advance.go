package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/sourcegraph/conc"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

// DefaultAdvanceBatch is Config.AdvanceBatch's default.
const DefaultAdvanceBatch = 256

// advanceMinBatch: fewer short advances than this run one after another on
// the per-portfolio path (with a heartbeat and a cancellation each), which
// costs them little; the batch pays off from a few portfolios on.
const advanceMinBatch = 8

// advanceBatch is the batch size of the batched advance; 0 when it is off.
func (r *Reconciler) advanceBatch() int {
	switch n := r.cfg.AdvanceBatch; {
	case n < 0:
		return 0
	case n == 0:
		return DefaultAdvanceBatch
	default:
		return n
	}
}

// claimAdvanceSQL claims up to $2 portfolios whose advance is short, for
// worker $3 for $4 seconds: the watermark is $1, the session before the
// target; no backfill was requested (a request may carry a From or a
// rewind); no failure is being retried (attempts = 0); not quarantined,
// due, and not leased (or the lease expired). One range of the watermark
// index, in its order.
var claimAdvanceSQL = `
	WITH due AS (
		SELECT portfolio_id, lease_token IS NOT NULL AS reclaimed
		FROM {schema}.backfill_state
		WHERE snapshot_through = $1 AND status <> ` + notQuarantined + ` AND requested_at IS NULL AND attempts = 0
		  AND next_attempt_at <= now() AND (lease_token IS NULL OR lease_expires_at <= now())
		ORDER BY snapshot_through, next_attempt_at
		LIMIT $2 FOR UPDATE SKIP LOCKED)
	UPDATE {schema}.backfill_state s
	SET lease_owner = $3, lease_token = gen_random_uuid(),
	    lease_expires_at = now() + make_interval(secs => $4), status = ` + portfolio.StateRunning.Literal() + `, updated_at = now()
	FROM due WHERE s.portfolio_id = due.portfolio_id
	RETURNING s.portfolio_id, s.lease_token, due.reclaimed`

// sweepAdvances claims the portfolios whose advance is short in batches,
// each batch taking one slot, until none is left.
func (r *Reconciler) sweepAdvances(ctx, runCtx context.Context, res *SweepResult, trigger portfolio.Trigger, wg *sync.WaitGroup) error {
	n := r.advanceBatch()
	if n == 0 || res.Target.IsZero() {
		return nil
	}
	prev := batch.PrevSession(r.cal, res.Target)
	for {
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.applyPendingPriceChanges(ctx)
		claims, err := r.claimAdvance(ctx, prev, n)
		if err != nil || len(claims) == 0 {
			<-r.slots
			return err
		}
		r.countClaims(res, claims)
		r.spawn(wg, func() {
			if len(claims) < advanceMinBatch {
				for _, c := range claims {
					r.execute(runCtx, c, trigger)
				}
				return
			}
			r.executeAdvance(runCtx, claims, trigger)
		})
		if len(claims) < n {
			return nil
		}
	}
}

// applyPendingPriceChanges applies the price changes recorded since the
// sweep began (a correction imported with the day's closes: the sweep's
// target may already count the new day), and waits for those a peer is
// applying, so that their rewinds are visible before a batch claims: a
// batch would otherwise advance a portfolio whose older days are about to
// be rewound and mark it current in between.
func (r *Reconciler) applyPendingPriceChanges(ctx context.Context) {
	r.applyPriceChanges(ctx)
	// FOR SHARE waits for a peer's transaction that took the changes; a
	// change it processed no longer matches, one it gave up on does.
	var pending int
	err := r.pool.QueryRow(ctx, r.cfg.Schema.SQL(`
		SELECT count(*) FROM (SELECT 1 FROM {schema}.price_changes WHERE processed_at IS NULL FOR SHARE) c`)).Scan(&pending)
	if err == nil && pending > 0 {
		r.applyPriceChanges(ctx)
	}
}

func (r *Reconciler) claimAdvance(ctx context.Context, watermark time.Time, n int) ([]claim, error) {
	return r.claimBy(ctx, "claim advances", claimAdvanceSQL, watermark, n)
}

// executeAdvance runs one batched advance with one heartbeat for the
// batch, then settles what the engine did not: the portfolios it did not
// write (failed, lost, nothing to write). Each portfolio is counted in the
// metrics as a backfill of its own.
func (r *Reconciler) executeAdvance(runCtx context.Context, claims []claim, trigger portfolio.Trigger) {
	start := time.Now()
	r.mu.Lock()
	for _, c := range claims {
		r.inFlight[c.portfolioID] = start
	}
	r.mu.Unlock()
	r.metrics.inFlight.Add(float64(len(claims)))
	defer func() {
		r.mu.Lock()
		for _, c := range claims {
			delete(r.inFlight, c.portfolioID)
		}
		r.mu.Unlock()
		r.metrics.inFlight.Sub(float64(len(claims)))
	}()

	ctx, cancel := context.WithTimeoutCause(runCtx, r.cfg.BackfillTimeout, errTimeout)
	defer cancel()
	var lost sync.Map // portfolio id → struct{}: the heartbeat found its lease gone
	var hb conc.WaitGroup
	hbCtx, stopHB := context.WithCancel(ctx)
	hb.Go(func() { r.heartbeatBatch(hbCtx, claims, &lost) })
	results := r.advance(ctx, claims, trigger)
	stopHB()
	hb.Wait()

	sctx, scancel := context.WithTimeout(context.WithoutCancel(runCtx), 30*time.Second)
	defer scancel()
	counts := map[Outcome]int{}
	days := 0
	for i, c := range claims {
		ar := results[i]
		lostCh := make(chan struct{})
		if _, ok := lost.Load(c.portfolioID); ok && !ar.Settled {
			close(lostCh)
		}
		result := classify(ctx, ar.Result, ar.Err, lostCh)
		counts[result]++
		r.metrics.backfills.WithLabelValues(string(result)).Inc()
		r.metrics.backfillDuration.Observe(time.Since(start).Seconds())
		if ar.Result != nil {
			r.metrics.daysWritten.Add(float64(ar.Result.DaysWritten))
			days += ar.Result.DaysWritten
		}
		if ar.Settled {
			continue
		}
		state, attempts, serr := r.settle(sctx, settlement{claim: c, res: ar.Result, err: ar.Err, outcome: result})
		log := r.cfg.Logger.With("portfolio_id", c.portfolioID, "result", result)
		if ar.Result != nil {
			log = log.With("run_id", ar.Result.RunID)
		}
		switch {
		case serr != nil:
			log.Error("advance: settle state", "error", serr, "backfill_error", ar.Err)
		case ar.Err != nil:
			log.Warn("advance failed", "error", ar.Err, "state", state, "attempts", attempts)
		}
	}
	r.cfg.Logger.Info("advance done", "portfolios", len(claims), "completed", counts[OutcomeCompleted],
		"days_written", days, "results", counts, "duration", time.Since(start))
}

// advance calls the engine, turning a panic that escapes it into every
// portfolio's error.
func (r *Reconciler) advance(ctx context.Context, claims []claim, trigger portfolio.Trigger) (out []batch.AdvanceResult) {
	ac := make([]batch.AdvanceClaim, len(claims))
	for i, c := range claims {
		ac[i] = batch.AdvanceClaim{PortfolioID: c.portfolioID, LeaseToken: c.token}
	}
	defer func() {
		if p := recover(); p != nil {
			out = make([]batch.AdvanceResult, len(claims))
			for i := range out {
				out[i].Err = fmt.Errorf("%w: %v", batch.ErrPanic, p)
			}
		}
	}()
	return r.engine.Advance(ctx, ac, &batch.AdvanceOpts{Trigger: trigger})
}

// heartbeatBatch extends every lease of the batch with one statement per
// beat until ctx ends, and records the portfolios whose lease is gone: the
// batch's write leaves them out (fencing), the others go on.
func (r *Reconciler) heartbeatBatch(ctx context.Context, claims []claim, lost *sync.Map) {
	t := time.NewTicker(r.cfg.HeartbeatInterval)
	defer t.Stop()
	ids, tokens := make([]uuid.UUID, len(claims)), make([]uuid.UUID, len(claims))
	for i, c := range claims {
		ids[i], tokens[i] = c.portfolioID, c.token
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rows, err := r.pool.Query(ctx, r.cfg.Schema.SQL(`
			UPDATE {schema}.backfill_state s SET lease_expires_at = now() + make_interval(secs => $3)
			FROM unnest($1::uuid[], $2::uuid[]) c (id, token)
			WHERE s.portfolio_id = c.id AND s.lease_token = c.token AND s.lease_expires_at > now()
			RETURNING s.portfolio_id`), ids, tokens, r.cfg.LeaseTTL.Seconds())
		var held []uuid.UUID
		if err == nil {
			held, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		}
		if err != nil {
			if ctx.Err() == nil {
				// A database hiccup: the next beat may succeed before expiry.
				r.cfg.Logger.Warn("heartbeat failed", "portfolios", len(ids), "error", err)
			}
			continue
		}
		keep := make(map[uuid.UUID]bool, len(held))
		for _, id := range held {
			keep[id] = true
		}
		for _, id := range ids {
			if !keep[id] {
				if _, had := lost.LoadOrStore(id, struct{}{}); !had {
					r.cfg.Logger.Warn("lease lost: the advance leaves the portfolio out", "portfolio_id", id)
				}
			}
		}
	}
}
