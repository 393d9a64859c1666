package batch

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func noShocks() [nStress]float64 {
	var s [nStress]float64
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// The conditional-mean propagation on a 2-factor covariance, by hand:
// σ_M² = 0.04, σ_V² = 0.09, σ_MV = 0.012. A market shock of −10 % moves
// value by σ_MV/σ_M² × (−0.10) = 0.3 × (−0.10) = −0.03; a value shock of
// +20 % moves the market by 0.012/0.09 × 0.20 = 0.0266…; shocking both
// leaves nothing to propagate. The other factors have no covariance with
// them and do not move.
func TestConditionalMovesByHand(t *testing.T) {
	t.Parallel()
	cov := mat.NewSymDense(nStress, nil)
	cov.SetSym(0, 0, 0.04)
	cov.SetSym(1, 1, 0.09)
	cov.SetSym(0, 1, 0.012)
	for f := 2; f < nStress; f++ {
		cov.SetSym(f, f, 0.01)
	}
	s := noShocks()
	s[0] = -0.10
	m := conditionalMoves(cov, s)
	if math.Abs(m[0]+0.10) > 1e-15 || math.Abs(m[1]+0.03) > 1e-15 || m[2] != 0 || m[7] != 0 {
		t.Errorf("market −10 %%: moves %v, want [−0.1 −0.03 0 …]", m)
	}
	s = noShocks()
	s[1] = 0.20
	m = conditionalMoves(cov, s)
	if math.Abs(m[0]-0.012/0.09*0.20) > 1e-15 || m[1] != 0.20 {
		t.Errorf("value +20 %%: moves %v, want market %g", m, 0.012/0.09*0.20)
	}
	// Two identical shocked factors make Σ_SS singular: the
	// pseudo-inverse splits the shock between them.
	twin := mat.NewSymDense(3, []float64{0.04, 0.04, 0.02, 0.04, 0.04, 0.02, 0.02, 0.02, 0.09})
	z := pinvSymApply(mat.NewSymDense(2, []float64{0.04, 0.04, 0.04, 0.04}), []float64{-0.1, -0.1})
	// Σ_SS = 0.08·uuᵀ with u = (1, 1)/√2 and s along u, so Σ_SS⁺ s =
	// s / 0.08 = (−1.25, −1.25).
	if math.Abs(z[0]+1.25) > 1e-12 || math.Abs(z[1]+1.25) > 1e-12 {
		t.Errorf("pseudo-inverse %v, want both −1.25", z)
	}
	// The third factor then moves by 0.02·z0 + 0.02·z1 = −0.05: its
	// regression on the one underlying factor, 0.02/0.04 × (−0.1).
	if got := twin.At(2, 0)*z[0] + twin.At(2, 1)*z[1]; math.Abs(got+0.05) > 1e-12 {
		t.Errorf("propagated %g, want −0.05", got)
	}
}

// Stress moves are linear in the shock: doubling every shock doubles the
// moves, hence both P&Ls.
func TestStressLinearInShock(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 9))
	for range 50 {
		a := mat.NewDense(nStress, nStress, nil)
		for i := range nStress {
			for j := range nStress {
				a.Set(i, j, rng.NormFloat64()*0.01)
			}
		}
		var c mat.SymDense
		c.SymOuterK(1, a)
		s := noShocks()
		for f := range nStress {
			if rng.IntN(3) == 0 {
				s[f] = rng.NormFloat64() * 0.1
			}
		}
		s2 := s
		for f := range s2 {
			s2[f] *= 2.5
		}
		m1, m2 := conditionalMoves(&c, s), conditionalMoves(&c, s2)
		for f := range nStress {
			if math.Abs(m2[f]-2.5*m1[f]) > 1e-12*math.Max(1, math.Abs(m1[f])) {
				t.Fatalf("factor %d: %g vs 2.5 × %g", f, m2[f], m1[f])
			}
		}
	}
}

