package batch

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// corrBook lays series whose log returns are rets[j] (NaN: no close that
// session, so no return on it or the next) on an axis of len(rets[0])+1
// sessions, and returns public holdings of them whose market value on the
// last session is mvs[j], and one day per session from first on, with the
// gross exposure grossOf(k).
func corrBook(t *testing.T, rets [][]float64, mvs []float64, first int) (*axis, []holding, []day) {
	t.Helper()
	n := len(rets[0]) + 1
	ax := &axis{days: SessionsEnding(NewNYSECalendar(), date("2024-12-31"), n)}
	var hs []holding
	for j, r := range rets {
		var cs []Close
		p := 100.0
		cs = append(cs, Close{Date: ax.days[0], Value: p})
		for i, x := range r {
			if math.IsNaN(x) {
				continue
			}
			p *= math.Exp(x)
			cs = append(cs, Close{Date: ax.days[i+1], Value: p})
		}
		s := newSeries(ax, cs)
		last, _, _ := s.at(n - 1)
		hs = append(hs, holding{symbol: string(rune('A' + j)), kind: kindPublic, own: s, qm: mvs[j] / last, exit: noExit})
	}
	days := make([]day, n-first)
	for k := range days {
		days[k].date = ax.days[first+k]
		for _, h := range hs {
			p, _ := h.price(first+k, DefaultStaleAfter)
			days[k].grossRaw += math.Abs(h.qm * p)
		}
	}
	return ax, hs, days
}

// A 3-holding book on paper. Over every 6 sessions A's log returns are
// s·(+1 −1 +1 −1 +1 −1) and C's s·(+1 +1 −1 −1 0 0): both have mean 0 and
// A·C = 0. B = A + C/2. Per period var A ∝ 6, var C ∝ 4, var B ∝ 6 + 1 = 7,
// so ρ_AB = 6/√(6·7) = √(6/7), ρ_AC = 0, ρ_BC = 2/√(4·7) = 1/√7. The
// market values 50, 30, 20 give w = .5, .3, .2.
func TestCorrelationThreeHoldingsByHand(t *testing.T) {
	t.Parallel()
	const s = 0.01
	pa := []float64{1, -1, 1, -1, 1, -1}
	pc := []float64{1, 1, -1, -1, 0, 0}
	var a, b, c []float64
	for i := range 180 {
		a = append(a, s*pa[i%6])
		c = append(c, s*pc[i%6])
		b = append(b, s*(pa[i%6]+pc[i%6]/2))
	}
	ax, hs, days := corrBook(t, [][]float64{a, b, c}, []float64{50, 30, 20}, 180)
	var w warnings
	cs := correlationColumns(ax, hs, 180, days, DefaultStaleAfter, &w, nil)
	d := days[0]
	rab, rbc := math.Sqrt(6.0/7), 1/math.Sqrt(7)
	wantAvg := (rab + rbc) / 3
	wantDiv := (0.15*rab + 0.06*rbc) / (0.15 + 0.10 + 0.06)
	wantEff := 1 / (0.25 + 0.09 + 0.04 + 2*(0.15*rab+0.06*rbc))
	const tol = 1e-12
	if d.corrHoldings != 3 || math.Abs(d.avgAbsCorr-wantAvg) > tol || math.Abs(d.diversification-wantDiv) > tol ||
		math.Abs(d.corrEffective-wantEff) > tol {
		t.Errorf("holdings %d avg %.15f div %.15f eff %.15f; want 3 %.15f %.15f %.15f",
			d.corrHoldings, d.avgAbsCorr, d.diversification, d.corrEffective, wantAvg, wantDiv, wantEff)
	}
	set, _ := cs.set(0, d.grossRaw, nil, true)
	cm := correlationMatrix(d.date, cs, set, 0, 180, nil)
	if !slices.Equal(cm.Symbols, []string{"A", "B", "C"}) {
		t.Fatalf("symbols %v", cm.Symbols)
	}
	want := [][]float64{{1, rab, 0}, {rab, 1, rbc}, {0, rbc, 1}}
	for i := range 3 {
		for j := range 3 {
			if math.Abs(cm.Correlation[i][j]-want[i][j]) > tol || cm.Observations[i][j] != 90 {
				t.Errorf("ρ[%d][%d] = %.15f (%d obs), want %.15f (90)", i, j, cm.Correlation[i][j], cm.Observations[i][j], want[i][j])
			}
		}
	}
	// A–B linked (√(6/7) ≈ 0.93 ≥ 0.7), C alone (1/√7 ≈ 0.38): {A, B}
	// holds 80, C 20.
	if !slices.Equal(cm.Clusters, []int{1, 1, 2}) || cm.Repaired {
		t.Errorf("clusters %v repaired %v, want [1 1 2] false", cm.Clusters, cm.Repaired)
	}
}

