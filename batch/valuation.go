package batch

import (
	"math"
	"time"
)

// holdingKind says how a holding is priced.
type holdingKind uint8

const (
	kindPublic  holdingKind = iota // its own market price series
	kindCash                       // quantity × entry price, always
	kindPrivate                    // entry price (no marks yet)
	kindOption                     // own series, else intrinsic value from the underlying
)

// holding is a position prepared for valuation on an axis.
type holding struct {
	symbol     string
	kind       holdingKind
	qm         float64 // signed quantity × multiplier
	entryPrice float64
	// entry is the first session the holding counts on (the first session
	// on or after its entry date). exit is the session on which it is
	// exited and no longer held (the first session on or after its exit
	// date, or an option's last session up to expiration); noExit if none.
	entry, exit int
	exitPrice   float64
	// settle: the exit is an option expiring, settled at intrinsic value.
	settle     bool
	own        *series
	underlying *series
	strike     float64
	call       bool
	// betas are the symbol's factor betas on the computed days (public
	// holdings with analytics on), indexed from the first computed day.
	betas betaRows
	// position indexes the portfolio's positions; mix is the holding's
	// place in the composition (analytics on).
	position int
	mix      holdingMix
}

const noExit = math.MaxInt

// priceFlag qualifies a price.
type priceFlag uint8

const (
	priceReal      priceFlag = iota
	priceStale               // carried forward past the staleness limit
	priceUnpriced            // no price at all: valued at cost
	priceIntrinsic           // option valued at intrinsic value
)

// price returns the holding's price on session i.
func (h *holding) price(i, staleAfter int) (float64, priceFlag) {
	switch h.kind {
	case kindCash, kindPrivate:
		return h.entryPrice, priceReal
	case kindOption:
		if p, age, ok := h.own.at(i); ok {
			return p, stalenessFlag(age, staleAfter)
		}
		if s, age, ok := h.underlying.at(i); ok {
			flag := priceIntrinsic
			if stalenessFlag(age, staleAfter) == priceStale {
				flag = priceStale
			}
			return h.intrinsic(s), flag
		}
		return h.entryPrice, priceUnpriced
	default:
		if p, age, ok := h.own.at(i); ok {
			return p, stalenessFlag(age, staleAfter)
		}
		return h.entryPrice, priceUnpriced
	}
}

func stalenessFlag(age, staleAfter int) priceFlag {
	if age > staleAfter {
		return priceStale
	}
	return priceReal
}

func (h *holding) intrinsic(underlying float64) float64 {
	if h.call {
		return math.Max(0, underlying-h.strike)
	}
	return math.Max(0, h.strike-underlying)
}

// exitValue is the price at which the holding leaves on its exit session.
func (h *holding) exitValue(i, staleAfter int) float64 {
	if !h.settle {
		return h.exitPrice
	}
	if s, _, ok := h.underlying.at(i); ok {
		return h.intrinsic(s)
	}
	// No underlying price: settle at the option's last known price.
	p, _ := h.price(i, staleAfter)
	return p
}

// dayTotals accumulates one session's valuation over all holdings.
type dayTotals struct {
	pnl, realized, long, short             float64
	nPos, nLong, nShort, nStale, nUnpriced int
}

// flagRun records the sessions on which one holding carried a flag.
type flagRun struct {
	holding     int
	flag        priceFlag
	first, last int
}

