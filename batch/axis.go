package batch

import (
	"sort"
	"time"
)

// axis numbers the sessions of a calendar between two dates, so that the
// valuation loops index arrays instead of comparing dates.
type axis struct {
	days []time.Time // sessions in order, UTC midnight
}

func newAxis(cal Calendar, from, to time.Time) *axis {
	return &axis{days: Sessions(cal, from, to)}
}

func (a *axis) len() int { return len(a.days) }

// onOrAfter returns the index of the first session on or after d
// (len(days) when none).
func (a *axis) onOrAfter(d time.Time) int {
	d = dateOf(d)
	return sort.Search(len(a.days), func(i int) bool { return !a.days[i].Before(d) })
}

// onOrBefore returns the index of the last session on or before d (-1
// when none).
func (a *axis) onOrBefore(d time.Time) int {
	d = dateOf(d)
	return sort.Search(len(a.days), func(i int) bool { return a.days[i].After(d) }) - 1
}

// dateOf returns the calendar date of t (in t's location) at UTC midnight.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
