package batch

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"
)

// The correlation analytics' constants.
const (
	// CorrelationWindow is the window of log returns, in sessions ending
	// the day; CorrelationMinObs the fewest returns a holding, or common
	// returns a pair, needs.
	CorrelationWindow = 90
	CorrelationMinObs = 30
	// CorrelationMaxHoldings is how many holdings, largest |MV| first,
	// the set keeps; CorrelationMinWeight the smallest share of gross
	// exposure a holding needs.
	CorrelationMaxHoldings = 50
	CorrelationMinWeight   = 0.01
	// ClusterThreshold is the |ρ| from which two holdings are linked.
	ClusterThreshold = 0.7
	// psdTolerance: a matrix whose smallest eigenvalue is below −1e-10 is
	// repaired.
	psdTolerance = -1e-10
)

// WarnCorrelation: something about a day's correlations.
const WarnCorrelation = "correlation"

// logReturns are ln(P_i/P_{i−1}) on sessions [lo, hi] where both closes
// are real, NaN elsewhere (indexed by session; entries below lo NaN).
func logReturns(s *series, lo, hi int) []float64 {
	r := make([]float64, hi+1)
	for i := range r {
		r[i] = math.NaN()
	}
	for i := max(lo, 1); i <= hi; i++ {
		if s.isReal(i) && s.isReal(i-1) && s.value[i-1] > 0 && s.value[i] > 0 {
			r[i] = math.Log(s.value[i] / s.value[i-1])
		}
	}
	return r
}

// pearson is the correlation of x and y over the sessions (lo, hi] where
// both are not NaN, with the number of them; ok is false below minObs
// common sessions or when either does not vary. Two passes.
func pearson(x, y []float64, lo, hi, minObs int) (rho float64, n int, ok bool) {
	var mx, my float64
	for i := max(lo+1, 0); i <= hi; i++ {
		if !math.IsNaN(x[i]) && !math.IsNaN(y[i]) {
			mx += x[i]
			my += y[i]
			n++
		}
	}
	if n < minObs || n < 2 {
		return 0, n, false
	}
	mx /= float64(n)
	my /= float64(n)
	var sxx, syy, sxy float64
	for i := max(lo+1, 0); i <= hi; i++ {
		if !math.IsNaN(x[i]) && !math.IsNaN(y[i]) {
			dx, dy := x[i]-mx, y[i]-my
			sxx += dx * dx
			syy += dy * dy
			sxy += dx * dy
		}
	}
	return corrOf(sxx, syy, sxy, mx, my, n)
}

// corrOf turns centred sums into a correlation clamped to [−1, 1]; not ok
// when a variance is zero up to rounding.
func corrOf(sxx, syy, sxy, mx, my float64, n int) (float64, int, bool) {
	if isConstant(mx, sxx, n) || isConstant(my, syy, n) || !(sxx > 0) || !(syy > 0) {
		return 0, n, false
	}
	r := sxy / math.Sqrt(sxx*syy)
	if !finite(r) {
		return 0, n, false
	}
	return math.Max(-1, math.Min(1, r)), n, true
}

// syncHalfYearly re-syncs the rolling correlation sums on the first
// session of January and of July, so that a day's correlations depend
// only on the prices (the sums rolled from the same session) and not on
// the range computed. A sync costs a window's pass per pair, a day of
// rolling two products: half a year keeps both small.
func syncHalfYearly(ax *axis) func(d int) bool {
	return func(d int) bool {
		return d == 0 || (ax.days[d].Month() != ax.days[d-1].Month() && (ax.days[d].Month()-1)%6 == 0)
	}
}

// corrSymbols are the public holdings' symbols of a backfill with their
// market value and log returns per session.
type corrSymbols struct {
	syms []string
	mv   [][]float64 // [symbol][day-first], lots summed; 0 when not held or unpriced
	lr   [][]float64 // [symbol][session]
	own  []*series
	cnt  [][]int16 // [symbol][day-first]: returns in the window ending the day
}

