package batch

import (
	"fmt"
	"sync"
	"time"

	// Embeds the time zone database so that America/New_York loads on
	// machines without tzdata (distroless and scratch images).
	_ "time/tzdata"
)

// NYSECalendar is the trading calendar of the New York Stock Exchange:
// sessions Monday to Friday, 09:30–16:00 America/New_York, except on
// exchange holidays, with early closes (usually 13:00) on some days around
// holidays.
//
// The schedule is exact from 1990 through the years NYSE has published
// (every full-day closure and early close since 1990, including the one-off
// closures for national days of mourning, September 11, 2001 and Hurricane
// Sandy, and the unscheduled early closes). Later years follow the standing
// rules: NYSE announces a one-off closure only days before it, and this
// calendar learns of it with a new release. Years before 1990 follow the
// same rules and lack that era's one-off events.
//
// The rules: New Year's Day (a Sunday holiday moves to Monday, a Saturday one
// is not observed), Martin Luther King Jr. Day (from 1998), Washington's
// Birthday, Good Friday, Memorial Day, Juneteenth (from 2022), Independence
// Day, Labor Day, Thanksgiving Day and Christmas Day, the fixed-date ones
// moving to Friday when on a Saturday and to Monday when on a Sunday.
// Early closes: the day after Thanksgiving (from 1992) and Christmas Eve on
// a Monday to Thursday, at 14:00 until 1992 and 13:00 since; July 3 on a
// Monday, Tuesday or Thursday (from 1995), Friday July 5 (1995–2012) and
// Wednesday July 3 (from 2013), at 13:00.
//
// The zero value is ready to use, and an NYSECalendar is safe for concurrent
// use. Each year's schedule is computed once, on first use.
type NYSECalendar struct {
	years [nyseCachedYears]nyseYearSlot
	other sync.Map // int year -> *nyseYear, for years outside years
}

// NewNYSECalendar returns the trading calendar of the New York Stock Exchange.
func NewNYSECalendar() *NYSECalendar {
	return &NYSECalendar{}
}

// IsSession reports whether NYSE trades on the date of d (its year, month
// and day in d's own location).
func (c *NYSECalendar) IsSession(d time.Time) bool {
	return c.year(d.Year()).isOpen(d.YearDay())
}

// Close returns the closing time of the NYSE session on the date of d, in
// America/New_York (16:00, or earlier on an early-close day), and false when
// NYSE does not trade that day.
func (c *NYSECalendar) Close(d time.Time) (time.Time, bool) {
	y, m, day := d.Date()
	yr := c.year(y)
	yd := d.YearDay()
	if !yr.isOpen(yd) {
		return time.Time{}, false
	}
	minute := nyseRegularClose
	if e, ok := yr.event(yd); ok { // an open day's event is an early close
		minute = e.close
	}
	return time.Date(y, m, day, minute/60, minute%60, 0, 0, nyseLocation()), true
}

// Location returns America/New_York.
func (c *NYSECalendar) Location() *time.Location {
	return nyseLocation()
}

// nyseLocation loads America/New_York once. The embedded time/tzdata makes
// failure impossible short of a broken build, hence the panic.
var nyseLocation = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(fmt.Sprintf("batch: load America/New_York: %v", err))
	}
	return loc
})

const (
	// nyseFirstCachedYear and nyseCachedYears delimit the years whose
	// schedule lives in a fixed array (lock-free after first use); others go
	// through a sync.Map.
	nyseFirstCachedYear = 1900
	nyseCachedYears     = 300

	nyseRegularClose = 16 * 60 // minutes after midnight
	nyseEarlyClose   = 13 * 60
	nyseEarlyClose14 = 14 * 60 // the early-close time until 1992
	nyseClosed       = -1      // nyseEvent.close of a full-day closure
)

type nyseYearSlot struct {
	once sync.Once
	year *nyseYear
}

// nyseYear is one year's schedule.
type nyseYear struct {
	open   [6]uint64   // bit yday-1 set when that day is a session
	events []nyseEvent // weekday closures and early closes, by date
}

// nyseEvent is a weekday on which NYSE does not keep its regular hours.
type nyseEvent struct {
	yday  int    // day of the year, 1-based
	close int    // minutes after midnight, or nyseClosed
	name  string // for humans and the golden test
}

