package batch

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Bounds of a plausible computed value: a backfill refuses to write a day
// with a value beyond them and fails with an *ImplausibleError.
const (
	// MaxPlausibleMoney bounds |NAV|, |market value| and every other money
	// column (1e15).
	MaxPlausibleMoney = 1e15
	// MaxPlausibleReturn bounds |daily return| (10, i.e. 1,000 %).
	MaxPlausibleReturn = 10
)

// ErrImplausible is wrapped by *ImplausibleError.
var ErrImplausible = errors.New("implausible value")

// ImplausibleError says which computed value a backfill refused to write
// and whose closes caused it. Nothing of the refused chunk is written.
type ImplausibleError struct {
	PortfolioID uuid.UUID
	Date        time.Time
	// Field is the snapshot column, e.g. "nav" or "daily_return".
	Field string
	Value float64
	// Limit is the bound the value broke; 0 when it is not finite.
	Limit float64
	// Closes are the suspect closes behind it, most likely first.
	Closes []SuspectClose
}

// SuspectClose is a close that produced an implausible value.
type SuspectClose struct {
	Symbol string
	Date   time.Time
	Value  float64
	// Previous is the close in force the session before (NaN when none).
	Previous float64
}

func (e *ImplausibleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "portfolio %s, %s: implausible %s = %s", e.PortfolioID, e.Date.Format(time.DateOnly), e.Field, fmtNum(e.Value))
	if e.Limit > 0 {
		fmt.Fprintf(&b, " (limit ±%s)", fmtNum(e.Limit))
	} else {
		b.WriteString(" (not finite)")
	}
	if len(e.Closes) == 0 {
		b.WriteString("; no single close stands out")
		return b.String()
	}
	b.WriteString("; caused by the close")
	if len(e.Closes) > 1 {
		b.WriteString("s")
	}
	b.WriteString(" of ")
	for i, c := range e.Closes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s on %s", c.Symbol, fmtNum(c.Value), c.Date.Format(time.DateOnly))
		if !math.IsNaN(c.Previous) {
			fmt.Fprintf(&b, " (previous %s)", fmtNum(c.Previous))
		}
	}
	b.WriteString("; correct the close and run `backfilld retry`")
	return b.String()
}

func (e *ImplausibleError) Unwrap() error { return ErrImplausible }

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// checkPlausible checks every value of the computed days before any is
// written: money columns finite and within MaxPlausibleMoney, the daily
// return within MaxPlausibleReturn, every ratio and analytic finite.
func checkPlausible(id uuid.UUID, ax *axis, first int, days []day, hs []holding) error {
	for k := range days {
		d := &days[k]
		field, value, limit, ok := implausible(d)
		if ok {
			continue
		}
		return &ImplausibleError{PortfolioID: id, Date: d.date, Field: field, Value: value, Limit: limit,
			Closes: suspectCloses(ax, first+k, hs, field == "daily_return")}
	}
	return nil
}

// implausible returns the first value of d out of bounds, or ok.
func implausible(d *day) (field string, value, limit float64, ok bool) {
	money := [...]struct {
		name string
		v    float64
	}{{"nav", d.nav}, {"long_value", d.long}, {"short_value", d.short}, {"gross_exposure", d.gross},
		{"net_exposure", d.net}, {"cash", d.cash}, {"daily_pnl", d.pnl}, {"daily_realized_pnl", d.realized},
		{"cumulative_pnl", d.cumPnL}, {"capital_flow", d.flow}}
	for _, m := range money {
		if !finite(m.v) {
			return m.name, m.v, 0, false
		}
		if math.Abs(m.v) > MaxPlausibleMoney {
			return m.name, m.v, MaxPlausibleMoney, false
		}
	}
	if d.hasRet {
		if !finite(d.ret) {
			return "daily_return", d.ret, 0, false
		}
		if math.Abs(d.ret) > MaxPlausibleReturn {
			return "daily_return", d.ret, MaxPlausibleReturn, false
		}
	}
	ratios := [...]struct {
		name string
		v    float64
		set  bool
	}{{"cumulative_return", d.cumReturn, true}, {"return_index", d.index, true}, {"max_drawdown", d.maxDrawdown, true},
		{"volatility_21d", d.vol21, d.hasVol21}, {"volatility_63d", d.vol63, d.hasVol63},
		{"beta_realized_90d", d.betaReal, d.hasBetaReal}}
	for _, r := range ratios {
		if r.set && !finite(r.v) {
			return r.name, r.v, 0, false
		}
	}
	if x := d.expo; x != nil {
		for f, v := range x.dollars[d.row*x.nf : (d.row+1)*x.nf] {
			if !finite(v) {
				return fmt.Sprintf("factor_exposure_dollar[%d]", f+1), v, 0, false
			}
		}
	}
	return "", 0, 0, true
}

// maxPlausibleClose is the bound prices import and the database put on a
// close.
const maxPlausibleClose = 1e9

// suspectCloses names the closes held on session i that can explain an
// implausible value: not finite, at or above the import bound, a market
// value beyond MaxPlausibleMoney, or (for a return) a move beyond ×10 or
// ÷10 from the session before. When none stands out, the largest holdings
// by market value are named instead.
func suspectCloses(ax *axis, i int, hs []holding, move bool) []SuspectClose {
	type cand struct {
		c  SuspectClose
		mv float64
	}
	seen := map[string]bool{}
	var odd, all []cand
	for k := range hs {
		h := &hs[k]
		if h.own == nil || h.entry > i || h.exit <= i || seen[h.symbol] {
			continue
		}
		p, _, ok := h.own.at(i)
		if !ok {
			continue
		}
		seen[h.symbol] = true
		prev := math.NaN()
		if q, _, ok := h.own.at(i - 1); ok {
			prev = q
		}
		mv := math.Abs(h.qm * p)
		c := cand{SuspectClose{Symbol: h.symbol, Date: ax.days[i], Value: p, Previous: prev}, mv}
		all = append(all, c)
		switch {
		case !finite(p) || p >= maxPlausibleClose || !finite(mv) || mv > MaxPlausibleMoney:
			odd = append(odd, c)
		case move && prev > 0 && (p/prev > 10 || p/prev < 0.1):
			odd = append(odd, c)
		}
	}
	pick, n := odd, 5
	if len(odd) == 0 {
		pick, n = all, 3
	}
	slices.SortStableFunc(pick, func(a, b cand) int { return cmp.Compare(b.mv, a.mv) })
	out := make([]SuspectClose, 0, min(n, len(pick)))
	for _, c := range pick[:min(n, len(pick))] {
		out = append(out, c.c)
	}
	return out
}