// gatherCorrSymbols sums the held public, priced lots by symbol on
// [first, end] and takes their log returns from lrOf.
func gatherCorrSymbols(hs []holding, first, end, staleAfter int, lrOf func(*series) []float64) *corrSymbols {
	c := &corrSymbols{}
	index := map[string]int{}
	n := end - first + 1
	for k := range hs {
		h := &hs[k]
		if h.kind != kindPublic || h.own == nil || h.entry > end || h.exit <= first {
			continue
		}
		j, ok := index[h.symbol]
		if !ok {
			j = len(c.syms)
			index[h.symbol] = j
			c.syms = append(c.syms, h.symbol)
			c.mv = append(c.mv, make([]float64, n))
			c.lr = append(c.lr, lrOf(h.own))
			c.own = append(c.own, h.own)
		}
		for d := max(h.entry, first); d <= end && d < h.exit; d++ {
			p, flag := h.price(d, staleAfter)
			if flag == priceUnpriced {
				continue
			}
			c.mv[j][d-first] += h.qm * p
		}
	}
	// Symbols in name order: the scores sum over pairs in this order, the
	// same whatever range (and so whatever holdings) a backfill covers.
	perm := make([]int, len(c.syms))
	for i := range perm {
		perm[i] = i
	}
	slices.SortFunc(perm, func(a, b int) int { return cmp.Compare(c.syms[a], c.syms[b]) })
	sorted := &corrSymbols{}
	for _, i := range perm {
		sorted.syms = append(sorted.syms, c.syms[i])
		sorted.mv = append(sorted.mv, c.mv[i])
		sorted.lr = append(sorted.lr, c.lr[i])
		sorted.own = append(sorted.own, c.own[i])
	}
	c = sorted
	c.cnt = make([][]int16, len(c.syms))
	for j, r := range c.lr {
		c.cnt[j] = make([]int16, n)
		var m int16
		for i := max(0, first-CorrelationWindow); i < first; i++ {
			if !math.IsNaN(r[i]) {
				m++
			}
		}
		for d := first; d <= end; d++ {
			if !math.IsNaN(r[d]) {
				m++
			}
			if i := d - CorrelationWindow; i >= 0 && !math.IsNaN(r[i]) {
				m--
			}
			c.cnt[j][d-first] = m
		}
	}
	return c
}

// set returns the symbols (indexes into c.syms) in day k's set and how
// many were left out for too few returns: in name order, or, with byMV,
// largest |MV| first (ties by name). The largest 50 are kept either way.
func (c *corrSymbols) set(k int, gross float64, buf []int, byMV bool) (set []int, leftOut int) {
	set = buf[:0]
	if !(gross > 0) {
		return set, 0
	}
	for j := range c.syms {
		if mv := c.mv[j][k]; mv != 0 && math.Abs(mv) >= CorrelationMinWeight*gross {
			set = append(set, j)
		}
	}
	if byMV || len(set) > CorrelationMaxHoldings {
		slices.SortStableFunc(set, func(a, b int) int {
			return cmp.Compare(math.Abs(c.mv[b][k]), math.Abs(c.mv[a][k]))
		})
	}
	if len(set) > CorrelationMaxHoldings {
		set = set[:CorrelationMaxHoldings]
		if !byMV {
			slices.Sort(set)
		}
	}
	kept := set[:0]
	for _, j := range set {
		if c.cnt[j][k] >= CorrelationMinObs {
			kept = append(kept, j)
		} else {
			leftOut++
		}
	}
	return kept, leftOut
}

