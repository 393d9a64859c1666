package batch

import (
	"slices"
	"time"
)

// DefaultCloseDelay is the usual delay passed to MostRecentClose: a session
// counts as closed, and its closing prices as published, 30 minutes after the
// market's close.
const DefaultCloseDelay = 30 * time.Minute

// calMaxGap bounds how many calendar days the helpers below scan for a
// session before giving up, so that a Calendar that never trades makes them
// return the zero Time instead of looping forever. No real market pauses for
// ten years.
const calMaxGap = 3660

// Calendar tells which days a market trades and when it closes.
// Implementations must be safe for concurrent use.
//
// Days passed to a Calendar are read as calendar dates: only the year, month
// and day of the time.Time in its own location count. Days returned by the
// helpers in this file (NextSession, Sessions, MostRecentClose, …) are
// "dates": a time.Time at 00:00 UTC on that calendar day, so they compare
// with == and serve as map keys.
type Calendar interface {
	// IsSession reports whether the market trades on the date (year, month,
	// day of d; time and location ignored).
	IsSession(d time.Time) bool
	// Close returns the closing time of the session on d in the market's
	// location, and false when d is not a session.
	Close(d time.Time) (time.Time, bool)
	// Location is the market's time zone.
	Location() *time.Location
}

// calDate returns the calendar date of t, read in t's own location, as a
// time at 00:00 UTC.
func calDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// NextSession returns the first session of c strictly after the date of d,
// as a date at 00:00 UTC. It returns the zero Time if c has no session in
// the following ten years.
func NextSession(c Calendar, d time.Time) time.Time {
	day := calDate(d)
	for range calMaxGap {
		day = day.AddDate(0, 0, 1)
		if c.IsSession(day) {
			return day
		}
	}
	return time.Time{}
}

// PrevSession returns the last session of c strictly before the date of d,
// as a date at 00:00 UTC. It returns the zero Time if c has no session in
// the preceding ten years.
func PrevSession(c Calendar, d time.Time) time.Time {
	day := calDate(d)
	for range calMaxGap {
		day = day.AddDate(0, 0, -1)
		if c.IsSession(day) {
			return day
		}
	}
	return time.Time{}
}

// SessionOnOrAfter returns the date of d (at 00:00 UTC) if it is a session
// of c, and otherwise the next session, as NextSession does.
func SessionOnOrAfter(c Calendar, d time.Time) time.Time {
	day := calDate(d)
	if c.IsSession(day) {
		return day
	}
	return NextSession(c, day)
}

// Sessions returns the sessions of c from the date of from through the date
// of to, both included, in order, as dates at 00:00 UTC. It returns nil when
// to is before from or the range holds no session.
func Sessions(c Calendar, from, to time.Time) []time.Time {
	first, last := calDate(from), calDate(to)
	if last.Before(first) {
		return nil
	}
	// Five sessions a week at most; one extra for a range that starts and
	// ends on a weekday.
	days := int(last.Sub(first).Hours()/24) + 1
	var out []time.Time
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		if c.IsSession(day) {
			if out == nil {
				out = make([]time.Time, 0, days*5/7+2)
			}
			out = append(out, day)
		}
	}
	return out
}

// SessionsEnding returns the n sessions of c ending with the date of last,
// or with the session before it when it is not one, oldest first, as dates
// at 00:00 UTC: the last year of trading is SessionsEnding(c, today, 252).
// It returns fewer when c has no session in some ten-year gap before.
func SessionsEnding(c Calendar, last time.Time, n int) []time.Time {
	if n <= 0 {
		return nil
	}
	day := calDate(last)
	if !c.IsSession(day) {
		day = PrevSession(c, day)
	}
	out := make([]time.Time, 0, n)
	for ; len(out) < n && !day.IsZero(); day = PrevSession(c, day) {
		out = append(out, day)
	}
	slices.Reverse(out)
	return out
}

// SessionsBetween returns the number of sessions of c after the date of from
// up to and including the date of to: the lag, in trading days, of data
// complete through from behind a target to. It returns 0 when to is on or
// before from.
func SessionsBetween(c Calendar, from, to time.Time) int {
	first, last := calDate(from), calDate(to)
	n := 0
	for day := first.AddDate(0, 0, 1); !day.After(last); day = day.AddDate(0, 0, 1) {
		if c.IsSession(day) {
			n++
		}
	}
	return n
}

// MostRecentClose returns the latest session of c whose close plus delay is
// at or before the instant now, as a date at 00:00 UTC: the most recent
// trading day whose closing prices can be expected. now is an instant; its
// location does not matter, the calendar day is taken in c.Location(). Pass
// DefaultCloseDelay for the usual 30 minutes; a negative delay counts as
// zero. It returns the zero Time if c has no such session in the preceding
// ten years.
func MostRecentClose(c Calendar, now time.Time, delay time.Duration) time.Time {
	delay = max(delay, 0)
	day := calDate(now.In(c.Location()))
	for range calMaxGap {
		if closeAt, ok := c.Close(day); ok && !closeAt.Add(delay).After(now) {
			return day
		}
		day = day.AddDate(0, 0, -1)
	}
	return time.Time{}
}