// A holding below 1 % of gross is not in the set; one with fewer than 30
// returns in the window is left out and counted; a pair with fewer than 30
// common returns is missing and warned.
func TestCorrelationSetRules(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1))
	mk := func(gap func(i int) bool) []float64 {
		r := make([]float64, 120)
		for i := range r {
			r[i] = 0.01 * rng.NormFloat64()
			if gap(i) {
				r[i] = math.NaN()
			}
		}
		return r
	}
	full := mk(func(int) bool { return false })
	// D has returns only on the first half of the window, E only on the
	// second half: 40ish each, almost none in common.
	dRet := mk(func(i int) bool { return i >= 75 })
	eRet := mk(func(i int) bool { return i < 78 })
	few := mk(func(i int) bool { return i%4 != 0 }) // ≈ 22 returns in 90
	tiny := mk(func(int) bool { return false })
	ax, hs, days := corrBook(t, [][]float64{full, dRet, eRet, few, tiny}, []float64{100, 80, 60, 50, 0.5}, 120)
	var w warnings
	correlationColumns(ax, hs, 120, days, DefaultStaleAfter, &w, nil)
	if days[0].corrHoldings != 3 {
		t.Errorf("holdings %d, want 3 (tiny below 1 %%, few left out)", days[0].corrHoldings)
	}
	ws := w.list()
	if !covered(ws, WarnCorrelation, "holdings left out", days[0].date) || !covered(ws, WarnCorrelation, "pairs left out", days[0].date) {
		t.Errorf("warnings %+v", ws)
	}
}

// Properties on random books with gaps: ρ ∈ [−1, 1]; PSD after repair
// with a unit diagonal (when no pair is missing: missing pairs stay NULL); diversification ∈ [0, 1]; effective positions ∈
// [1, N] when every ρ ≥ 0; the rolling scores equal the from-scratch ones.
func TestCorrelationProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(21, 22))
	for trial := range 40 {
		nh := 2 + rng.IntN(12)
		positive := trial%2 == 0
		market := make([]float64, 200)
		for i := range market {
			market[i] = 0.01 * rng.NormFloat64()
		}
		var rets [][]float64
		var mvs []float64
		for range nh {
			load := rng.Float64()*2 - 1
			if positive {
				load = 0.5 + rng.Float64()
			}
			r := make([]float64, 200)
			for i := range r {
				r[i] = load*market[i] + 0.01*rng.NormFloat64()
				if rng.IntN(6) == 0 {
					r[i] = math.NaN()
				}
			}
			rets = append(rets, r)
			mvs = append(mvs, (1+rng.Float64()*100)*float64(1-2*rng.IntN(2)))
		}
		ax, hs, days := corrBook(t, rets, mvs, 150)
		var w warnings
		cs := correlationColumns(ax, hs, 150, days, DefaultStaleAfter, &w, nil)
		for k, d := range days {
			set, _ := cs.set(k, d.grossRaw, nil, true)
			cm := correlationMatrix(d.date, cs, set, k, 150+k, nil)
			n := len(set)
			allPos, missing := true, false
			a := mat.NewSymDense(max(n, 1), nil)
			for i := range n {
				for j := range n {
					v := cm.Correlation[i][j]
					if math.IsNaN(v) {
						missing = true
						continue
					}
					if v < -1 || v > 1 {
						t.Fatalf("ρ = %g", v)
					}
					if v < 0 {
						allPos = false
					}
					a.SetSym(i, j, v)
				}
				if cm.Correlation[i][i] != 1 {
					t.Fatalf("diagonal %g", cm.Correlation[i][i])
				}
			}
			if n > 1 && !missing {
				var eig mat.EigenSym
				eig.Factorize(a, false)
				if lo := slices.Min(eig.Values(nil)); lo < -1e-10 {
					t.Fatalf("trial %d day %d: smallest eigenvalue %g after repair (repaired %v)", trial, k, lo, cm.Repaired)
				}
			}
			if d.hasDiversification && (d.diversification < 0 || d.diversification > 1) {
				t.Fatalf("diversification %g", d.diversification)
			}
			if d.hasAvgAbsCorr && (d.avgAbsCorr < 0 || d.avgAbsCorr > 1) {
				t.Fatalf("avg |ρ| %g", d.avgAbsCorr)
			}
			if positive && allPos && !cm.Repaired && d.hasCorrEffective &&
				(d.corrEffective < 1-1e-12 || d.corrEffective > float64(d.corrHoldings)+1e-12) {
				t.Fatalf("effective positions %g outside [1, %d]", d.corrEffective, d.corrHoldings)
			}
			// The rolling average agrees with the from-scratch pairs.
			if d.hasAvgAbsCorr && !cm.Repaired {
				var sum float64
				var m int
				for i := range n {
					for j := i + 1; j < n; j++ {
						if v := cm.Correlation[i][j]; !math.IsNaN(v) {
							sum += math.Abs(v)
							m++
						}
					}
				}
				if math.Abs(sum/float64(m)-d.avgAbsCorr) > 1e-12 {
					t.Fatalf("rolling avg |ρ| %.15f, from scratch %.15f", d.avgAbsCorr, sum/float64(m))
				}
			}
		}
	}
}