// correlationColumns fills each day's correlation scores. Each symbol's
// and pair's window sums roll from the half-year's first session
// (syncHalfYearly), so a day's values do not depend on the range computed.
func correlationColumns(ax *axis, hs []holding, first int, days []day, staleAfter int, w *warnings, cache *corrCache) *corrSymbols {
	end := first + len(days) - 1
	isSync := syncHalfYearly(ax)
	d0 := first
	for d0 > 0 && !isSync(d0) {
		d0--
	}
	syncs := make([]bool, end+1)
	for d := d0; d <= end; d++ {
		syncs[d] = d == d0 || isSync(d)
	}
	lo := max(0, d0-CorrelationWindow)
	c := gatherCorrSymbols(hs, first, end, staleAfter, func(s *series) []float64 { return cache.logReturns(s, lo, end) })
	nd := len(days)
	m := len(c.syms)
	// The day's sets, their weights, and the symbols in any set.
	sets := make([][]int, nd)
	slab := make([]int, nd*m) // the sets' room, m each
	weight := make([]float64, nd*m)
	used := make([]bool, m)
	for k := range days {
		g := days[k].grossRaw
		set, left := c.set(k, g, slab[k*m:k*m:(k+1)*m], false)
		sets[k] = set
		days[k].corrHoldings, days[k].hasCorr = len(set), true
		if left > 0 {
			w.add(WarnCorrelation, "", fmt.Sprintf("holdings left out of the correlations: fewer than %d returns in the window", CorrelationMinObs), days[k].date)
		}
		for _, j := range set {
			weight[k*m+j] = math.Abs(c.mv[j][k]) / g
			used[j] = true
		}
	}
	stats := make([]*symCorr, m)
	var syms []int
	for a := range m {
		if used[a] {
			stats[a] = cache.stats(c.own[a], c.lr[a], d0, end, syncs)
			syms = append(syms, a)
		}
	}
	scores := make([]dayScore, nd)
	if cache != nil && nd == 1 {
		// One day (the nightly advance): each pair's ρ is shared with every
		// other portfolio holding the same two symbols that day.
		vals := cache.pairCorrs(c, stats, sets[0], d0, end)
		set, sc, q := sets[0], &scores[0], 0
		for i, a := range set {
			wa := weight[a]
			for _, b := range set[i+1:] {
				sc.add(vals[q].r, vals[q].ok, wa*weight[b])
				q++
			}
		}
	} else {
		slidePairs(c, stats, syms, d0, first, end, syncs, sets, weight, scores)
	}
	for k := range days {
		dy := &days[k]
		sc := &scores[k]
		if sc.missing > 0 {
			w.add(WarnCorrelation, "", fmt.Sprintf("pairs left out of the correlations: fewer than %d common returns or no variance", CorrelationMinObs), dy.date)
		}
		var sw, sw2 float64
		for j := range m {
			if v := weight[k*m+j]; v > 0 {
				sw += v
				sw2 += v * v
			}
		}
		if dy.corrHoldings == 0 {
			w.add(WarnRiskUnavailable, "", "correlations: no holding in the correlation set", dy.date)
			continue
		}
		if den := sw2 + 2*sc.sWWRho; den > 0 {
			dy.corrEffective, dy.hasCorrEffective = sw*sw/den, true
		} else {
			w.add(WarnRiskUnavailable, "", "correlation_effective_positions: non-positive portfolio correlation sum", dy.date)
		}
		if sc.valid == 0 {
			w.add(WarnRiskUnavailable, "", "avg_abs_correlation, diversification_score: no pair with a correlation", dy.date)
			continue
		}
		dy.avgAbsCorr, dy.hasAvgAbsCorr = sc.sAbs/float64(sc.valid), true
		if sc.sWW > 0 {
			dy.diversification, dy.hasDiversification = math.Min(1, sc.sWWAbs/sc.sWW), true
		}
	}
	return c
}

// dayScore sums a day's pairs for the scores: over the pairs with a
// correlation, |ρ|, the weight products w_i·w_j, and those times |ρ| and
// times ρ; and the pairs without one.
type dayScore struct {
	sAbs, sWW, sWWAbs, sWWRho float64
	valid, missing            int
}

// add adds a pair with ρ r (none when not ok) and weight product ww. The
// pairs of a day are added in name order, row by row, whatever the path,
// so that the sums are the same.
func (s *dayScore) add(r float64, ok bool, ww float64) {
	if !ok {
		s.missing++
		return
	}
	abs := math.Abs(r)
	s.valid++
	s.sAbs += abs
	s.sWW += ww
	s.sWWAbs += ww * abs
	s.sWWRho += ww * r
}