// valueHoldings adds every holding's value and P&L on sessions
// [start, end] to totals (indexed from start), position by position: the
// position-major order keeps each holding's series hot in cache. It
// returns the flagged stretches for the warnings.
func valueHoldings(hs []holding, start, end, staleAfter int, totals []dayTotals, x *exposures) []flagRun {
	var runs []flagRun
	for k := range hs {
		h := &hs[k]
		if h.entry > end || h.exit < start {
			continue
		}
		// prev is the price on the session before d, the base of d's P&L.
		var prev float64
		if h.entry < start {
			prev, _ = h.price(start-1, staleAfter)
		}
		var run *flagRun
		for d := max(h.entry, start); d <= end; d++ {
			t := &totals[d-start]
			base := prev
			if d == h.entry {
				base = h.entryPrice
			}
			if d == h.exit {
				r := h.qm * (h.exitValue(d, staleAfter) - base)
				t.pnl += r
				t.realized += r
				break
			}
			p, flag := h.price(d, staleAfter)
			t.pnl += h.qm * (p - base)
			mv := h.qm * p
			if x != nil {
				x.add(h, d-start, mv, flag)
			}
			if mv >= 0 {
				t.long += mv
			} else {
				t.short += mv
			}
			t.nPos++
			if h.qm > 0 {
				t.nLong++
			} else {
				t.nShort++
			}
			switch flag {
			case priceStale:
				t.nStale++
			case priceUnpriced:
				t.nUnpriced++
			}
			if flag != priceReal {
				if run != nil && run.flag == flag && run.last == d-1 {
					run.last = d
				} else {
					runs = append(runs, flagRun{holding: k, flag: flag, first: d, last: d})
					run = &runs[len(runs)-1]
				}
			}
			prev = p
		}
	}
	return runs
}

// chain is the state carried from one day to the next.
type chain struct {
	nav, cumPnL float64
	index, peak float64 // chain-linked return index Π(1+r) and its running maximum
	maxDrawdown float64
	// started: a snapshot exists before the first computed day, so that
	// day has a return.
	started bool
}

// day is one computed snapshot, before it is written.
type day struct {
	date                                   time.Time
	nav, cash, long, short, gross, net     float64
	pnl, realized, cumPnL, flow            float64
	ret                                    float64
	hasRet                                 bool
	cumReturn, index, maxDrawdown          float64
	nPos, nLong, nShort, nStale, nUnpriced int
	vol21, vol63, betaReal                 float64
	hasVol21, hasVol63, hasBetaReal        bool
	// grossRaw is the unrounded gross exposure, the base of coverage.
	grossRaw float64
	// expo holds the factor exposures, this day in its row (nil when
	// analytics are off).
	expo *exposures
	row  int
	// The forecast, correlation and stress columns (snapshot_risk.go).
	dayRisk
}

// chainDays turns per-session totals into snapshots: NAV(D) = NAV(D−1) +
// P&L(D) + F(D), r(D) = P&L(D) / (NAV(D−1) + F(D)), no return on the first
// day. Money is rounded to 4 decimals as it is computed, so a snapshot read
// back from the database continues the chain exactly where it stopped.
func chainDays(ax *axis, start int, totals []dayTotals, flows []float64, st chain, onBadBase func(i int, base float64)) []day {
	out := make([]day, len(totals))
	for k, t := range totals {
		pnl := round4(t.pnl)
		base := st.nav + flows[k]
		nav := round4(base + pnl)
		d := day{
			date: ax.days[start+k], nav: nav, pnl: pnl, realized: round4(t.realized), flow: flows[k],
			long: round4(t.long), short: round4(t.short),
			nPos: t.nPos, nLong: t.nLong, nShort: t.nShort, nStale: t.nStale, nUnpriced: t.nUnpriced,
		}
		d.gross = round4(t.long - t.short)
		d.grossRaw = t.long - t.short
		d.net = round4(t.long + t.short)
		d.cash = round4(nav - (t.long + t.short))
		if st.started {
			if base > 0 {
				d.ret, d.hasRet = pnl/base, true
				st.index *= 1 + d.ret
			} else if onBadBase != nil {
				onBadBase(start+k, base)
			}
		}
		st.started = true
		st.nav = nav
		st.cumPnL = round4(st.cumPnL + pnl)
		st.peak = math.Max(st.peak, st.index)
		st.maxDrawdown = math.Min(st.maxDrawdown, st.index/st.peak-1)
		d.cumPnL, d.index, d.cumReturn, d.maxDrawdown = st.cumPnL, st.index, st.index-1, st.maxDrawdown
		out[k] = d
	}
	return out
}

// round4 rounds to 4 decimals: the scale of money in snapshots.
func round4(x float64) float64 {
	r := math.Round(x*1e4) / 1e4
	if r == 0 {
		return 0 // no negative zero
	}
	return r
}