// An inconsistent "correlation" matrix is repaired to PSD with a unit
// diagonal.
func TestRepairPSD(t *testing.T) {
	t.Parallel()
	r := [][]float64{{1, 0.9, -0.9}, {0.9, 1, 0.9}, {-0.9, 0.9, 1}}
	if !repairPSD(r) {
		t.Fatal("not repaired")
	}
	a := mat.NewSymDense(3, nil)
	for i := range 3 {
		for j := i; j < 3; j++ {
			a.SetSym(i, j, r[i][j])
		}
		if r[i][i] != 1 {
			t.Errorf("diagonal %g", r[i][i])
		}
	}
	var eig mat.EigenSym
	eig.Factorize(a, false)
	if lo := slices.Min(eig.Values(nil)); lo < -1e-10 {
		t.Errorf("smallest eigenvalue %g", lo)
	}
	ok := [][]float64{{1, 0.5}, {0.5, 1}}
	if repairPSD(ok) || ok[0][1] != 0.5 {
		t.Error("a PSD matrix was changed")
	}
}

// Clustering 50 holdings all linked, and 50 unlinked, is immediate
// (union-find over the pairs); clusters are numbered by total |MV|.
func TestClustersLinear(t *testing.T) {
	t.Parallel()
	n := 50
	r := make([][]float64, n)
	mv := make([]float64, n)
	for i := range n {
		r[i] = make([]float64, n)
		for j := range n {
			r[i][j] = 0.1
			if i%2 == j%2 {
				r[i][j] = -0.8 // |ρ| links the evens and the odds
			}
		}
		r[i][i] = 1
		mv[i] = float64(i + 1)
	}
	start := time.Now()
	got := clusters(r, mv)
	if time.Since(start) > time.Second {
		t.Errorf("clusters took %s", time.Since(start))
	}
	for i, c := range got {
		// The odd indexes hold 2+4+…+50 > 1+3+…+49.
		if want := 2 - i%2; c != want {
			t.Fatalf("holding %d in cluster %d, want %d", i, c, want)
		}
	}
}

// BenchmarkCorrelationColumns: one portfolio of 50 holdings over 252 days.
func BenchmarkCorrelationColumns(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	var rets [][]float64
	var mvs []float64
	for range 50 {
		r := make([]float64, 500)
		for i := range r {
			r[i] = 0.01 * rng.NormFloat64()
		}
		rets = append(rets, r)
		mvs = append(mvs, 1+rng.Float64())
	}
	t := &testing.T{}
	ax, hs, days := corrBook(t, rets, mvs, 249)
	for b.Loop() {
		var w warnings
		correlationColumns(ax, hs, 249, days, DefaultStaleAfter, &w, nil)
	}
}

// BenchmarkVolForecastColumns: one portfolio's forecast over 252 days
// with a full history.
func BenchmarkVolForecastColumns(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	days := make([]day, 252)
	for k := range days {
		days[k].ret, days[k].hasRet = 0.01*rng.NormFloat64(), true
		days[k].vol21, days[k].hasVol21 = 0.2+0.01*rng.Float64(), true
	}
	var h volHistory
	for range harReturns {
		h.returns = append(h.returns, 0.01*rng.NormFloat64())
	}
	for range VolPercentileValues {
		h.vols = append(h.vols, 0.2+0.01*rng.Float64())
	}
	for b.Loop() {
		volForecastColumns(days, h, &warnings{})
	}
}
