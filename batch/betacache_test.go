package batch

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Concurrent backfills asking for one symbol's betas share one
// computation per range, never read a half-filled entry, and are not left
// waiting when a computation panics.
func TestBetaCacheConcurrent(t *testing.T) {
	t.Parallel()
	cal := NewNYSECalendar()
	ax := newAxis(cal, date("2024-01-02"), date("2024-12-31"))
	var computed atomic.Int32
	compute := func(first, end int) func() *symbolBetas {
		return func() *symbolBetas {
			computed.Add(1)
			time.Sleep(time.Millisecond) // widen the window a racing reader would hit
			b := &symbolBetas{first: first}
			for range end - first + 1 {
				b.vals = append(b.vals, []betaValue{{value: 1.5, ok: true}, {reason: "too few observations (3 < 30)"}})
			}
			return b
		}
	}
	c := newBetaCache()
	var wg sync.WaitGroup
	for i := range 16 {
		first, end := 10, 200
		if i%2 == 1 {
			first, end = 150, 240 // a range the first computation does not cover
		}
		wg.Go(func() {
			rows, problems := c.rows(1, "AAA", ax, first, end, compute(first, end))
			if len(rows.allOK) != end-first+1 || len(rows.flat) != 2*(end-first+1) || rows.flat[0] != 1.5 {
				t.Errorf("rows for %d..%d: %d days", first, end, len(rows.allOK))
			}
			if len(problems) != end-first+1 || problems[0].reason != "too few observations" {
				t.Errorf("problems for %d..%d: %d", first, end, len(problems))
			}
		})
	}
	wg.Wait()
	if n := computed.Load(); n < 1 || n > 16 {
		t.Errorf("computed %d times", n)
	}

	// A panicking computation releases its waiters, who compute again.
	c2 := newBetaCache()
	var first sync.Once
	done := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			defer func() { recover() }() //nolint:errcheck // the panicking caller
			c2.rows(1, "BBB", ax, 0, 5, func() *symbolBetas {
				panicNow := false
				first.Do(func() { panicNow = true })
				if panicNow {
					panic("compute exploded")
				}
				return compute(0, 5)()
			})
		})
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("callers blocked after a panicking computation")
	}
}
