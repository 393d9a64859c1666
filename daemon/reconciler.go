package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/robfig/cron/v3"
	"github.com/sourcegraph/conc"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

// Reconciler keeps every portfolio's snapshots up to the latest trading
// day: on a schedule, on every notification and on start it sweeps for
// portfolios that are behind, were requested or were never snapshotted,
// claims them with expiring leases and backfills them on a bounded pool.
// Any number of replicas may run against one database.
type Reconciler struct {
	pool     *pgxpool.Pool
	cfg      Config
	engine   *batch.Engine
	client   *portfolio.Client // the library's reads
	cal      batch.Calendar
	metrics  *metrics
	gatherer prometheus.Gatherer

	wake     chan struct{}
	notified atomic.Bool // a notification arrived since the last sweep
	slots    chan struct{}

	mu        sync.Mutex
	started   bool
	stopLoop  context.CancelFunc // stops sweeping, the listener and the schedule
	stopRuns  context.CancelFunc // cancels in-flight backfills
	runCtx    context.Context
	loops     conc.WaitGroup // the sweep loop and the listener
	runs      sync.WaitGroup // in-flight backfills
	inFlight  map[uuid.UUID]time.Time
	lastSweep SweepResult
	stopped   chan struct{}
	sweepMu   sync.Mutex // one sweep at a time
	gaugesAt  time.Time  // last refresh of the state gauges; under sweepMu
}

// New returns a reconciler working on pool. A nil config means defaults.
func New(pool *pgxpool.Pool, cfg *Config) (*Reconciler, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Reconciler{
		pool: pool, cfg: c, engine: c.Engine,
		wake: make(chan struct{}, 1), slots: make(chan struct{}, c.Concurrency),
		inFlight: map[uuid.UUID]time.Time{}, stopped: make(chan struct{}),
	}
	if r.engine == nil {
		r.engine, err = batch.NewEngine(pool, &batch.Config{
			Schema: c.Schema, Calendar: c.Calendar, Worker: c.Worker, Now: c.Now, Logger: c.Logger, LeaseTTL: c.LeaseTTL,
		})
		if err != nil {
			return nil, err
		}
	}
	r.client, err = portfolio.NewClient(pool, &portfolio.Config{Schema: c.Schema, NotifyChannel: c.NotifyChannel, Now: c.Now, Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	r.cal = c.Calendar
	if r.cal == nil {
		r.cal = r.engine.Config().Calendar
	}
	reg, gatherer := c.Registerer, c.Gatherer
	if reg == nil {
		// A private registry with the process and Go collectors: the
		// alert rules read process_start_time_seconds.
		registry := prometheus.NewRegistry()
		registry.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
		reg = registry
		if gatherer == nil {
			gatherer = registry
		}
	}
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	r.gatherer = gatherer
	r.metrics, err = newMetrics(reg, c.Version, r.longestRunning)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	return r, nil
}

// Engine returns the engine the reconciler runs backfills with.
func (r *Reconciler) Engine() *batch.Engine { return r.engine }

// Start begins sweeping: at once, on the schedule and on every
// notification. Cancelling ctx stops the reconciler as abruptly as a Stop
// whose grace period has run out.
func (r *Reconciler) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("reconciler already started")
	}
	sched := cron.New(cron.WithParser(cronParser), cron.WithLocation(time.UTC))
	if _, err := sched.AddFunc(r.cfg.Schedule, func() { r.trigger(false) }); err != nil {
		return fmt.Errorf("schedule %q: %w", r.cfg.Schedule, err)
	}
	r.started = true
	loopCtx, stopLoop := context.WithCancel(ctx)
	r.runCtx, r.stopRuns = context.WithCancel(ctx)
	r.stopLoop = stopLoop
	sched.Start()
	r.loops.Go(func() {
		<-loopCtx.Done()
		<-sched.Stop().Done()
	})
	if !r.cfg.DisableListener {
		r.loops.Go(func() { r.listen(loopCtx) })
	} else {
		r.metrics.listenerConnected.Set(0)
	}
	r.loops.Go(func() { r.loop(loopCtx) })
	r.trigger(false)
	r.cfg.Logger.InfoContext(ctx, "reconciler started", "worker", r.cfg.Worker, "schedule", r.cfg.Schedule,
		"concurrency", r.cfg.Concurrency, "lease_ttl", r.cfg.LeaseTTL)
	return nil
}

