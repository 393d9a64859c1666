package batch

import (
	"sync"
	"time"
)

// axisCache shares the axis of a backfill's days and look-back between the
// backfills of the same first day and target — every portfolio of a
// nightly advance — so that laying a year of sessions is done once per
// night, not once per portfolio. Axes are immutable.
type axisCache struct {
	mu sync.Mutex
	m  map[axisKey]*axis
}

type axisKey struct {
	start, target time.Time
	lookback      int
}

// maxCachedAxes bounds the cache; past it, it starts over.
const maxCachedAxes = 1024

func newAxisCache() *axisCache { return &axisCache{m: map[axisKey]*axis{}} }

// get returns the axis of the sessions from lookback sessions before
// start through target.
func (c *axisCache) get(cal Calendar, start, target time.Time, lookback int) *axis {
	k := axisKey{start, target, lookback}
	c.mu.Lock()
	ax, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return ax
	}
	from := start
	for range lookback {
		from = PrevSession(cal, from)
	}
	ax = newAxis(cal, from, target)
	c.mu.Lock()
	if len(c.m) >= maxCachedAxes {
		c.m = map[axisKey]*axis{}
	}
	c.m[k] = ax
	c.mu.Unlock()
	return ax
}