// slidePairs scores the days of a range (weight[k*m+j]: symbol j's weight
// on day k): every pair of symbols in some set keeps its cross sum of the
// shifted returns over the sessions both have, sliding day by day from
// the last sync.
func slidePairs(c *corrSymbols, stats []*symCorr, syms []int, d0, first, end int, syncs []bool, sets [][]int,
	weight []float64, scores []dayScore) {
	m, ns := len(c.syms), len(syms)
	// sxy holds the pairs of syms (positions i < j) row by row: row i is
	// syms[i]'s pairs with the symbols after it.
	sxy := make([]float64, ns*(ns-1)/2)
	pos := make([]int, m) // symbol → its position in syms
	for i, a := range syms {
		pos[a] = i
	}
	// nv[i], ov[i]: the day's shifted return of syms[i] entering and
	// leaving the window, 0 when there is none, so that a product is 0
	// unless both symbols have a return that session.
	nv, ov := make([]float64, ns), make([]float64, ns)
	// The day's set (in) and its symbols' window sums and weights, by
	// position in syms.
	in, full := make([]bool, ns), make([]bool, ns)
	inv, sxs, wt := make([]float64, ns), make([]float64, ns), make([]float64, ns)
	for d := d0; d <= end; d++ {
		i0, k := d-d0, d-first
		if syncs[d] {
			p := 0
			for i, a := range syms {
				for _, b := range syms[i+1:] {
					sxy[p] = syncPair(c.lr[a], c.lr[b], stats[a], stats[b], i0, d)
					p++
				}
			}
		} else {
			for i, j := range syms {
				nv[i], ov[i] = slideValues(c.lr[j], stats[j], i0, d)
			}
			p := 0
			for i := range ns {
				na, oa := nv[i], ov[i]
				row := sxy[p : p+ns-i-1]
				nr, or := nv[i+1:], ov[i+1:]
				nr, or = nr[:len(row)], or[:len(row)]
				for t := range row {
					row[t] += na*nr[t] - oa*or[t]
				}
				p += len(row)
			}
		}
		if k < 0 {
			continue
		}
		clear(in)
		for _, a := range sets[k] {
			i, sa := pos[a], stats[a]
			in[i], full[i], inv[i], sxs[i], wt[i] = true, sa.full[i0], sa.inv[i0], sa.sxs[i0], weight[k*m+a]
		}
		// The set's pairs in its order (that of syms), row by row.
		// The sums in locals rather than through dayScore.add, whose
		// arithmetic this repeats: they stay in registers.
		var sAbs, sWW, sWWAbs, sWWRho float64
		var valid, missing int
		p := 0
		for i := range ns {
			row := sxy[p : p+ns-i-1]
			p += len(row)
			if !in[i] {
				continue
			}
			a := syms[i]
			fa, xa, ia, wa := full[i], sxs[i], inv[i], wt[i]
			for t, s := range row {
				j := i + 1 + t
				if !in[j] {
					continue
				}
				var r float64
				var ok bool
				if fa && full[j] {
					r, ok = pairRho(s, xa, sxs[j], ia, inv[j])
				} else {
					r, _, ok = pearson(c.lr[a], c.lr[syms[j]], d-CorrelationWindow, d, CorrelationMinObs)
				}
				if !ok {
					missing++
					continue
				}
				ww, abs := wa*wt[j], math.Abs(r)
				valid++
				sAbs += abs
				sWW += ww
				sWWAbs += ww * abs
				sWWRho += ww * r
			}
		}
		scores[k] = dayScore{sAbs: sAbs, sWW: sWW, sWWAbs: sWWAbs, sWWRho: sWWRho, valid: valid, missing: missing}
	}
}

// syncPair is a pair's cross sum of the shifted returns over the window
// ending d, the sync session i0 sessions after the first of the stats.
func syncPair(x, y []float64, sa, sb *symCorr, i0, d int) float64 {
	ka, kb := sa.shift[i0], sb.shift[i0]
	var s float64
	for i := max(d-CorrelationWindow+1, 0); i <= d; i++ {
		if x[i] == x[i] && y[i] == y[i] {
			s += (x[i] - ka) * (y[i] - kb)
		}
	}
	return s
}