// Stop stops claiming work, lets in-flight backfills finish until ctx ends
// (or ShutdownGrace passes, when ctx has no deadline), then cancels them;
// they record their runs and release their leases so that peers take over
// at once. It returns when everything has stopped.
func (r *Reconciler) Stop(ctx context.Context) error {
	r.mu.Lock()
	if !r.started {
		r.mu.Unlock()
		return errors.New("reconciler not started")
	}
	stopLoop, stopRuns := r.stopLoop, r.stopRuns
	r.mu.Unlock()

	stopLoop()
	r.loops.Wait()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.cfg.ShutdownGrace)
		defer cancel()
	}
	done := make(chan struct{})
	go func() { r.runs.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.cfg.Logger.Warn("grace period over: cancelling in-flight backfills", "in_flight", len(r.snapshotInFlight()))
		stopRuns()
		<-done
	}
	stopRuns()
	r.mu.Lock()
	select {
	case <-r.stopped:
	default:
		close(r.stopped)
	}
	r.mu.Unlock()
	r.cfg.Logger.Info("reconciler stopped", "worker", r.cfg.Worker)
	return nil
}

// Stopped is closed once Stop has finished.
func (r *Reconciler) Stopped() <-chan struct{} { return r.stopped }

// trigger asks the loop for a sweep; requests coalesce.
func (r *Reconciler) trigger(notified bool) {
	if notified {
		r.notified.Store(true)
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Reconciler) loop(ctx context.Context) {
	var lastNotified time.Time // start of the last sweep a notification asked for
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		trigger := portfolio.TriggerSchedule
		if r.notified.Swap(false) {
			trigger = portfolio.TriggerNotify
			// Notifications within NotifyInterval of the last one's sweep
			// wait for it to pass and share one sweep, which serves every
			// request that arrived meanwhile.
			if wait := r.cfg.NotifyInterval - time.Since(lastNotified); wait > 0 {
				if !sleep(ctx, wait) {
					return
				}
				r.notified.Store(false)
				select {
				case <-r.wake:
				default:
				}
			}
			lastNotified = time.Now()
		}
		if _, err := r.sweep(ctx, r.runCtx, trigger, nil); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Error("sweep failed", "error", err)
		}
	}
}

// SweepResult summarises one sweep.
type SweepResult struct {
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// Target is the trading day portfolios are brought up to: the latest
	// closed session with the benchmark's price (zero when none).
	Target    time.Time `json:"target"`
	Claimed   int       `json:"claimed"`
	Reclaimed int       `json:"reclaimed"`
	Error     string    `json:"error,omitempty"`
}

// SweepNow runs one sweep to completion: it claims and backfills every
// portfolio that is due until none is left, and waits for those backfills.
// It can be used without Start (as `backfilld run --once` does).
func (r *Reconciler) SweepNow(ctx context.Context) (SweepResult, error) {
	var wg sync.WaitGroup
	res, err := r.sweep(ctx, ctx, portfolio.TriggerManual, &wg)
	wg.Wait()
	return res, err
}

