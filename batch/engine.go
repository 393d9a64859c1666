package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/portfolio"
)

// Defaults of Config.
const (
	DefaultBenchmark  = "SPY"
	DefaultStaleAfter = 5
	DefaultChunkDays  = 256
	DefaultLeaseTTL   = 2 * time.Minute
)

// DefaultWorker names this process in leases and runs: host:pid.
func DefaultWorker() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// Config configures an Engine. nil or zero fields mean defaults.
type Config struct {
	// Schema holds the library's tables. Default portfolio.DefaultSchema.
	Schema portfolio.Schema
	// Calendar gives the trading sessions. Default NewNYSECalendar().
	Calendar Calendar
	// Prices supplies closes. Default a DBPriceSource on the engine's pool.
	Prices PriceSource
	// Symbols supplies reference data (sectors, provider betas) to the
	// analytics. Default a DBSymbolSource on the engine's pool.
	Symbols SymbolSource
	// Benchmark is the symbol whose close makes a day ready. Default "SPY".
	Benchmark string
	// CloseDelay is how long after the close a session counts as closed.
	// Default DefaultCloseDelay (30 min).
	CloseDelay time.Duration
	// StaleAfter is how many sessions a price may be carried forward
	// before the position is flagged stale. Default 5.
	StaleAfter int
	// ChunkDays is how many days one transaction writes; a crash loses at
	// most one chunk of work. Default 256 (about a year of sessions).
	ChunkDays int
	// LeaseTTL is how long a lease the engine claims itself lasts; each
	// chunk extends it. Default 2 min.
	LeaseTTL time.Duration
	// Worker names this process in leases and runs. Default host:pid.
	Worker string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives a line per backfill. Default discards.
	Logger *slog.Logger
	// Analytics configures the risk analytics computed for every day:
	// symbol betas, factor exposures, volatility, realized beta. Defaults
	// as AnalyticsConfig documents; Analytics.Disabled turns them off.
	Analytics AnalyticsConfig
}