func (y *nyseYear) isOpen(yday int) bool {
	i := yday - 1
	return y.open[i>>6]&(1<<(i&63)) != 0
}

// event returns the event on day yday, if any.
func (y *nyseYear) event(yday int) (nyseEvent, bool) {
	for _, e := range y.events {
		if e.yday == yday {
			return e, true
		}
	}
	return nyseEvent{}, false
}

func (c *NYSECalendar) year(y int) *nyseYear {
	if i := y - nyseFirstCachedYear; i >= 0 && i < len(c.years) {
		s := &c.years[i]
		s.once.Do(func() { s.year = buildNYSEYear(y) })
		return s.year
	}
	if v, ok := c.other.Load(y); ok {
		return v.(*nyseYear)
	}
	v, _ := c.other.LoadOrStore(y, buildNYSEYear(y))
	return v.(*nyseYear)
}

// nyseOneOff is an event that no rule produces.
type nyseOneOff struct {
	year  int
	month time.Month
	day   int
	close int // minutes after midnight, or nyseClosed
	name  string
}

// nyseOneOffs lists the closures and early closes since 1990 that no rule
// produces, from NYSE's history of closings and its announcements. Partial
// interruptions (late opens, trading halts that resumed) are not closures
// and are left out.
var nyseOneOffs = []nyseOneOff{
	{1994, time.February, 11, 14*60 + 30, "Snowstorm"},
	{1994, time.April, 27, nyseClosed, "National Day of Mourning for Richard Nixon"},
	{1996, time.January, 8, 14 * 60, "Blizzard"}, // opened late, at 11:00
	{1997, time.October, 27, 15*60 + 30, "Circuit breaker halt"},
	{1997, time.December, 26, nyseEarlyClose, "Day after Christmas"},
	// Approved by the NYSE board in April 1999 for the Y2K changeover;
	// exchange_calendars has it, pandas_market_calendars calls it disputed.
	{1999, time.December, 31, nyseEarlyClose, "New Year's Eve 1999"},
	{2001, time.September, 11, nyseClosed, "September 11 attacks"},
	{2001, time.September, 12, nyseClosed, "September 11 attacks"},
	{2001, time.September, 13, nyseClosed, "September 11 attacks"},
	{2001, time.September, 14, nyseClosed, "September 11 attacks"},
	{2003, time.December, 26, nyseEarlyClose, "Day after Christmas"},
	{2004, time.June, 11, nyseClosed, "National Day of Mourning for Ronald Reagan"},
	{2005, time.June, 1, 15*60 + 56, "Systems communication problem"},
	{2007, time.January, 2, nyseClosed, "National Day of Mourning for Gerald Ford"},
	{2012, time.October, 29, nyseClosed, "Hurricane Sandy"},
	{2012, time.October, 30, nyseClosed, "Hurricane Sandy"},
	{2018, time.December, 5, nyseClosed, "National Day of Mourning for George H. W. Bush"},
	{2025, time.January, 9, nyseClosed, "National Day of Mourning for Jimmy Carter"},
}