// sweep claims due portfolios as slots free up and starts their backfills
// under runCtx, until nothing is left to claim. wg, when set, tracks the
// backfills this sweep started.
func (r *Reconciler) sweep(ctx, runCtx context.Context, trigger portfolio.Trigger, wg *sync.WaitGroup) (res SweepResult, err error) {
	r.sweepMu.Lock()
	defer r.sweepMu.Unlock()
	res.Started = r.cfg.Now()
	t0 := time.Now()
	defer func() {
		res.Duration = time.Since(t0)
		if err != nil {
			res.Error = err.Error()
			r.metrics.sweeps.WithLabelValues("error").Inc()
		} else {
			r.metrics.sweeps.WithLabelValues("ok").Inc()
			r.metrics.lastSweep.Set(float64(r.cfg.Now().UnixNano()) / 1e9)
		}
		r.metrics.sweepDuration.Observe(res.Duration.Seconds())
		r.mu.Lock()
		r.lastSweep = res
		r.mu.Unlock()
	}()
	// Price corrections first: the rewinds they cause are claimed by this
	// very sweep. A failure leaves the changes recorded for the next sweep
	// and does not hold back the portfolios that are due.
	r.applyPriceChanges(ctx)
	res.Target, err = r.target(ctx)
	if err != nil {
		return res, err
	}
	// The state gauges cost a scan of backfill_state: notification sweeps
	// come often and from every replica, so they refresh the gauges at
	// most every gaugeRefreshInterval; SweepNow always does.
	if wg != nil || time.Since(r.gaugesAt) >= gaugeRefreshInterval {
		if err := r.refreshGauges(ctx, res.Target); err != nil {
			return res, err
		}
		r.gaugesAt = time.Now()
	}
	// Short advances first, in batches (advance.go); the loop below takes
	// every other due portfolio one at a time.
	if err := r.sweepAdvances(ctx, runCtx, &res, trigger, wg); err != nil {
		return res, err
	}
	for {
		// Wait for one free slot, then take whatever else is free.
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return res, ctx.Err()
		}
		n := 1
		for n < DefaultClaimBatch {
			select {
			case r.slots <- struct{}{}:
				n++
				continue
			default:
			}
			break
		}
		claims, err := r.claim(ctx, res.Target, n)
		for range n - len(claims) {
			<-r.slots
		}
		if err != nil {
			return res, err
		}
		if len(claims) == 0 {
			return res, nil
		}
		r.countClaims(&res, claims)
		for _, c := range claims {
			r.spawn(wg, func() { r.execute(runCtx, c, trigger) })
		}
	}
}

// countClaims counts claims in res and the reclaimed ones in the metrics.
func (r *Reconciler) countClaims(res *SweepResult, claims []claim) {
	res.Claimed += len(claims)
	for _, c := range claims {
		if c.reclaimed {
			res.Reclaimed++
			r.metrics.leaseReclaims.Inc()
		}
	}
}

// spawn runs work in a goroutine that holds one slot, which it frees when
// done; wg, when set, tracks it too.
func (r *Reconciler) spawn(wg *sync.WaitGroup, work func()) {
	r.runs.Add(1)
	if wg != nil {
		wg.Add(1)
	}
	go func() {
		defer func() {
			<-r.slots
			r.runs.Done()
			if wg != nil {
				wg.Done()
			}
		}()
		work()
	}()
}

// claim is a portfolio this replica now holds the lease of.
type claim struct {
	portfolioID uuid.UUID
	token       uuid.UUID
	reclaimed   bool // the previous holder's lease had expired
}

// claim takes up to n due portfolios: requested, never snapshotted, behind
// the target, or pending or failing; not quarantined; due; not leased (or
// lease expired). The lease token and expiry come from the database clock.
func (r *Reconciler) claim(ctx context.Context, target time.Time, n int) ([]claim, error) {
	return r.claimBy(ctx, "claim", claimSQL, nullDate(target), n)
}

