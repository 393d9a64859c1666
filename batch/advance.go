package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
)

// AdvanceClaim is a portfolio whose lease the caller holds.
type AdvanceClaim struct {
	PortfolioID uuid.UUID
	LeaseToken  uuid.UUID
}

// AdvanceOpts are per-call options of Advance.
type AdvanceOpts struct {
	// Trigger is recorded on the runs. Default portfolio.TriggerSchedule.
	Trigger portfolio.Trigger
}

// AdvanceResult is one portfolio's outcome of an Advance.
type AdvanceResult struct {
	Result *Result
	Err    error
	// Settled: the portfolio's rows, run and state were written in the
	// batch's transaction, and its lease released. Otherwise its run is
	// recorded and the caller still holds the lease (or lost it) and
	// settles the portfolio as after Backfill.
	Settled bool
}

// advanceItem is one portfolio moving through an Advance.
type advanceItem struct {
	claim AdvanceClaim
	p     *portfolioData
	res   *Result
	days  []day
	err   error
}

// Advance brings many portfolios forward at once, typically each by the
// one session since its watermark (the nightly advance). It does what
// Backfill does for each, with the same compute, but in a constant number
// of round trips for the whole batch: one to start the runs and load every
// portfolio with its rolling state, one transaction to write every
// portfolio's rows, runs, correlation sets and rolling state and to settle
// its state. Each portfolio is fenced by its own lease and rewind counter:
// a portfolio whose lease was lost, whose compute failed or that is
// implausible is left out of the write alone, its run recorded as failed.
// No run is left running, except by a crash, after which the zombie
// cleanup closes it and the portfolio is claimed again once its lease
// expires.
func (e *Engine) Advance(ctx context.Context, claims []AdvanceClaim, opts *AdvanceOpts) []AdvanceResult {
	var o AdvanceOpts
	if opts != nil {
		o = *opts
	}
	o.Trigger = cmp.Or(o.Trigger, portfolio.TriggerSchedule)
	started := time.Now()
	items := make([]*advanceItem, len(claims))
	for i, c := range claims {
		items[i] = &advanceItem{claim: c, res: &Result{PortfolioID: c.PortfolioID, Warnings: []Warning{}, rewindSeq: -1}}
	}
	out := make([]AdvanceResult, len(items))
	if len(items) == 0 {
		return out
	}

	t0 := time.Now()
	if err := e.loadAdvance(ctx, items, o.Trigger); err != nil {
		for _, it := range items {
			it.err = err
		}
	}
	load := time.Since(t0)
	bo := &BackfillOpts{Trigger: o.Trigger}
	var write []*advanceItem
	for _, it := range items {
		it.res.Timings.Load = load
		if it.err != nil {
			continue
		}
		it.res.rewindSeq = it.p.rewindSeq
		it.days, it.err = e.computeOne(ctx, it, bo)
		if it.err == nil && it.days != nil {
			write = append(write, it)
		}
	}
	t1 := time.Now()
	if len(write) > 0 {
		fenced, err := e.writeAdvance(ctx, write)
		for _, it := range write {
			switch {
			case err != nil:
				it.err = err
			case !fenced[it.claim.PortfolioID]:
				it.err = fmt.Errorf("write %s: %w", it.claim.PortfolioID, ErrLeaseLost)
			}
		}
	}
	wrote := time.Since(t1)

	failed := 0
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for i, it := range items {
		res := it.res
		res.Timings.Write = wrote
		res.Timings.Total = time.Since(started)
		out[i] = AdvanceResult{Result: res, Err: it.err}
		if it.err == nil && it.days != nil {
			out[i].Settled = true
			continue
		}
		if it.err != nil {
			failed++
			res.Error = it.err.Error()
			res.Status = portfolio.RunFailed
			e.cfg.Logger.WarnContext(ctx, "advance failed", "portfolio_id", it.claim.PortfolioID, "run_id", res.RunID, "error", res.Error)
		}
		// Nothing was written for it: its run and state are recorded as
		// after a Backfill that ended here, and the caller settles it.
		if res.RunID != uuid.Nil {
			if ferr := e.finish(fctx, res, it.claim.LeaseToken, false, errors.Is(it.err, context.Canceled)); ferr != nil {
				out[i].Err = errors.Join(out[i].Err, ferr)
			}
		}
	}
	e.cfg.Logger.InfoContext(ctx, "advance", "portfolios", len(items), "written", len(write)-countErr(write),
		"failed", failed, "load", load, "write", wrote, "duration", time.Since(started))
	return out
}

func countErr(items []*advanceItem) int {
	n := 0
	for _, it := range items {
		if it.err != nil {
			n++
		}
	}
	return n
}

// computeOne computes one portfolio of an Advance, a panic becoming its
// error alone.
func (e *Engine) computeOne(ctx context.Context, it *advanceItem, o *BackfillOpts) (days []day, err error) {
	defer func() {
		if p := recover(); p != nil {
			days, err = nil, fmt.Errorf("backfill %s: %w: %v", it.claim.PortfolioID, ErrPanic, p)
			e.cfg.Logger.ErrorContext(ctx, "backfill panicked", "portfolio_id", it.claim.PortfolioID, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	days, err = e.compute(ctx, it.p, o, it.res)
	if err == nil && days != nil {
		it.res.Status = portfolio.RunCompleted
		if it.res.Through.Before(it.res.Target) {
			it.res.Status = portfolio.RunWaitingForPrices
		}
	}
	return days, err
}