// buildNYSEYear computes the schedule of year y from the rules and the
// one-off events.
func buildNYSEYear(y int) *nyseYear {
	date := func(m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	closures := make(map[int]string, 12) // yday -> name
	early := make(map[int]nyseEvent, 4)

	closeOn := func(t time.Time, name string) {
		if t.Year() != y || calIsWeekend(t) {
			return
		}
		if _, dup := closures[t.YearDay()]; !dup {
			closures[t.YearDay()] = name
		}
	}
	// closeObserved closes a fixed-date holiday, moved off a weekend.
	closeObserved := func(m time.Month, d int, name string) {
		t := date(m, d)
		switch t.Weekday() {
		case time.Saturday:
			t, name = t.AddDate(0, 0, -1), name+" (observed)"
		case time.Sunday:
			t, name = t.AddDate(0, 0, 1), name+" (observed)"
		}
		closeOn(t, name)
	}
	closeEarly := func(t time.Time, minute int, name string) {
		if t.Year() != y || calIsWeekend(t) {
			return
		}
		early[t.YearDay()] = nyseEvent{yday: t.YearDay(), close: minute, name: name}
	}

	// New Year's Day: NYSE Rule 7.2 moves a Sunday holiday to Monday, but a
	// Saturday one is not observed on the Friday, the last day of the
	// accounting year (NYSE traded on 1993-12-31, 1999-12-31, 2021-12-31).
	if ny := date(time.January, 1); ny.Weekday() == time.Sunday {
		closeOn(ny.AddDate(0, 0, 1), "New Year's Day (observed)")
	} else {
		closeOn(ny, "New Year's Day")
	}
	if y >= 1998 { // NYSE first closed for it in 1998
		closeOn(calNthWeekday(y, time.January, time.Monday, 3), "Martin Luther King Jr. Day")
	}
	closeOn(calNthWeekday(y, time.February, time.Monday, 3), "Washington's Birthday")
	closeOn(calEasterSunday(y).AddDate(0, 0, -2), "Good Friday")
	closeOn(calLastWeekday(y, time.May, time.Monday), "Memorial Day")
	if y >= 2022 {
		closeObserved(time.June, 19, "Juneteenth")
	}
	closeObserved(time.July, 4, "Independence Day")
	closeOn(calNthWeekday(y, time.September, time.Monday, 1), "Labor Day")
	thanksgiving := calNthWeekday(y, time.November, time.Thursday, 4)
	closeOn(thanksgiving, "Thanksgiving Day")
	closeObserved(time.December, 25, "Christmas Day")

	standardEarly := nyseEarlyClose
	if y < 1993 {
		standardEarly = nyseEarlyClose14
	}
	july3 := date(time.July, 3)
	switch wd := july3.Weekday(); {
	case y >= 1995 && (wd == time.Monday || wd == time.Tuesday || wd == time.Thursday):
		closeEarly(july3, nyseEarlyClose, "Day before Independence Day")
	case y >= 2013 && wd == time.Wednesday:
		closeEarly(july3, nyseEarlyClose, "Day before Independence Day")
	case y >= 1995 && y <= 2012 && wd == time.Wednesday:
		// Independence Day on a Thursday: the Friday after closed early.
		closeEarly(date(time.July, 5), nyseEarlyClose, "Day after Independence Day")
	}
	if y >= 1992 {
		closeEarly(thanksgiving.AddDate(0, 0, 1), standardEarly, "Day after Thanksgiving")
	}
	// A Friday Christmas Eve is the observed Christmas holiday.
	if eve := date(time.December, 24); eve.Weekday() != time.Friday {
		closeEarly(eve, standardEarly, "Christmas Eve")
	}

	for _, o := range nyseOneOffs {
		if o.year != y {
			continue
		}
		if o.close == nyseClosed {
			closeOn(date(o.month, o.day), o.name)
		} else {
			closeEarly(date(o.month, o.day), o.close, o.name)
		}
	}

	yr := &nyseYear{}
	for t := date(time.January, 1); t.Year() == y; t = t.AddDate(0, 0, 1) {
		if calIsWeekend(t) {
			continue
		}
		yd := t.YearDay()
		if name, closed := closures[yd]; closed {
			yr.events = append(yr.events, nyseEvent{yday: yd, close: nyseClosed, name: name})
			continue
		}
		yr.open[(yd-1)>>6] |= 1 << ((yd - 1) & 63)
		if e, ok := early[yd]; ok {
			yr.events = append(yr.events, e)
		}
	}
	return yr
}

func calIsWeekend(t time.Time) bool {
	wd := t.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// calNthWeekday returns the n-th (1-based) weekday wd of month m in year y.
func calNthWeekday(y int, m time.Month, wd time.Weekday, n int) time.Time {
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	offset := (int(wd) - int(first.Weekday()) + 7) % 7
	return first.AddDate(0, 0, offset+7*(n-1))
}

// calLastWeekday returns the last weekday wd of month m in year y.
func calLastWeekday(y int, m time.Month, wd time.Weekday) time.Time {
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC)
	offset := (int(last.Weekday()) - int(wd) + 7) % 7
	return last.AddDate(0, 0, -offset)
}

// calEasterSunday returns Easter Sunday of year y in the Gregorian calendar
// (the anonymous Gregorian computus of Meeus, Jones and Butcher).
func calEasterSunday(y int) time.Time {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}