// claimBy runs a claim statement whose last two parameters are this
// worker and the lease's seconds, returning the leases it took; what names
// it in errors.
func (r *Reconciler) claimBy(ctx context.Context, what, sql string, args ...any) ([]claim, error) {
	args = append(args, r.cfg.Worker, r.cfg.LeaseTTL.Seconds())
	rows, err := r.pool.Query(ctx, r.cfg.Schema.SQL(sql), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	claims, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claim, error) {
		var c claim
		return c, row.Scan(&c.portfolioID, &c.token, &c.reclaimed)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return claims, nil
}

// claimSQL claims up to $2 due portfolios for worker $3 for $4 seconds,
// given the target day $1, in order: requested (longest due first), never
// snapshotted, behind (oldest watermark first), then pending or failing.
//
// Each kind is its own ordered index scan that stops after $2 rows
// (requested_idx, watermark_idx twice, retry_idx), so a claim costs the
// same whether 10 or 100,000 portfolios are due: one query over their
// union would fetch and sort every due row on every claim, tens of
// milliseconds at 100,000 behind after each close. A portfolio found by
// several scans is claimed once, for its first kind.
var claimSQL = func() string {
	var b strings.Builder
	b.WriteString("WITH ")
	for rank, k := range dueKinds {
		fmt.Fprintf(&b, `%s AS (
			SELECT portfolio_id, lease_token IS NOT NULL AS reclaimed, %d AS rank, snapshot_through, next_attempt_at
			FROM {schema}.backfill_state
			WHERE %s AND next_attempt_at <= now() AND (lease_token IS NULL OR lease_expires_at <= now())
			ORDER BY %s
			LIMIT $2 FOR UPDATE SKIP LOCKED
		), `, k.name, rank, k.where, k.order)
	}
	b.WriteString(`due AS (
			SELECT * FROM (
				SELECT DISTINCT ON (portfolio_id) * FROM (`)
	for rank, k := range dueKinds {
		if rank > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT * FROM " + k.name)
	}
	b.WriteString(`) c
				ORDER BY portfolio_id, rank) d
			ORDER BY rank, snapshot_through NULLS FIRST, next_attempt_at
			LIMIT $2
		)
		UPDATE {schema}.backfill_state s
		SET lease_owner = $3, lease_token = gen_random_uuid(),
		    lease_expires_at = now() + make_interval(secs => $4), status = ` + portfolio.StateRunning.Literal() + `, updated_at = now()
		FROM due WHERE s.portfolio_id = due.portfolio_id
		RETURNING s.portfolio_id, s.lease_token, due.reclaimed`)
	return b.String()
}()

// dueKinds are the kinds of due portfolios in claim order: each a filter
// and an order that an index of backfill_state answers in order.
var dueKinds = []struct{ name, where, order string }{
	{"requested", "requested_at IS NOT NULL AND status <> " + notQuarantined, "next_attempt_at"},                           // requested_idx
	{"never", "snapshot_through IS NULL AND status <> " + notQuarantined, "snapshot_through NULLS FIRST, next_attempt_at"}, // watermark_idx
	{"behind", "snapshot_through < $1 AND status <> " + notQuarantined, "snapshot_through NULLS FIRST, next_attempt_at"},   // watermark_idx
	{"retry", "status IN (" + portfolio.Literals(portfolio.StatePending, portfolio.StateFailing) + ")", "next_attempt_at"}, // retry_idx
}

// notQuarantined is the constant of the partial indexes' predicate
// status <> 'quarantined', which the planner must see to use them.
var notQuarantined = portfolio.StateQuarantined.Literal()

// execute runs one claimed portfolio's backfill with heartbeats, then
// settles its state and releases the lease.
func (r *Reconciler) execute(runCtx context.Context, c claim, trigger portfolio.Trigger) {
	start := time.Now()
	r.mu.Lock()
	r.inFlight[c.portfolioID] = start
	r.mu.Unlock()
	r.metrics.inFlight.Inc()
	defer func() {
		r.mu.Lock()
		delete(r.inFlight, c.portfolioID)
		r.mu.Unlock()
		r.metrics.inFlight.Dec()
	}()

	ctx, cancel := context.WithTimeoutCause(runCtx, r.cfg.BackfillTimeout, errTimeout)
	defer cancel()
	lost := make(chan struct{})
	var hb conc.WaitGroup
	hbCtx, stopHB := context.WithCancel(ctx)
	hb.Go(func() { r.heartbeat(hbCtx, c, cancel, lost) })

	res, err := r.backfill(ctx, c, trigger)
	stopHB()
	hb.Wait()

	result := classify(ctx, res, err, lost)
	r.metrics.backfills.WithLabelValues(string(result)).Inc()
	r.metrics.backfillDuration.Observe(time.Since(start).Seconds())
	if res != nil {
		r.metrics.daysWritten.Add(float64(res.DaysWritten))
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(runCtx), 10*time.Second)
	defer scancel()
	state, attempts, serr := r.settle(sctx, settlement{claim: c, res: res, err: err, outcome: result})
	status := string(state)
	if state == "" {
		status = string(OutcomeLeaseLost)
	}
	log := r.cfg.Logger.With("portfolio_id", c.portfolioID, "result", result, "duration", time.Since(start))
	if res != nil {
		log = log.With("run_id", res.RunID, "days_written", res.DaysWritten, "through", res.Through.Format(time.DateOnly))
	}
	switch {
	case serr != nil:
		log.Error("backfill: settle state", "error", serr, "backfill_error", err)
	case err != nil:
		log.Warn("backfill failed", "error", err, "state", status, "attempts", attempts)
	default:
		log.Info("backfill done", "state", status)
	}
}

var errTimeout = errors.New("backfill timeout")

// gaugeRefreshInterval bounds how often sweeps refresh the state gauges.
const gaugeRefreshInterval = 5 * time.Second

// backfill calls the engine, turning a panic that escapes it into an error.
func (r *Reconciler) backfill(ctx context.Context, c claim, trigger portfolio.Trigger) (res *batch.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", batch.ErrPanic, p)
		}
	}()
	return r.engine.Backfill(ctx, c.portfolioID, &batch.BackfillOpts{LeaseToken: c.token, Trigger: trigger})
}

