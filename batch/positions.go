package batch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
)

// PositionOpts selects the days of PositionValues and
// PositionFactorExposures.
type PositionOpts struct {
	// From and Through bound the sessions, inclusive. Default Through:
	// the most recent closed session; default From: Through.
	From, Through time.Time
}

// PositionValue is one position's value on one day.
type PositionValue struct {
	PortfolioID uuid.UUID `json:"portfolio_id"`
	PositionID  uuid.UUID `json:"position_id"`
	Symbol      string    `json:"symbol"`
	Date        time.Time `json:"date"`
	// Quantity is signed (negative: short); Multiplier 100 for options.
	Quantity   float64 `json:"quantity"`
	Multiplier int     `json:"multiplier"`
	// Price is the close in force (carried forward when the day has
	// none; the entry price when the symbol has no price at all; an
	// option's intrinsic value when it has no price of its own).
	Price float64 `json:"price"`
	// MarketValue is quantity × price × multiplier (signed).
	MarketValue float64 `json:"market_value"`
	// UnrealizedPnL is quantity × multiplier × (price − entry price).
	UnrealizedPnL float64 `json:"unrealized_pnl"`
	// Stale, Unpriced and Intrinsic flag the price as the snapshot's
	// counts do.
	Stale     bool `json:"stale,omitempty"`
	Unpriced  bool `json:"unpriced,omitempty"`
	Intrinsic bool `json:"intrinsic,omitempty"`
}

// PositionFactorExposure is one position's exposure to one factor on one
// day: ExposureDollar = MarketValue × Beta. Summed over a portfolio's
// positions (rounded to 4 decimals like the snapshot) it is the factor's
// exposure_dollar in factor_exposures.
type PositionFactorExposure struct {
	PortfolioID    uuid.UUID `json:"portfolio_id"`
	PositionID     uuid.UUID `json:"position_id"`
	Symbol         string    `json:"symbol"`
	ExposureDate   time.Time `json:"exposure_date"`
	Factor         string    `json:"factor"`
	Beta           float64   `json:"beta"`
	MarketValue    float64   `json:"market_value"`
	ExposureDollar float64   `json:"exposure_dollar"`
}

// ErrAnalyticsDisabled: the call needs the engine's analytics.
var ErrAnalyticsDisabled = errors.New("analytics are disabled")

// prepared is a portfolio laid on an axis for per-position values.
type prepared struct {
	p          *portfolioData
	lay        *layer
	hs         []holding
	first, end int
	// epoch is the engine's cache epoch the data was loaded under.
	epoch int64
}