func (c *Config) withDefaults(pool *pgxpool.Pool) (Config, error) {
	var o Config
	if c != nil {
		o = *c
	}
	schema, err := portfolio.ParseSchema(o.Schema.Name())
	if err != nil {
		return o, fmt.Errorf("config: %w", err)
	}
	o.Schema = schema
	if o.Calendar == nil {
		o.Calendar = NewNYSECalendar()
	}
	if o.Prices == nil {
		o.Prices = NewDBPriceSource(pool, o.Schema)
	}
	if o.Symbols == nil {
		o.Symbols = NewDBSymbolSource(pool, o.Schema)
	}
	o.Benchmark = cmp.Or(o.Benchmark, DefaultBenchmark)
	o.CloseDelay = cmp.Or(o.CloseDelay, DefaultCloseDelay)
	o.StaleAfter = cmp.Or(o.StaleAfter, DefaultStaleAfter)
	o.ChunkDays = cmp.Or(o.ChunkDays, DefaultChunkDays)
	o.LeaseTTL = cmp.Or(o.LeaseTTL, DefaultLeaseTTL)
	if o.Worker == "" {
		o.Worker = DefaultWorker()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Analytics, err = o.Analytics.withDefaults(); err != nil {
		return o, fmt.Errorf("config: analytics: %w", err)
	}
	switch {
	case o.StaleAfter < 0:
		return o, fmt.Errorf("config: StaleAfter %d must be positive", o.StaleAfter)
	case o.ChunkDays < 0:
		return o, fmt.Errorf("config: ChunkDays %d must be positive", o.ChunkDays)
	case o.LeaseTTL < time.Second:
		return o, fmt.Errorf("config: LeaseTTL %s must be at least 1s", o.LeaseTTL)
	case o.CloseDelay < 0:
		return o, fmt.Errorf("config: CloseDelay %s must not be negative", o.CloseDelay)
	}
	return o, nil
}

// Engine brings portfolios up to date. It is safe for concurrent use, and
// shares prices between the portfolios it processes.
type Engine struct {
	pool   *pgxpool.Pool
	cfg    Config
	prices *priceCache
	betas  *betaCache
	series *seriesCache
	store  *betaStore // nil: symbol betas are not persisted
	stress *stressCache
	corr   *corrCache
	axes   *axisCache

	// The caches' price generation, the last price change they saw and
	// their epoch (see syncCaches).
	syncMu    sync.Mutex
	syncedGen int64
	changeID  int64
	epoch     atomic.Int64

	// afterChunk, set by tests, runs after each committed chunk.
	afterChunk func(daysWritten int)
	// beforeAnalytics, set by tests, runs before the analytics of a
	// backfill (a fault-injection point).
	beforeAnalytics func()
}

// NewEngine returns an engine writing through pool.
func NewEngine(pool *pgxpool.Pool, cfg *Config) (*Engine, error) {
	c, err := cfg.withDefaults(pool)
	if err != nil {
		return nil, err
	}
	return &Engine{pool: pool, cfg: c, prices: newPriceCache(c.Prices), betas: newBetaCache(), series: newSeriesCache(),
		stress: newStressCache(), corr: newCorrCache(), axes: newAxisCache(), syncedGen: -1, store: newBetaStore(pool, &c)}, nil
}

// Config returns the engine's configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

func (e *Engine) sql(q string) string { return e.cfg.Schema.SQL(q) }

// factors names the factor exposures the engine writes, in their order.
func (e *Engine) factors() []string {
	if e.cfg.Analytics.Disabled {
		return []string{}
	}
	return e.cfg.Analytics.Factors()
}

// Errors callers branch on.
var (
	// ErrLeaseHeld: another worker holds the portfolio's lease.
	ErrLeaseHeld = errors.New("portfolio leased by another worker")
	// ErrLeaseLost: the lease expired or was taken over; nothing more was
	// written.
	ErrLeaseLost = errors.New("lease lost")
	// ErrPanic: the backfill panicked; the panic was recovered and the run
	// recorded as failed.
	ErrPanic = errors.New("panic")
)

// BackfillOpts are per-call options of Backfill.
type BackfillOpts struct {
	// Through is the last day to compute. Default: the most recent closed
	// session whose prices are ready.
	Through time.Time
	// From forces recomputation from this day on, even when snapshots
	// exist. Default: the day after the watermark.
	From time.Time
	// LeaseToken is the lease the caller already holds on the portfolio
	// (the reconciler). Without it the engine claims the lease itself and
	// releases it when done.
	LeaseToken uuid.UUID
	// RunID is the pending batch run this call executes. Default: the
	// portfolio's pending run, or a new run.
	RunID uuid.UUID
	// Trigger is recorded on a new run. Default portfolio.TriggerManual.
	Trigger portfolio.Trigger
}

// Warning is something a backfill noticed and recorded with its run.
type Warning struct {
	Code    string `json:"code"`
	Symbol  string `json:"symbol,omitempty"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Message string `json:"message"`
}

// Warning codes.
const (
	WarnStalePrice       = "stale_price"
	WarnUnpriced         = "unpriced"
	WarnOptionIntrinsic  = "option_intrinsic"
	WarnNonPositiveBase  = "non_positive_nav"
	WarnEntryAfterExpiry = "entry_after_expiration"
)

// Timings are the wall times of a backfill's phases.
type Timings struct {
	Load    time.Duration `json:"load"`
	Prices  time.Duration `json:"prices"`
	Compute time.Duration `json:"compute"`
	Write   time.Duration `json:"write"`
	Total   time.Duration `json:"total"`
}

// Result describes one Backfill call.
type Result struct {
	RunID       uuid.UUID           `json:"batch_run_id"`
	PortfolioID uuid.UUID           `json:"portfolio_id"`
	Status      portfolio.RunStatus `json:"status"`
	// From and Through bound the days computed (zero when none).
	From    time.Time `json:"from"`
	Through time.Time `json:"through"`
	// Target is the most recent closed session; Ready the most recent one
	// with the benchmark's price.
	Target      time.Time `json:"target"`
	Ready       time.Time `json:"ready"`
	Watermark   time.Time `json:"watermark"`
	DaysTotal   int       `json:"days_total"`
	DaysWritten int       `json:"days_written"`
	Warnings    []Warning `json:"warnings"`
	Timings     Timings   `json:"timings"`
	Error       string    `json:"error,omitempty"`
	// Betas counts where the symbol betas came from (analytics on).
	Betas BetaStats `json:"betas"`

	// rewindSeq is the portfolio's rewind counter when the backfill loaded
	// it; -1 before.
	rewindSeq int64
	// risk carries the run's stress scenarios and latest correlation
	// matrix to the writes.
	risk *runRisk
	// rolling is the rolling state after the last computed day (analytics
	// on), written with it.
	rolling *rollingState
}

// Backfill computes every missing day of one portfolio up to the latest
// ready session in one pass, in memory, and writes the days in chunks; each
// chunk checks the lease token and moves the watermark in the same
// transaction. It records its batch run synchronously and never leaves it
// running: on error, panic or cancellation the run ends failed (nothing
// written) or partial (some chunks written), and the error is returned with
// the result.
func (e *Engine) Backfill(ctx context.Context, portfolioID uuid.UUID, opts *BackfillOpts) (res *Result, err error) {
	var o BackfillOpts
	if opts != nil {
		o = *opts
	}
	o.Trigger = cmp.Or(o.Trigger, portfolio.TriggerManual)
	started := time.Now()
	res = &Result{PortfolioID: portfolioID, Warnings: []Warning{}, rewindSeq: -1}

	token, owned := o.LeaseToken, o.LeaseToken == uuid.Nil
	if owned {
		token, err = e.claim(ctx, portfolioID)
		if err != nil {
			return res, err
		}
	}
	res.RunID, err = e.startRun(ctx, portfolioID, o.RunID, o.Trigger, token)
	if err != nil {
		if owned {
			err = errors.Join(err, e.release(context.WithoutCancel(ctx), portfolioID, token))
		}
		return res, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("backfill %s: %w: %v", portfolioID, ErrPanic, p)
			e.cfg.Logger.ErrorContext(ctx, "backfill panicked", "portfolio_id", portfolioID, "panic", p, "stack", string(debug.Stack()))
		}
		res.Timings.Total = time.Since(started)
		if err != nil {
			res.Error = err.Error()
			res.Status = portfolio.RunFailed
			if res.DaysWritten > 0 {
				res.Status = portfolio.RunPartial
			}
		}
		// The run is recorded, and the lease released, even when ctx is
		// cancelled.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if ferr := e.finish(fctx, res, token, owned, errors.Is(err, context.Canceled)); ferr != nil {
			err = errors.Join(err, ferr)
		}
		e.cfg.Logger.InfoContext(ctx, "backfill", "portfolio_id", portfolioID, "run_id", res.RunID,
			"status", res.Status, "days_written", res.DaysWritten, "through", res.Through.Format(time.DateOnly),
			"duration", res.Timings.Total, "error", res.Error)
	}()
	err = e.backfill(ctx, portfolioID, &o, token, res)
	return res, err
}

// backfill runs the three phases of one portfolio's backfill: load,
// compute (shared with the batched advance) and write.
func (e *Engine) backfill(ctx context.Context, id uuid.UUID, o *BackfillOpts, token uuid.UUID, res *Result) error {
	t0 := time.Now()
	p, err := e.loadPortfolio(ctx, e.pool, id, res.RunID)
	if err != nil {
		return err
	}
	res.rewindSeq = p.rewindSeq
	res.Timings.Load = time.Since(t0)
	days, err := e.compute(ctx, p, o, res)
	if err != nil || days == nil {
		return err
	}
	t3 := time.Now()
	err = e.write(ctx, id, token, res, days)
	res.Timings.Write = time.Since(t3)
	if err != nil {
		return err
	}
	res.Status = portfolio.RunCompleted
	if res.Through.Before(res.Target) {
		res.Status = portfolio.RunWaitingForPrices
	}
	return nil
}

// compute computes the portfolio's days to write, with their analytics and
// rolling state, and checks them. It returns no days when there is nothing
// to write, with res.Status saying why.
func (e *Engine) compute(ctx context.Context, p *portfolioData, o *BackfillOpts, res *Result) ([]day, error) {
	id := p.id
	var err error
	cal := e.cfg.Calendar

	target := MostRecentClose(cal, e.cfg.Now(), e.cfg.CloseDelay)
	if through := dateOf(o.Through); !o.Through.IsZero() && through.Before(target) {
		target = through
		if !cal.IsSession(target) {
			target = PrevSession(cal, target)
		}
	}
	res.Target = target
	inception := SessionOnOrAfter(cal, p.inception)
	start := inception
	if p.watermark != nil && !p.watermark.Before(inception) {
		start = NextSession(cal, *p.watermark)
		res.Watermark = *p.watermark
	}
	if !o.From.IsZero() {
		from := SessionOnOrAfter(cal, o.From)
		if from.Before(start) {
			start = from
		}
		if start.Before(inception) {
			start = inception
		}
	}

	// Lay the axis far enough back to carry a price forward into start
	// and tell whether it is stale.
	t1 := time.Now()
	lookback := e.cfg.StaleAfter + 2
	if !e.cfg.Analytics.Disabled {
		lookback = max(lookback, e.cfg.Analytics.Lookback()+1, e.riskLookback())
	}
	if target.Before(start) {
		res.Ready = target
		res.Status = portfolio.RunCompleted
		return nil, nil
	}
	ax := e.axes.get(cal, start, target, lookback)
	axisFrom := ax.days[0]
	symbols := symbolsOf(p.positions, e.cfg.Benchmark)
	if !e.cfg.Analytics.Disabled {
		for _, s := range e.cfg.Analytics.Proxies() {
			if !slices.Contains(symbols, s) {
				symbols = append(symbols, s)
			}
		}
	}
	closes, gen, err := e.loadCloses(ctx, p, symbols, axisFrom, target)
	if err != nil {
		return nil, err
	}
	res.Timings.Prices = time.Since(t1)

	// The last ready session: the benchmark has a real close on it.
	lay := newLayer(ax, closes, e.series, gen)
	bench := lay.of(e.cfg.Benchmark)
	end := ax.onOrBefore(target)
	for end >= 0 && !bench.isReal(end) {
		end--
	}
	first := ax.onOrAfter(start)
	if end < first {
		if end >= 0 {
			res.Ready = ax.days[end]
		}
		res.Status = portfolio.RunWaitingForPrices
		return nil, nil
	}
	res.Ready = ax.days[end]

	t2 := time.Now()
	in, err := e.rollingInputs(ctx, p, ax, first, inception)
	if err != nil {
		return nil, err
	}
	st := in.chain
	hs, warns := e.holdings(lay, p.positions)
	res.Warnings = append(res.Warnings, warns...)
	var w warnings
	var x *exposures
	if !e.cfg.Analytics.Disabled {
		if e.beforeAnalytics != nil {
			e.beforeAnalytics()
		}
		if res.Betas, err = e.attachBetas(ctx, gen, p.gen, lay, hs, first, end, &w); err != nil {
			return nil, err
		}
		x = newExposures(end-first+1, len(e.cfg.Analytics.Factors()))
		x.mix = newComposition(hs, p.positions, p.refs, end-first+1)
	}
	totals := make([]dayTotals, end-first+1)
	runs := valueHoldings(hs, first, end, e.cfg.StaleAfter, totals, x)
	res.Warnings = append(res.Warnings, flagWarnings(ax, hs, runs)...)
	flows := make([]float64, len(totals))
	for _, f := range p.flows {
		if i := ax.onOrAfter(f.date); i >= first && i <= end {
			flows[i-first] += f.amount
		} else if i < first && f.date.Before(ax.days[first]) && ax.days[first].Equal(inception) {
			// Flows dated before the inception session count on it.
			flows[0] += f.amount
		}
	}
	days := chainDays(ax, first, totals, flows, st, func(i int, base float64) {
		d := ax.days[i].Format(time.DateOnly)
		res.Warnings = append(res.Warnings, Warning{Code: WarnNonPositiveBase, From: d, To: d,
			Message: fmt.Sprintf("NAV before the day's P&L is %.2f ≤ 0: daily return left empty", base)})
	})
	if x != nil {
		e.riskColumns(ax, first, days, in.history, bench, &w)
		for k := range days {
			days[k].expo = x
			days[k].row = k
		}
		exposureWarnings(ax, first, x, e.cfg.Analytics.Factors(), &w)
		if err := e.riskAnalytics(ctx, gen, lay, hs, first, days, in.vol, res, &w); err != nil {
			return nil, err
		}
		res.Warnings = append(res.Warnings, w.list()...)
		res.rolling = newRollingState(ax, first, days, in, p.rewindSeq, e.rollingWindow())
	}
	res.Timings.Compute = time.Since(t2)
	res.From, res.Through, res.DaysTotal = ax.days[first], ax.days[end], len(days)
	if err := checkPlausible(id, ax, first, days, hs); err != nil {
		return nil, err
	}
	return days, nil
}

// loadCloses brings the caches to the price generation read with p and
// returns the symbols' closes in [from, to] (see priceCache.closes) with
// the cache epoch they were loaded under.
func (e *Engine) loadCloses(ctx context.Context, p *portfolioData, symbols []string, from, to time.Time) (map[string][]Close, int64, error) {
	gen := p.gen
	if gen < 0 {
		var err error
		if gen, err = e.cfg.Prices.Generation(ctx); err != nil {
			return nil, 0, fmt.Errorf("price generation: %w", err)
		}
	}
	epoch, err := e.syncCaches(ctx, gen)
	if err != nil {
		return nil, 0, err
	}
	closes, err := e.prices.closes(ctx, epoch, symbols, from, to)
	return closes, epoch, err
}

// symbolsOf lists the symbols whose prices value the positions, plus the
// benchmark.
func symbolsOf(ps []storedPosition, benchmark string) []string {
	seen := map[string]bool{benchmark: true}
	out := []string{benchmark}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, p := range ps {
		if p.isCash || p.class == portfolio.ClassPrivate {
			continue
		}
		add(p.symbol)
		if p.underlying != nil {
			add(*p.underlying)
		}
	}
	return out
}

// holdings prepares the positions for valuation on ax.
func (e *Engine) holdings(lay *layer, ps []storedPosition) ([]holding, []Warning) {
	var warns []Warning
	ax := lay.ax
	hs := make([]holding, 0, len(ps))
	seriesOf := lay.of
	for i, p := range ps {
		h := holding{
			symbol: p.symbol, qm: p.qty * float64(p.multiplier), entryPrice: p.entryPrice,
			entry: ax.onOrAfter(p.entryDate), exit: noExit, position: i,
		}
		switch {
		case p.isCash:
			h.kind = kindCash
		case p.class == portfolio.ClassPrivate:
			h.kind = kindPrivate
		case p.class == portfolio.ClassOptions:
			h.kind = kindOption
			h.own = seriesOf(p.symbol)
			if p.underlying != nil {
				h.underlying = seriesOf(*p.underlying)
			}
			if p.strike != nil {
				h.strike = *p.strike
			}
			h.call = p.optionType != nil && *p.optionType == string(portfolio.OptionCall)
		default:
			h.own = seriesOf(p.symbol)
		}
		if p.exitDate != nil && p.exitPrice != nil {
			h.exit, h.exitPrice = ax.onOrAfter(*p.exitDate), *p.exitPrice
		}
		if h.kind == kindOption && p.expiration != nil {
			last := ax.onOrBefore(*p.expiration)
			if last < h.entry && p.expiration.Before(p.entryDate) {
				warns = append(warns, Warning{Code: WarnEntryAfterExpiry, Symbol: p.symbol,
					Message: "option entered after its expiration: ignored"})
				continue
			}
			// An expiration past the axis is not an exit on its last day.
			if last < h.exit && !p.expiration.After(ax.days[ax.len()-1]) {
				h.exit, h.settle = last, true
			}
		}
		hs = append(hs, h)
	}
	return hs, warns
}

// flagWarnings summarises flagged stretches, one warning per holding and
// flag with the first and last day.
func flagWarnings(ax *axis, hs []holding, runs []flagRun) []Warning {
	type key struct {
		h    int
		flag priceFlag
	}
	span := map[key][2]int{}
	var order []key
	for _, r := range runs {
		k := key{r.holding, r.flag}
		s, ok := span[k]
		if !ok {
			order = append(order, k)
			s = [2]int{r.first, r.last}
		}
		s[0], s[1] = min(s[0], r.first), max(s[1], r.last)
		span[k] = s
	}
	out := make([]Warning, 0, len(order))
	for _, k := range order {
		s := span[k]
		w := Warning{Symbol: hs[k.h].symbol, From: ax.days[s[0]].Format(time.DateOnly), To: ax.days[s[1]].Format(time.DateOnly)}
		switch k.flag {
		case priceStale:
			w.Code, w.Message = WarnStalePrice, "price carried forward past the staleness limit"
		case priceUnpriced:
			w.Code, w.Message = WarnUnpriced, "no price: valued at cost"
		case priceIntrinsic:
			w.Code, w.Message = WarnOptionIntrinsic, "no option price: valued at intrinsic value from the underlying"
		}
		out = append(out, w)
	}
	return out
}

// priceCache shares closes between the portfolios an engine processes: each
// symbol is loaded once for the widest range asked, until its closes change
// (see syncCaches).
type priceCache struct {
	src   PriceSource
	mu    sync.Mutex
	epoch int64
	m     map[string]*cachedCloses
}

type cachedCloses struct {
	from, to time.Time
	closes   []Close // includes the as-of close before from, when any
}

func newPriceCache(src PriceSource) *priceCache {
	return &priceCache{src: src, m: map[string]*cachedCloses{}}
}

// closes returns each symbol's closes in [from, to] preceded by its last
// close before from. Closes loaded under an older epoch than the cache's
// are returned but not kept.
func (c *priceCache) closes(ctx context.Context, epoch int64, symbols []string, from, to time.Time) (map[string][]Close, error) {
	out := make(map[string][]Close, len(symbols))
	c.mu.Lock()
	var missing []string
	lo, hi := from, to
	for _, s := range symbols {
		cc := c.m[s]
		if cc == nil || cc.from.After(from) || cc.to.Before(to) {
			missing = append(missing, s)
			if cc != nil {
				lo, hi = minTime(lo, cc.from), maxTime(hi, cc.to)
			}
			continue
		}
		if cs := cc.slice(from, to); len(cs) > 0 {
			out[s] = cs
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	got, err := c.src.Closes(ctx, missing, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("load prices: %w", err)
	}
	c.mu.Lock()
	keep := epoch == c.epoch
	c.mu.Unlock()
	for _, s := range missing {
		cc := &cachedCloses{from: lo, to: hi, closes: got[s]}
		if cs := cc.slice(from, to); len(cs) > 0 {
			out[s] = cs
		}
		if keep {
			c.mu.Lock()
			if epoch == c.epoch {
				c.m[s] = cc
			}
			c.mu.Unlock()
		}
	}
	return out, nil
}

// invalidate moves the cache to epoch, dropping each changed symbol's
// closes from its changed day on (everything when changed is nil).
func (c *priceCache) invalidate(epoch int64, changed map[string]time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch = epoch
	if changed == nil {
		c.m = map[string]*cachedCloses{}
		return
	}
	for sym, d := range changed {
		cc := c.m[sym]
		if cc == nil || cc.to.Before(d) {
			continue
		}
		keep := &cachedCloses{from: cc.from, to: d.AddDate(0, 0, -1)}
		for _, x := range cc.closes {
			if x.Date.Before(d) {
				keep.closes = append(keep.closes, x)
			}
		}
		if keep.to.Before(keep.from) {
			delete(c.m, sym)
		} else {
			c.m[sym] = keep
		}
	}
}

// slice returns the closes in [from, to] preceded by the last one before.
func (cc *cachedCloses) slice(from, to time.Time) []Close {
	cs := cc.closes
	i := sort.Search(len(cs), func(k int) bool { return !cs[k].Date.Before(from) })
	j := sort.Search(len(cs), func(k int) bool { return cs[k].Date.After(to) })
	if i > 0 {
		i--
	}
	return cs[i:j]
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