// heartbeat extends the lease until ctx ends; when the lease is gone it
// cancels the backfill.
func (r *Reconciler) heartbeat(ctx context.Context, c claim, cancel context.CancelFunc, lost chan struct{}) {
	t := time.NewTicker(r.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tag, err := r.pool.Exec(ctx, r.cfg.Schema.SQL(`
			UPDATE {schema}.backfill_state SET lease_expires_at = now() + make_interval(secs => $3)
			WHERE portfolio_id = $1 AND lease_token = $2 AND lease_expires_at > now()`),
			c.portfolioID, c.token, r.cfg.LeaseTTL.Seconds())
		if err != nil {
			// A database hiccup: the next beat may succeed before expiry.
			r.cfg.Logger.Warn("heartbeat failed", "portfolio_id", c.portfolioID, "error", err)
			continue
		}
		if tag.RowsAffected() == 0 {
			r.cfg.Logger.Warn("lease lost: cancelling backfill", "portfolio_id", c.portfolioID)
			close(lost)
			cancel()
			return
		}
	}
}

// classify names a backfill's outcome for the metrics.
func classify(ctx context.Context, res *batch.Result, err error, lost chan struct{}) Outcome {
	select {
	case <-lost:
		return OutcomeLeaseLost
	default:
	}
	switch {
	case err == nil && res != nil && res.Status == portfolio.RunWaitingForPrices:
		return OutcomeWaitingForPrices
	case err == nil:
		return OutcomeCompleted
	case errors.Is(err, batch.ErrLeaseLost):
		return OutcomeLeaseLost
	case errors.Is(err, batch.ErrPanic):
		return OutcomePanic
	case errors.Is(context.Cause(ctx), errTimeout):
		return OutcomeTimeout
	case res != nil && res.DaysWritten > 0:
		return OutcomePartial
	default:
		return OutcomeFailed
	}
}

// settlement is a finished backfill for settle: the claim it ran under,
// the engine's result and error, and their outcome.
type settlement struct {
	claim   claim
	res     *batch.Result
	err     error
	outcome Outcome
}

