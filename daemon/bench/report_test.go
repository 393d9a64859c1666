package bench

import (
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	t.Parallel()
	ms := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i+1) * 1e6
		}
		return out
	}
	tests := []struct {
		name string
		ns   []int64
		want LatencyMS
	}{
		{"none", nil, LatencyMS{}},
		{"one", []int64{2_500_000}, LatencyMS{2.5, 2.5, 2.5}},
		{"hundred", ms(100), LatencyMS{50, 99, 100}},
		{"thousand", ms(1000), LatencyMS{500, 990, 1000}},
	}
	for _, tt := range tests {
		ds := make([]time.Duration, len(tt.ns))
		for i, n := range tt.ns {
			ds[i] = time.Duration(n)
		}
		if got := percentiles(ds); got != tt.want {
			t.Errorf("%s: percentiles = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
