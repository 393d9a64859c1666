package batch

import "time"

// axisCache shares the axis of a backfill's days and look-back between the
// backfills of the same first day and target — every portfolio of a
// nightly advance — so that laying a year of sessions is done once per
// night, not once per portfolio. Axes are immutable.
type axisCache struct {
	axes sharedMap[axisKey, *axis]
}

type axisKey struct {
	start, target time.Time
	lookback      int
}

// maxCachedAxes bounds the cache; past it, it starts over.
const maxCachedAxes = 1024

func newAxisCache() *axisCache {
	return &axisCache{axes: sharedMap[axisKey, *axis]{max: maxCachedAxes}}
}

// get returns the axis of the sessions from lookback sessions before
// start through target.
func (c *axisCache) get(cal Calendar, start, target time.Time, lookback int) *axis {
	return c.axes.get(axisKey{start, target, lookback}, func() *axis {
		from := start
		for range lookback {
			from = PrevSession(cal, from)
		}
		return newAxis(cal, from, target)
	})
}
