package batch

import "sync"

// sharedMap holds values shared by the backfills of an engine, each
// computed once from its key alone; past max entries it starts over. The
// zero value with max set is ready to use.
type sharedMap[K comparable, V any] struct {
	mu  sync.Mutex
	max int
	m   map[K]V
}

// get returns k's value, computing it with compute (outside the lock)
// when the map does not hold it.
func (s *sharedMap[K, V]) get(k K, compute func() V) V { return s.getIf(k, compute, nil) }

// getIf is get keeping a computed value only when keep, called under the
// lock, says so (nil: always).
func (s *sharedMap[K, V]) getIf(k K, compute func() V, keep func() bool) V {
	s.mu.Lock()
	v, ok := s.m[k]
	s.mu.Unlock()
	if ok {
		return v
	}
	v = compute()
	s.mu.Lock()
	if keep == nil || keep() {
		if s.m == nil || len(s.m) >= s.max {
			s.m = map[K]V{}
		}
		s.m[k] = v
	}
	s.mu.Unlock()
	return v
}