// slideValues are the shifted returns entering (session d) and leaving
// the window, 0 when there is none.
func slideValues(x []float64, st *symCorr, i0, d int) (in, out float64) {
	k := st.shift[i0]
	if v := x[d]; v == v {
		in = v - k
	}
	if i := d - CorrelationWindow; i >= 0 {
		if v := x[i]; v == v {
			out = v - k
		}
	}
	return in, out
}

// pairRho is ρ from a pair's cross sum and its symbols' window sums, the
// first symbol's first; not ok when either does not vary.
func pairRho(sxy, xa, xb, ia, ib float64) (float64, bool) {
	if ia == 0 || ib == 0 {
		return 0, false
	}
	// Branches rather than math.Max and math.Min, so that it inlines in
	// the range's loop over every pair and day.
	r := (sxy - xa*xb) * ia * ib
	if r > 1 {
		r = 1
	} else if r < -1 {
		r = -1
	}
	return r, true
}

// CorrelationMatrix is the correlation matrix of a portfolio's holdings on
// a day.
type CorrelationMatrix struct {
	Date time.Time `json:"as_of_date"`
	// Symbols are the holdings in the set, largest |MV| first, with their
	// market values.
	Symbols      []string  `json:"symbols"`
	MarketValues []float64 `json:"market_values"`
	// Correlation[i][j] is ρ between Symbols i and j, NaN when the pair
	// has fewer than CorrelationMinObs common returns (or no variance);
	// Observations[i][j] their common returns.
	Correlation  [][]float64 `json:"-"`
	Observations [][]int     `json:"observations"`
	// Clusters[i] is the cluster of Symbols[i], numbered from 1 by
	// descending total |MV|.
	Clusters []int `json:"clusters"`
	// Repaired: the raw matrix was not positive semi-definite (smallest
	// eigenvalue below −1e-10) and was repaired.
	Repaired bool `json:"repaired"`
	// LeftOut counts the holdings left out for too few returns.
	LeftOut int `json:"left_out"`
}

// correlationMatrix computes day d's matrix of the symbols set (indexes
// into c), from scratch.
func correlationMatrix(date time.Time, c *corrSymbols, set []int, k, d int, cache *corrCache) *CorrelationMatrix {
	n := len(set)
	cm := &CorrelationMatrix{Date: date, Symbols: make([]string, n), MarketValues: make([]float64, n),
		Correlation: make([][]float64, n), Observations: make([][]int, n)}
	for i, j := range set {
		cm.Symbols[i] = c.syms[j]
		cm.MarketValues[i] = c.mv[j][k]
		cm.Correlation[i] = make([]float64, n)
		cm.Observations[i] = make([]int, n)
	}
	// pearson is symmetric, so a pair is shared in either order.
	vals := cache.cachedPairs(c, set, d, true, func(a, b int) pairVal {
		r, n, ok := pearson(c.lr[a], c.lr[b], d-CorrelationWindow, d, CorrelationMinObs)
		return pairVal{r, n, ok}
	})
	q := 0
	for i, a := range set {
		cm.Correlation[i][i] = 1
		cm.Observations[i][i] = int(c.cnt[a][k])
		for jj := i + 1; jj < n; jj++ {
			v := vals[q]
			q++
			r := v.r
			if !v.ok {
				r = math.NaN()
			}
			cm.Correlation[i][jj], cm.Correlation[jj][i] = r, r
			cm.Observations[i][jj], cm.Observations[jj][i] = v.n, v.n
		}
	}
	cm.Repaired = repairPSD(cm.Correlation)
	cm.Clusters = clusters(cm.Correlation, cm.MarketValues)
	return cm
}

