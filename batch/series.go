package batch

import "math"

// series is one symbol's closes laid on an axis: value[i] is the close in
// force on session i (carried forward from the last real close), and
// real[i] the session index of that last real close, or -1 when the
// symbol has no close yet.
type series struct {
	value []float64
	real  []int32
}

// newSeries lays closes (date order, possibly starting with an as-of close
// before the axis) on ax.
func newSeries(ax *axis, closes []Close) *series {
	n := ax.len()
	s := &series{value: make([]float64, n), real: make([]int32, n)}
	last, lastIdx := math.NaN(), int32(-1)
	// An as-of close before the axis is carried in as already stale: the
	// engine starts the axis more than the staleness limit before the
	// first day it computes.
	j := 0
	for ; j < len(closes) && ax.len() > 0 && closes[j].Date.Before(ax.days[0]); j++ {
		last = closes[j].Value
		lastIdx = -1 - int32(staleForever)
	}
	for i := range n {
		for ; j < len(closes) && !closes[j].Date.After(ax.days[i]); j++ {
			// Closes dated on days that are not sessions are ignored.
			if closes[j].Date.Equal(ax.days[i]) {
				last, lastIdx = closes[j].Value, int32(i)
			}
		}
		s.value[i] = last
		s.real[i] = lastIdx
		if math.IsNaN(last) {
			s.real[i] = -1
		}
	}
	return s
}

// staleForever is larger than any configured staleness limit.
const staleForever = 1 << 20

// at returns the close in force on session i, how many sessions ago it
// was a real close, and false when the symbol has no close by then.
func (s *series) at(i int) (price float64, age int, ok bool) {
	if s == nil || i < 0 || i >= len(s.value) || math.IsNaN(s.value[i]) {
		return 0, 0, false
	}
	r := int(s.real[i])
	if r < 0 {
		return s.value[i], staleForever, true
	}
	return s.value[i], i - r, true
}

// isReal reports whether session i has a real (not carried) close.
func (s *series) isReal(i int) bool {
	return s != nil && i >= 0 && i < len(s.real) && int(s.real[i]) == i
}