// prepare loads a portfolio and the prices of its positions for the
// sessions in [from, through], with the analytics' look-back when betas
// are wanted. first > end when no session of the range is held.
func (e *Engine) prepare(ctx context.Context, id uuid.UUID, o *PositionOpts, betas bool) (*prepared, error) {
	var opts PositionOpts
	if o != nil {
		opts = *o
	}
	cal := e.cfg.Calendar
	through := MostRecentClose(cal, e.cfg.Now(), e.cfg.CloseDelay)
	if !opts.Through.IsZero() {
		through = dateOf(opts.Through)
	}
	from := through
	if !opts.From.IsZero() {
		from = dateOf(opts.From)
	}
	if through.Before(from) {
		return nil, fmt.Errorf("positions: Through %s is before From %s", through.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	p, err := e.loadPortfolio(ctx, e.pool, id, uuid.Nil)
	if err != nil {
		return nil, err
	}
	if inception := SessionOnOrAfter(cal, p.inception); from.Before(inception) {
		from = inception
	}
	lookback := e.cfg.StaleAfter + 2
	if betas {
		lookback = max(lookback, e.cfg.Analytics.Lookback()+1)
	}
	axisFrom := SessionOnOrAfter(cal, from)
	for range lookback {
		axisFrom = PrevSession(cal, axisFrom)
	}
	if through.Before(axisFrom) {
		through = axisFrom
	}
	ax := newAxis(cal, axisFrom, through)
	symbols := symbolsOf(p.positions, e.cfg.Benchmark)
	if betas {
		for _, s := range e.cfg.Analytics.Proxies() {
			if !slices.Contains(symbols, s) {
				symbols = append(symbols, s)
			}
		}
	}
	if p.gen < 0 {
		if p.gen, err = e.cfg.Prices.Generation(ctx); err != nil {
			return nil, fmt.Errorf("price generation: %w", err)
		}
	}
	epoch, err := e.syncCaches(ctx, p.gen)
	if err != nil {
		return nil, err
	}
	closes, err := e.prices.closes(ctx, epoch, symbols, axisFrom, through)
	if err != nil {
		return nil, err
	}
	lay := newLayer(ax, closes, e.series, epoch)
	hs, _ := e.holdings(lay, p.positions)
	return &prepared{p: p, lay: lay, hs: hs, first: ax.onOrAfter(from), end: ax.onOrBefore(through), epoch: epoch}, nil
}

// heldValue returns holding h's price, flag and market value on session
// d, and false when it is not held on d (before its entry, on or after its
// exit), as the valuation counts it.
func (e *Engine) heldValue(h *holding, d int) (float64, priceFlag, float64, bool) {
	if d < h.entry || d >= h.exit {
		return 0, 0, 0, false
	}
	p, flag := h.price(d, e.cfg.StaleAfter)
	return p, flag, h.qm * p, true
}

// PositionValues returns every held position's market value and
// unrealized P&L on each session of the range (the old system's "position
// values"), by day, then in position order. Cash is worth its quantity;
// closed positions are absent from their exit day on.
func (e *Engine) PositionValues(ctx context.Context, portfolioID uuid.UUID, opts *PositionOpts) ([]PositionValue, error) {
	pr, err := e.prepare(ctx, portfolioID, opts, false)
	if err != nil {
		return nil, fmt.Errorf("position values: %w", err)
	}
	var out []PositionValue
	for d := pr.first; d <= pr.end; d++ {
		for i := range pr.hs {
			h := &pr.hs[i]
			price, flag, mv, ok := e.heldValue(h, d)
			if !ok {
				continue
			}
			pos := &pr.p.positions[h.position]
			out = append(out, PositionValue{
				PortfolioID: portfolioID, PositionID: pos.id, Symbol: h.symbol, Date: pr.lay.ax.days[d],
				Quantity: pos.qty, Multiplier: pos.multiplier, Price: price, MarketValue: mv, UnrealizedPnL: h.qm * (price - h.entryPrice),
				Stale: flag == priceStale, Unpriced: flag == priceUnpriced, Intrinsic: flag == priceIntrinsic,
			})
		}
	}
	return out, nil
}

// PositionFactorExposures returns, for each session of the range, each
// held public position's exposure to every factor whose beta its symbol
// has that day: market value × the symbol's beta, the betas the backfill
// used (from the engine's memory or the stored symbol betas, else
// computed). Options, private holdings, cash and unpriced positions have
// none, as in the portfolio's exposures; so the sum over positions of a
// factor and day, rounded to 4 decimals, is the portfolio's
// exposure_dollar.
func (e *Engine) PositionFactorExposures(ctx context.Context, portfolioID uuid.UUID, opts *PositionOpts) ([]PositionFactorExposure, error) {
	if e.cfg.Analytics.Disabled {
		return nil, fmt.Errorf("position factor exposures: %w", ErrAnalyticsDisabled)
	}
	pr, err := e.prepare(ctx, portfolioID, opts, true)
	if err != nil {
		return nil, fmt.Errorf("position factor exposures: %w", err)
	}
	if pr.first > pr.end {
		return nil, nil
	}
	var w warnings
	if _, err := e.attachBetas(ctx, pr.epoch, pr.p.gen, pr.lay, pr.hs, pr.first, pr.end, &w); err != nil {
		return nil, fmt.Errorf("position factor exposures: %w", err)
	}
	factors := e.factors()
	nf := len(factors)
	var out []PositionFactorExposure
	for d := pr.first; d <= pr.end; d++ {
		for i := range pr.hs {
			h := &pr.hs[i]
			if h.kind != kindPublic || h.betas.flat == nil {
				continue
			}
			_, flag, mv, ok := e.heldValue(h, d)
			if !ok || flag == priceUnpriced {
				continue
			}
			row := h.betas.flat[(d-pr.first)*nf : (d-pr.first+1)*nf]
			for k, b := range row {
				if math.IsNaN(b) {
					continue
				}
				out = append(out, PositionFactorExposure{
					PortfolioID: portfolioID, PositionID: pr.p.positions[h.position].id, Symbol: h.symbol,
					ExposureDate: pr.lay.ax.days[d], Factor: factors[k], Beta: b, MarketValue: mv, ExposureDollar: mv * b,
				})
			}
		}
	}
	return out, nil
}

// proxiesOf lays the analytics' proxies.
func proxiesOf(e *Engine, lay *layer) map[string]*series {
	proxies := map[string]*series{}
	for _, p := range e.cfg.Analytics.Proxies() {
		proxies[p] = lay.of(p)
	}
	return proxies
}