// repairPSD makes the matrix positive semi-definite when its smallest
// eigenvalue is below −1e-10: eigenvalues clipped at 0, the matrix rebuilt
// and rescaled to a unit diagonal. Missing (NaN) entries count as 0 and
// stay missing, so the stored matrix is PSD when no pair is missing. It
// reports whether it repaired.
func repairPSD(r [][]float64) bool {
	n := len(r)
	if n < 2 {
		return false
	}
	a := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			if v := r[i][j]; !math.IsNaN(v) {
				a.SetSym(i, j, v)
			}
		}
	}
	// Most matrices are positive definite: when R − tolerance·I has a
	// Cholesky factor, no eigenvalue is below the tolerance, at a sixth of
	// an eigendecomposition's cost. Otherwise the eigenvalues decide.
	shifted := mat.NewSymDense(n, nil)
	shifted.CopySym(a)
	for i := range n {
		shifted.SetSym(i, i, a.At(i, i)-psdTolerance)
	}
	var chol mat.Cholesky
	if chol.Factorize(shifted) {
		return false
	}
	var eig mat.EigenSym
	if !eig.Factorize(a, true) {
		return false
	}
	vals := eig.Values(nil)
	if slices.Min(vals) >= psdTolerance {
		return false
	}
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	b := make([]float64, n*n)
	for k, l := range vals {
		if l <= 0 {
			continue
		}
		for i := range n {
			vi := vecs.At(i, k) * l
			for j := range n {
				b[i*n+j] += vi * vecs.At(j, k)
			}
		}
	}
	// Rescaled from the upper triangle, so that the matrix stays exactly
	// symmetric.
	for i := range n {
		r[i][i] = 1
		for j := i + 1; j < n; j++ {
			if math.IsNaN(r[i][j]) {
				continue
			}
			di, dj := b[i*n+i], b[j*n+j]
			v := 0.0
			if di > 0 && dj > 0 {
				v = b[i*n+j] / math.Sqrt(di*dj)
			}
			r[i][j] = math.Max(-1, math.Min(1, v))
			r[j][i] = r[i][j]
		}
	}
	return true
}

// clusters numbers the connected components of the graph linking
// holdings with |ρ| ≥ ClusterThreshold, from 1 by descending total |MV|
// (ties by the first member's position), by union-find: linear in pairs.
func clusters(r [][]float64, mv []float64) []int {
	n := len(r)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			if v := r[i][j]; !math.IsNaN(v) && math.Abs(v) >= ClusterThreshold {
				if a, b := find(i), find(j); a != b {
					parent[max(a, b)] = min(a, b)
				}
			}
		}
	}
	total := make([]float64, n)
	for i := range n {
		total[find(i)] += math.Abs(mv[i])
	}
	var roots []int
	for i := range n {
		if find(i) == i {
			roots = append(roots, i)
		}
	}
	slices.SortStableFunc(roots, func(a, b int) int { return cmp.Compare(total[b], total[a]) })
	num := make([]int, n)
	for k, root := range roots {
		num[root] = k + 1
	}
	out := make([]int, n)
	for i := range n {
		out[i] = num[find(i)]
	}
	return out
}

// symCorr is one symbol's rolling window on sessions [d0, end], by d−d0:
// the shift in force (the window mean at the last sync), the shifted sum
// divided by √90, whether all 90 sessions have a return, and the inverse
// of the centred root sum of squares (0: no variance).
type symCorr struct {
	shift, sxs, inv []float64
	full            []bool
}

// corrCache shares log returns and window sums between the portfolios of
// an engine: keyed by the laid series (one per symbol, price generation
// and axis) and the range.
type corrCache struct {
	lrs  sharedMap[corrKey, []float64]
	sums sharedMap[corrKey, *symCorr]
	// days holds one-day pair correlations by session, under mu.
	mu   sync.Mutex
	days []*pairDay
}

// pairDay is the pairs of one session: ids numbers the series met that
// session, and rows[a][b] is the pair of series a and b (a < b). A dense
// table, not a map: the advance looks up hundreds of millions of pairs a
// night, and a lookup is then one memory access.
type pairDay struct {
	d    int
	ids  map[*series]int32
	rows [][]pairCell
}

// pairCell is one pair on one session: its score ρ rolled from the sync
// session, and its matrix ρ and common returns (pearson).
type pairCell struct {
	score, matrix float64
	n             int16
	flags         uint8
}

// pairCell.flags: which values are set, and which are correlations.
const (
	cellScore uint8 = 1 << iota
	cellScoreOK
	cellMatrix
	cellMatrixOK
)