// EWMA covariance by hand: three sessions of returns (most recent last)
// (0.01, 0.02), (−0.02, 0.01), (0.03, −0.01) with λ = 0.5 weigh 1, 0.5,
// 0.25 from the most recent, normalised by 1.75; zero mean.
func TestEWMACovarianceByHand(t *testing.T) {
	t.Parallel()
	ax := &axis{days: SessionsEnding(NewNYSECalendar(), date("2024-12-31"), 4)}
	mk := func(r ...float64) *series {
		cs := []Close{{Date: ax.days[0], Value: 100}}
		p := 100.0
		for i, x := range r {
			p *= 1 + x
			cs = append(cs, Close{Date: ax.days[i+1], Value: p})
		}
		return newSeries(ax, cs)
	}
	x := mk(0.03, -0.02, 0.01)
	y := mk(-0.01, 0.01, 0.02)
	cov, n := ewmaCovariance([]*series{x, y}, 3, 252, 0.5)
	if n != 3 {
		t.Fatalf("%d sessions", n)
	}
	w := []float64{0.25 / 1.75, 0.5 / 1.75, 1 / 1.75} // oldest first
	rx := []float64{0.03, -0.02, 0.01}
	ry := []float64{-0.01, 0.01, 0.02}
	var xx, xy, yy float64
	for i := range w {
		xx += w[i] * rx[i] * rx[i]
		xy += w[i] * rx[i] * ry[i]
		yy += w[i] * ry[i] * ry[i]
	}
	for _, c := range []struct{ got, want float64 }{{cov.At(0, 0), xx}, {cov.At(0, 1), xy}, {cov.At(1, 1), yy}} {
		if math.Abs(c.got-c.want) > 1e-15 {
			t.Errorf("covariance %g, want %g", c.got, c.want)
		}
	}
}

// Scenarios: the built-in set, user scenarios added or replacing, and
// bad ones refused with what to fix.
func TestStressConfig(t *testing.T) {
	t.Parallel()
	c, err := StressConfig{Scenarios: []StressScenario{
		{ID: "market_down_5", Category: StressMarket, Shocks: map[string]float64{FactorMarketBeta: -0.06}},
		{ID: "my_tech_crash", Category: "custom", Shocks: map[string]float64{FactorGrowth: -0.3, FactorMomentum: -0.2}},
	}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	sc := c.scenarios()
	if len(sc) != 23 || sc[1].Shocks[FactorMarketBeta] != -0.06 || sc[22].ID != "my_tech_crash" {
		t.Errorf("%d scenarios, [1] = %+v, last %s", len(sc), sc[1], sc[len(sc)-1].ID)
	}
	ids := map[string]bool{}
	for _, s := range DefaultStressScenarios() {
		ids[s.ID] = true
	}
	for _, id := range strings.Fields(`market_up_5 market_down_5 market_up_10 market_down_10 market_crash_35
		market_rally_25 rates_up_25bp rates_down_25bp rates_up_50bp rates_down_50bp rates_up_100bp
		rates_down_100bp rate_spike_300bp value_rotation_20 growth_rally_15 small_cap_outperformance_10
		quality_flight_12 vix_spike_150 liquidity_crisis gfc_2008 covid_2020 rates_2022`) {
		if !ids[id] {
			t.Errorf("no built-in scenario %s", id)
		}
	}
	for _, bad := range []StressScenario{
		{ID: ""},
		{ID: "x", Shocks: map[string]float64{"bitcoin": 0.1}},
		{ID: "x", Shocks: map[string]float64{FactorMarketBeta: math.NaN()}},
		{ID: "x", Shocks: map[string]float64{FactorMarketBeta: -1.5}},
		{ID: "x", ReplayFrom: date("2020-03-01"), ReplayTo: date("2020-02-01")},
	} {
		if _, err := (StressConfig{Scenarios: []StressScenario{bad}}).withDefaults(); err == nil {
			t.Errorf("scenario %+v accepted", bad)
		}
	}
	if _, err := (StressConfig{EWMALambda: 1.5}).withDefaults(); err == nil {
		t.Error("λ = 1.5 accepted")
	}
}
