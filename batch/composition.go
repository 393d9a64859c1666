package batch

import (
	"math"
	"strconv"
	"strings"
)

// holdingMix is what the composition needs of a holding: its sector
// bucket, its symbol group for concentration, and its reference beta.
type holdingMix struct {
	bucket int     // index into sectorBuckets; -1 for cash (excluded)
	group  int     // symbol group (lots of one symbol together); -1 for cash
	beta   float64 // the provider's beta, NaN when none
}

// composition accumulates, per computed day, the market value by sector
// bucket, by symbol group, and beta-weighted by the provider's betas.
type composition struct {
	groups      int
	long, short []float64 // [day*numSectorBuckets + bucket]
	held        []int32   // holdings per [day*numSectorBuckets + bucket]
	byGroup     []float64 // signed market value per [day*groups + group]
	betaDollars []float64 // per day: Σ MV × beta over covered holdings
	betaGross   []float64 // per day: Σ |MV| over covered holdings
	top         []float64 // scratch for the top weights
}

// newComposition prepares hs for days computed days: it sets each
// holding's mix from the reference data refs (keyed by upper-case symbol)
// and positions ps (hs[i].position indexes ps).
//
// Sector buckets: cash (a cash position, or asset type cash) is excluded;
// an option goes where its underlying goes, valued at its own market value
// (no delta); an ETF or mutual fund goes to its own sector when its
// reference row names one, else to "ETF"; anything else to its sector,
// else to "Unclassified" (also every symbol without a reference row). The
// provider beta of an option is its underlying's.
func newComposition(hs []holding, ps []storedPosition, refs map[string]Symbol, days int) *composition {
	c := &composition{}
	groups := map[string]int{}
	for i := range hs {
		h := &hs[i]
		p := &ps[h.position]
		ref, hasRef := refs[strings.ToUpper(p.symbol)]
		if h.kind == kindOption && p.underlying != nil {
			ref, hasRef = refs[strings.ToUpper(*p.underlying)]
		}
		h.mix = holdingMix{bucket: bucketUnclassified, group: -1, beta: math.NaN()}
		if h.kind == kindCash || (hasRef && ref.AssetType == AssetCash && h.kind != kindOption) {
			h.mix.bucket = -1
			continue
		}
		g, ok := groups[h.symbol]
		if !ok {
			g = len(groups)
			groups[h.symbol] = g
		}
		h.mix.group = g
		if !hasRef {
			continue
		}
		if ref.Beta != nil {
			h.mix.beta = *ref.Beta
		}
		switch {
		case ref.Sector != "":
			for b, s := range Sectors {
				if s == ref.Sector {
					h.mix.bucket = b
				}
			}
		case ref.AssetType == AssetETF || ref.AssetType == AssetMutualFund:
			h.mix.bucket = bucketETF
		}
	}
	c.groups = len(groups)
	c.long = make([]float64, days*numSectorBuckets)
	c.short = make([]float64, days*numSectorBuckets)
	c.held = make([]int32, days*numSectorBuckets)
	c.byGroup = make([]float64, days*c.groups)
	c.betaDollars = make([]float64, days)
	c.betaGross = make([]float64, days)
	return c
}

// referencedSymbols lists the symbols whose reference data the
// composition reads: every position's, and the options' underlyings.
func referencedSymbols(ps []storedPosition) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps {
		for _, s := range []*string{&p.symbol, p.underlying} {
			if s != nil && !seen[*s] {
				seen[*s] = true
				out = append(out, *s)
			}
		}
	}
	return out
}

// add counts holding h's market value mv on day row.
func (c *composition) add(h *holding, row int, mv float64) {
	m := &h.mix
	if m.bucket < 0 {
		return
	}
	k := row*numSectorBuckets + m.bucket
	if mv >= 0 {
		c.long[k] += mv
	} else {
		c.short[k] += mv
	}
	c.held[k]++
	c.byGroup[row*c.groups+m.group] += mv
	if !math.IsNaN(m.beta) {
		c.betaDollars[row] += mv * m.beta
		c.betaGross[row] += math.Abs(mv)
	}
}

// concentration returns day row's HHI (10,000 × Σ w²), effective number
// of positions (10,000 / HHI) and top 1, 3 and 10 weights, with w = |MV| /
// Σ |MV| over the symbol groups; ok is false without a non-zero holding.
func (c *composition) concentration(row int) (hhi, effective float64, top [3]float64, ok bool) {
	mvs := c.byGroup[row*c.groups : (row+1)*c.groups]
	var gross float64
	for _, v := range mvs {
		gross += math.Abs(v)
	}
	if !(gross > 0) {
		return 0, 0, top, false
	}
	// The ten largest weights, in descending order, by insertion.
	c.top = c.top[:0]
	var sumSq float64
	for _, v := range mvs {
		w := math.Abs(v) / gross
		sumSq += w * w
		if len(c.top) < 10 || w > c.top[len(c.top)-1] {
			i := len(c.top)
			if i < 10 {
				c.top = append(c.top, w)
			} else {
				i--
			}
			for ; i > 0 && c.top[i-1] < w; i-- {
				c.top[i] = c.top[i-1]
			}
			c.top[i] = w
		}
	}
	for i, w := range c.top {
		switch {
		case i < 1:
			top[0] += w
			fallthrough
		case i < 3:
			top[1] += w
			fallthrough
		default:
			top[2] += w
		}
	}
	hhi = 10_000 * sumSq
	return hhi, 10_000 / hhi, top, true
}

// appendComposition appends the day's composition columns (NULL when
// analytics are off): concentration, provider beta and its coverage, and
// the sector arrays.
func appendComposition(w *copyRows, d *day) {
	if d.expo == nil || d.expo.mix == nil {
		for range 8 {
			w.null()
		}
		return
	}
	c, row := d.expo.mix, d.row
	hhi, eff, top, ok := c.concentration(row)
	w.optFloat8(hhi, ok)
	w.optFloat8(eff, ok)
	for _, x := range top {
		w.optFloat8(x, ok)
	}
	covered := c.betaGross[row] > 0
	w.optFloat8(c.betaDollars[row]/d.nav, covered && d.nav > 0)
	w.optFloat8(c.betaGross[row]/d.grossRaw, d.grossRaw > 0)
	// sector_mix: "bucket:long:short" for each bucket holding a position;
	// NULL when none does.
	w.text(func(buf []byte) []byte {
		sep := false
		for b := range numSectorBuckets {
			k := row*numSectorBuckets + b
			if c.held[k] == 0 {
				continue
			}
			if sep {
				buf = append(buf, ';')
			}
			sep = true
			buf = strconv.AppendInt(buf, int64(b), 10)
			buf = append(buf, ':')
			buf = appendMoney(buf, c.long[k])
			buf = append(buf, ':')
			buf = appendMoney(buf, c.short[k])
		}
		return buf
	})
}