// maxPairDays is how many sessions' pair tables the cache keeps;
// maxPairSeries how many series a table numbers before it starts over
// (a full table is then about 24 bytes × maxPairSeries² / 2).
const (
	maxPairDays   = 2
	maxPairSeries = 2048
)

type corrKey struct {
	s      *series
	lo, hi int
}

// maxCorrCached bounds each map of the cache; past it, it starts over.
const maxCorrCached = 4096

func newCorrCache() *corrCache {
	return &corrCache{lrs: sharedMap[corrKey, []float64]{max: maxCorrCached}, sums: sharedMap[corrKey, *symCorr]{max: maxCorrCached}}
}

// pairVal is a pair's correlation: ρ, the common returns (the matrix's
// alone) and whether ρ is a correlation.
type pairVal struct {
	r  float64
	n  int
	ok bool
}

// pairCells returns the cells of the pairs of c's symbols a[q], b[q] on
// session d. The caller holds mu.
func (cc *corrCache) pairCells(c *corrSymbols, a, b []int, d int) []*pairCell {
	var day *pairDay
	for _, pd := range cc.days {
		if pd.d == d {
			day = pd
		}
	}
	if day == nil {
		day = &pairDay{d: d, ids: map[*series]int32{}}
		if len(cc.days) >= maxPairDays {
			cc.days = cc.days[1:]
		}
		cc.days = append(cc.days, day)
	}
	// A set numbers at most CorrelationMaxHoldings new series.
	if len(day.ids)+CorrelationMaxHoldings > maxPairSeries {
		day.ids, day.rows = map[*series]int32{}, nil
	}
	id := func(s *series) int {
		i, ok := day.ids[s]
		if !ok {
			i = int32(len(day.ids))
			day.ids[s] = i
		}
		return int(i)
	}
	xs, ys := make([]int, len(a)), make([]int, len(a))
	for q := range a {
		x, y := id(c.own[a[q]]), id(c.own[b[q]])
		if x > y {
			x, y = y, x
		}
		xs[q], ys[q] = x, y
		for len(day.rows) <= x {
			day.rows = append(day.rows, nil)
		}
		if row := day.rows[x]; len(row) <= y {
			day.rows[x] = append(row, make([]pairCell, y+1-len(row)+64)...)
		}
	}
	// Taken once every row has grown: growing moves a row.
	out := make([]*pairCell, len(a))
	for q := range a {
		out[q] = &day.rows[xs[q]][ys[q]]
	}
	return out
}

// cachedPairs returns the pairs i < j of set (indexes into c's symbols),
// row by row, on session d: the score's ρ (rolled from the sync session),
// or with matrix the matrix's. It computes the missing ones with compute
// and shares them with every portfolio of the engine; a nil cache
// computes them all.
func (cc *corrCache) cachedPairs(c *corrSymbols, set []int, d int, matrix bool, compute func(a, b int) pairVal) []pairVal {
	var a, b []int
	for i, x := range set {
		for _, y := range set[i+1:] {
			a, b = append(a, x), append(b, y)
		}
	}
	out := make([]pairVal, len(a))
	if cc == nil {
		for q := range a {
			out[q] = compute(a[q], b[q])
		}
		return out
	}
	has, isCorr := cellScore, cellScoreOK
	if matrix {
		has, isCorr = cellMatrix, cellMatrixOK
	}
	var miss []int
	cc.mu.Lock()
	for q, cell := range cc.pairCells(c, a, b, d) {
		switch {
		case cell.flags&has == 0:
			miss = append(miss, q)
		case matrix:
			out[q] = pairVal{cell.matrix, int(cell.n), cell.flags&isCorr != 0}
		default:
			out[q] = pairVal{r: cell.score, ok: cell.flags&isCorr != 0}
		}
	}
	cc.mu.Unlock()
	if len(miss) == 0 {
		return out
	}
	ma, mb := make([]int, len(miss)), make([]int, len(miss))
	for i, q := range miss {
		out[q] = compute(a[q], b[q])
		ma[i], mb[i] = a[q], b[q]
	}
	cc.mu.Lock()
	// The cells again: the tables may have started over or grown meanwhile.
	for i, cell := range cc.pairCells(c, ma, mb, d) {
		v := out[miss[i]]
		flags := cell.flags&^isCorr | has
		if v.ok {
			flags |= isCorr
		}
		if matrix {
			cell.matrix, cell.n = v.r, int16(v.n)
		} else {
			cell.score = v.r
		}
		cell.flags = flags
	}
	cc.mu.Unlock()
	return out
}