// settle releases the lease and records the outcome: a failure counts an
// attempt (unless the engine already did), backs off with jitter, and
// quarantines the portfolio after MaxAttempts. It returns the state the
// portfolio is left in and its failed attempts in a row; no state when a
// peer holds the lease now.
func (r *Reconciler) settle(ctx context.Context, s settlement) (state portfolio.State, attempts int, _ error) {
	c, res, err := s.claim, s.res, s.err
	// A cancelled backfill (shutdown) is not the portfolio's failure.
	failed := err != nil && s.outcome != OutcomeLeaseLost && !errors.Is(err, context.Canceled)
	// The engine counts the attempt when it got as far as recording a run.
	uncounted := 0
	if failed && (res == nil || res.RunID == uuid.Nil) {
		uncounted = 1
	}
	var msg *string
	if err != nil {
		s := err.Error()
		msg = &s
	}
	jitter := 0.8 + 0.4*rand.Float64()
	waitSecs := 0.0
	if err == nil && res != nil && res.Status == portfolio.RunWaitingForPrices {
		waitSecs = r.cfg.BackoffBase.Seconds()
	}
	var runID *uuid.UUID
	if res != nil && res.RunID != uuid.Nil {
		runID = &res.RunID
	}
	// A run the engine could not close (its final write failed) is closed
	// here, and its attempt counted, so that no run stays running.
	err2 := r.pool.QueryRow(ctx, r.cfg.Schema.SQL(`
		WITH closed AS (
			UPDATE {schema}.batch_runs
			SET status = CASE WHEN days_written > 0 THEN `+portfolio.RunPartial.Literal()+` ELSE `+portfolio.RunFailed.Literal()+` END,
			    finished_at = now(), error = coalesce(error, @error, 'run not recorded by its worker')
			WHERE portfolio_id = @portfolio_id AND id = @run_id AND status = `+portfolio.RunRunning.Literal()+` AND lease_token = @token
			RETURNING 1)
		UPDATE {schema}.backfill_state
		SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = now(),
		    attempts = attempts + @uncounted + CASE WHEN @failed THEN (SELECT count(*) FROM closed) ELSE 0 END,
		    status = CASE WHEN NOT @failed THEN CASE WHEN status = `+portfolio.StateRunning.Literal()+` THEN `+portfolio.StatePending.Literal()+` ELSE status END
		                  WHEN attempts + @uncounted + (SELECT count(*) FROM closed) >= @max_attempts THEN `+portfolio.StateQuarantined.Literal()+`
		                  ELSE `+portfolio.StateFailing.Literal()+` END,
		    last_error = CASE WHEN @failed THEN @error ELSE last_error END,
		    next_attempt_at = CASE WHEN @failed
		        THEN now() + make_interval(secs => least(@backoff_max, @backoff_base * power(2, greatest(attempts + @uncounted - 1, 0))) * @jitter)
		        ELSE now() + make_interval(secs => @wait_secs) END
		WHERE portfolio_id = @portfolio_id AND lease_token = @token
		RETURNING status, attempts`),
		pgx.NamedArgs{
			"portfolio_id": c.portfolioID, "token": c.token, "run_id": runID, "error": msg,
			"failed": failed, "uncounted": uncounted, "max_attempts": r.cfg.MaxAttempts,
			"backoff_base": r.cfg.BackoffBase.Seconds(), "backoff_max": r.cfg.BackoffMax.Seconds(), "jitter": jitter,
			"wait_secs": waitSecs,
		}).Scan(&state, &attempts)
	if errors.Is(err2, pgx.ErrNoRows) {
		return "", 0, nil // a peer holds it now
	}
	return state, attempts, err2
}

// applyPriceChanges turns recorded price changes into rewinds.
func (r *Reconciler) applyPriceChanges(ctx context.Context) {
	applied, err := r.engine.ApplyPriceChanges(ctx, &batch.ApplyOpts{NotifyChannel: r.cfg.NotifyChannel})
	r.metrics.priceChanges.Add(float64(applied.Changes))
	r.metrics.priceRewinds.Add(float64(applied.Rewound))
	if err != nil && ctx.Err() == nil {
		r.cfg.Logger.Error("apply price changes (retried next sweep)", "error", err)
	}
}

// target returns the latest closed session on which the benchmark has a
// close (zero when it has none).
func (r *Reconciler) target(ctx context.Context) (time.Time, error) {
	ec := r.engine.Config()
	closed := batch.MostRecentClose(r.cal, r.cfg.Now(), ec.CloseDelay)
	var ready *time.Time
	err := r.pool.QueryRow(ctx, r.cfg.Schema.SQL(`
		SELECT max(price_date) FROM {schema}.market_prices WHERE symbol = $1 AND price_date <= $2`),
		ec.Benchmark, closed).Scan(&ready)
	if err != nil {
		return time.Time{}, fmt.Errorf("target day: %w", err)
	}
	if ready == nil {
		return time.Time{}, nil
	}
	return *ready, nil
}

func (r *Reconciler) longestRunning() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var oldest time.Time
	for _, t := range r.inFlight {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return time.Since(oldest).Seconds()
}

func (r *Reconciler) snapshotInFlight() map[uuid.UUID]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[uuid.UUID]time.Time, len(r.inFlight))
	for k, v := range r.inFlight {
		out[k] = v
	}
	return out
}

// sleep waits for d, or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func nullDate(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