// pairCorrs are the score correlations of day d's set, a one-day range
// whose sums rolled from the sync session d0, in score's order (the set's
// pairs i < j, row by row). A pair's ρ is exactly what slidePairs computes:
// the cross sum at the sync, slid one session at a time to d.
func (cc *corrCache) pairCorrs(c *corrSymbols, stats []*symCorr, set []int, d0, d int) []pairVal {
	i0 := d - d0
	return cc.cachedPairs(c, set, d, false, func(a, b int) pairVal {
		x, y, sa, sb := c.lr[a], c.lr[b], stats[a], stats[b]
		if !sa.full[i0] || !sb.full[i0] {
			r, _, ok := pearson(x, y, d-CorrelationWindow, d, CorrelationMinObs)
			return pairVal{r: r, ok: ok}
		}
		s := syncPair(x, y, sa, sb, 0, d0)
		for t := d0 + 1; t <= d; t++ {
			na, oa := slideValues(x, sa, t-d0, t)
			nb, ob := slideValues(y, sb, t-d0, t)
			s += na*nb - oa*ob
		}
		r, ok := pairRho(s, sa.sxs[i0], sb.sxs[i0], sa.inv[i0], sb.inv[i0])
		return pairVal{r: r, ok: ok}
	})
}

// logReturns returns logReturns(s, lo, hi), shared when c is not nil.
func (c *corrCache) logReturns(s *series, lo, hi int) []float64 {
	if c == nil {
		return logReturns(s, lo, hi)
	}
	return c.lrs.get(corrKey{s, lo, hi}, func() []float64 { return logReturns(s, lo, hi) })
}

// stats returns the symbol's rolling window on [d0, end] (syncs marks the
// sync sessions), shared when c is not nil. The sums depend only on the
// returns and the sync sessions, so sharing changes no value.
func (c *corrCache) stats(s *series, x []float64, d0, end int, syncs []bool) *symCorr {
	if c == nil {
		return rollSymbol(x, d0, end, syncs)
	}
	return c.sums.get(corrKey{s, d0, end}, func() *symCorr { return rollSymbol(x, d0, end, syncs) })
}

// rollSymbol is the rolling window of returns x on [d0, end].
func rollSymbol(x []float64, d0, end int, syncs []bool) *symCorr {
	n := end - d0 + 1
	st := &symCorr{shift: make([]float64, n), sxs: make([]float64, n), inv: make([]float64, n), full: make([]bool, n)}
	scale := 1 / math.Sqrt(CorrelationWindow)
	var k0, s1, s2 float64
	cnt := 0
	for d := d0; d <= end; d++ {
		if syncs[d] {
			k0, s1, s2, cnt = 0, 0, 0, 0
			var sum float64
			for i := max(d-CorrelationWindow+1, 0); i <= d; i++ {
				if x[i] == x[i] {
					sum += x[i]
					cnt++
				}
			}
			if cnt > 0 {
				k0 = sum / float64(cnt)
			}
			for i := max(d-CorrelationWindow+1, 0); i <= d; i++ {
				if x[i] == x[i] {
					v := x[i] - k0
					s1 += v
					s2 += v * v
				}
			}
		} else {
			if i := d - CorrelationWindow; i >= 0 && x[i] == x[i] {
				v := x[i] - k0
				s1 -= v
				s2 -= v * v
				cnt--
			}
			if x[d] == x[d] {
				v := x[d] - k0
				s1 += v
				s2 += v * v
				cnt++
			}
		}
		i := d - d0
		st.shift[i], st.sxs[i] = k0, s1*scale
		if cnt == CorrelationWindow {
			st.full[i] = true
			if v := s2 - s1*s1/CorrelationWindow; v > 1e-13*s2 {
				st.inv[i] = 1 / math.Sqrt(v)
			}
		}
	}
	return st
}
