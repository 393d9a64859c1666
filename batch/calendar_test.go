package batch

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// calD returns the date y-m-d at 00:00 UTC, the form the helpers return.
func calD(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// calNY returns a wall-clock time in America/New_York.
func calNY(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, nyseLocation())
}

func calLoadLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// TestCalendarNYSEGolden lists every weekday on which NYSE did not keep its
// regular hours from 1990 through 2030 and compares the list with a golden
// file written by hand from NYSE's published schedules.
func TestCalendarNYSEGolden(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "calendar", "nyse_1990_2030.txt")
	want := calReadGolden(t, path)

	c := NewNYSECalendar()
	var got []string
	for d := calD(1990, time.January, 1); d.Year() <= 2030; d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			if c.IsSession(d) {
				t.Errorf("%s: a %s is a session", d.Format(time.DateOnly), d.Weekday())
			}
			continue
		}
		e, hasEvent := c.year(d.Year()).event(d.YearDay())
		closeAt, open := c.Close(d)
		if open != c.IsSession(d) {
			t.Errorf("%s: Close says open=%v, IsSession says %v", d.Format(time.DateOnly), open, c.IsSession(d))
		}
		switch {
		case !open:
			got = append(got, fmt.Sprintf("%s closed %s", d.Format(time.DateOnly), e.name))
		case closeAt.Hour() != 16 || closeAt.Minute() != 0:
			got = append(got, fmt.Sprintf("%s early %s %s", d.Format(time.DateOnly), closeAt.Format("15:04"), e.name))
		case hasEvent:
			t.Errorf("%s: event %q but regular hours", d.Format(time.DateOnly), e.name)
		}
	}

	wantSet := make(map[string]bool, len(want))
	for _, l := range want {
		wantSet[l] = true
	}
	gotSet := make(map[string]bool, len(got))
	for _, l := range got {
		gotSet[l] = true
		if !wantSet[l] {
			t.Errorf("calendar has %q, golden file does not", l)
		}
	}
	for _, l := range want {
		if !gotSet[l] {
			t.Errorf("golden file has %q, calendar does not", l)
		}
	}
	if len(got) != len(want) {
		t.Errorf("calendar lists %d events, golden file %d", len(got), len(want))
	}
}

func calReadGolden(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open golden file: %v", err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, l)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("read golden file: %v", err)
	}
	return lines
}

func TestCalendarNYSESessionCounts(t *testing.T) {
	t.Parallel()
	c := NewNYSECalendar()
	tests := []struct {
		year int
		want int
	}{
		{2001, 248}, // four days closed after September 11
		{2012, 250}, // two days closed for Hurricane Sandy
		{2019, 252},
		{2020, 253},
		{2021, 252},
		{2022, 251},
		{2023, 250},
		{2024, 252},
		{2025, 250}, // National Day of Mourning for Jimmy Carter
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.year), func(t *testing.T) {
			got := len(Sessions(c, calD(tt.year, time.January, 1), calD(tt.year, time.December, 31)))
			if got != tt.want {
				t.Errorf("sessions in %d = %d, want %d", tt.year, got, tt.want)
			}
			lag := SessionsBetween(c, calD(tt.year-1, time.December, 31), calD(tt.year, time.December, 31))
			if lag != tt.want {
				t.Errorf("SessionsBetween over %d = %d, want %d", tt.year, lag, tt.want)
			}
		})
	}
}

func TestCalendarNYSEIsSessionAndClose(t *testing.T) {
	t.Parallel()
	c := NewNYSECalendar()
	tokyo := calLoadLocation(t, "Asia/Tokyo")
	la := calLoadLocation(t, "America/Los_Angeles")
	tests := []struct {
		name      string
		d         time.Time
		wantOpen  bool
		wantClose time.Time // zero when closed
	}{
		{"regular winter day", calD(2024, time.January, 10), true, calNY(2024, time.January, 10, 16, 0)},
		{"regular summer day", calD(2024, time.June, 11), true, calNY(2024, time.June, 11, 16, 0)},
		{"Saturday", calD(2024, time.June, 15), false, time.Time{}},
		{"Sunday", calD(2024, time.June, 16), false, time.Time{}},
		{"Independence Day", calD(2024, time.July, 4), false, time.Time{}},
		{"day before Independence Day", calD(2024, time.July, 3), true, calNY(2024, time.July, 3, 13, 0)},
		{"Friday after a Thursday July 4 since 2013", calD(2024, time.July, 5), true, calNY(2024, time.July, 5, 16, 0)},
		{"Friday after a Thursday July 4 before 2013", calD(2002, time.July, 5), true, calNY(2002, time.July, 5, 13, 0)},
		{"July 2 before a Friday observed holiday", calD(2026, time.July, 2), true, calNY(2026, time.July, 2, 16, 0)},
		{"Black Friday", calD(2024, time.November, 29), true, calNY(2024, time.November, 29, 13, 0)},
		{"Black Friday before 1993", calD(1992, time.November, 27), true, calNY(1992, time.November, 27, 14, 0)},
		{"Black Friday before 1992", calD(1991, time.November, 29), true, calNY(1991, time.November, 29, 16, 0)},
		{"Christmas Eve", calD(2024, time.December, 24), true, calNY(2024, time.December, 24, 13, 0)},
		{"Christmas Eve on a Friday is the observed holiday", calD(2021, time.December, 24), false, time.Time{}},
		{"Christmas Eve before 1993", calD(1991, time.December, 24), true, calNY(1991, time.December, 24, 14, 0)},
		{"day after a Thursday Christmas", calD(2025, time.December, 26), true, calNY(2025, time.December, 26, 16, 0)},
		{"New Year's Eve is a full day", calD(2024, time.December, 31), true, calNY(2024, time.December, 31, 16, 0)},
		{"Saturday New Year's Day is not moved to Friday", calD(2021, time.December, 31), true, calNY(2021, time.December, 31, 16, 0)},
		{"Sunday New Year's Day moves to Monday", calD(2023, time.January, 2), false, time.Time{}},
		{"Juneteenth on a Sunday, observed Monday", calD(2022, time.June, 20), false, time.Time{}},
		{"June 19 before Juneteenth was a holiday", calD(2020, time.June, 19), true, calNY(2020, time.June, 19, 16, 0)},
		{"Juneteenth on a Saturday, observed Friday", calD(2027, time.June, 18), false, time.Time{}},
		{"MLK Day before 1998", calD(1997, time.January, 20), true, calNY(1997, time.January, 20, 16, 0)},
		{"MLK Day", calD(1998, time.January, 19), false, time.Time{}},
		{"Good Friday", calD(2021, time.April, 2), false, time.Time{}},
		{"Nixon", calD(1994, time.April, 27), false, time.Time{}},
		{"September 11", calD(2001, time.September, 14), false, time.Time{}},
		{"reopened after September 11", calD(2001, time.September, 17), true, calNY(2001, time.September, 17, 16, 0)},
		{"Hurricane Sandy", calD(2012, time.October, 30), false, time.Time{}},
		{"Carter", calD(2025, time.January, 9), false, time.Time{}},
		{"blizzard early close", calD(1996, time.January, 8), true, calNY(1996, time.January, 8, 14, 0)},
		{"date read in its own location (Tokyo July 4 is July 3 in UTC)",
			time.Date(2024, time.July, 4, 2, 0, 0, 0, tokyo), false, time.Time{}},
		{"date read in its own location (Los Angeles July 3 is July 4 in UTC)",
			time.Date(2024, time.July, 3, 22, 0, 0, 0, la), true, calNY(2024, time.July, 3, 13, 0)},
		{"far future follows the rules", calD(2150, time.December, 25), false, time.Time{}},
		{"far past follows the rules", calD(1700, time.January, 4), true, calNY(1700, time.January, 4, 16, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.IsSession(tt.d); got != tt.wantOpen {
				t.Errorf("IsSession(%s) = %v, want %v", tt.d, got, tt.wantOpen)
			}
			got, ok := c.Close(tt.d)
			if ok != tt.wantOpen {
				t.Fatalf("Close(%s) ok = %v, want %v", tt.d, ok, tt.wantOpen)
			}
			if !got.Equal(tt.wantClose) {
				t.Errorf("Close(%s) = %s, want %s", tt.d, got, tt.wantClose)
			}
			if ok && got.Location() != c.Location() {
				t.Errorf("Close(%s) in %s, want %s", tt.d, got.Location(), c.Location())
			}
		})
	}
}

func TestCalendarNYSECloseAcrossDST(t *testing.T) {
	t.Parallel()
	c := NewNYSECalendar()
	tests := []struct {
		d    time.Time
		want time.Time // in UTC
	}{
		{calD(2024, time.March, 8), time.Date(2024, time.March, 8, 21, 0, 0, 0, time.UTC)},         // EST
		{calD(2024, time.March, 11), time.Date(2024, time.March, 11, 20, 0, 0, 0, time.UTC)},       // EDT
		{calD(2024, time.November, 1), time.Date(2024, time.November, 1, 20, 0, 0, 0, time.UTC)},   // EDT
		{calD(2024, time.November, 4), time.Date(2024, time.November, 4, 21, 0, 0, 0, time.UTC)},   // EST
		{calD(2024, time.December, 24), time.Date(2024, time.December, 24, 18, 0, 0, 0, time.UTC)}, // 13:00 EST
	}
	for _, tt := range tests {
		got, ok := c.Close(tt.d)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("Close(%s) = %s, %v; want %s", tt.d.Format(time.DateOnly), got.UTC(), ok, tt.want)
		}
	}
}

func TestCalendarNextPrevSession(t *testing.T) {
	t.Parallel()
	c := NewNYSECalendar()
	nyMorning := func(y int, m time.Month, d int) time.Time { return calNY(y, m, d, 9, 0) }
	tests := []struct {
		name                  string
		d                     time.Time
		next, prev, onOrAfter time.Time
	}{
		{"midweek", calD(2024, time.June, 12),
			calD(2024, time.June, 13), calD(2024, time.June, 11), calD(2024, time.June, 12)},
		{"Friday", calD(2024, time.June, 14),
			calD(2024, time.June, 17), calD(2024, time.June, 13), calD(2024, time.June, 14)},
		{"Saturday", calD(2024, time.June, 15),
			calD(2024, time.June, 17), calD(2024, time.June, 14), calD(2024, time.June, 17)},
		{"Monday", calD(2024, time.June, 17),
			calD(2024, time.June, 18), calD(2024, time.June, 14), calD(2024, time.June, 17)},
		{"before Juneteenth", calD(2024, time.June, 18),
			calD(2024, time.June, 20), calD(2024, time.June, 17), calD(2024, time.June, 18)},
		{"Juneteenth", calD(2024, time.June, 19),
			calD(2024, time.June, 20), calD(2024, time.June, 18), calD(2024, time.June, 20)},
		{"Good Friday weekend", calD(2024, time.March, 30),
			calD(2024, time.April, 1), calD(2024, time.March, 28), calD(2024, time.April, 1)},
		{"across the year end", calD(2024, time.December, 31),
			calD(2025, time.January, 2), calD(2024, time.December, 30), calD(2024, time.December, 31)},
		{"Carter closure", calD(2025, time.January, 9),
			calD(2025, time.January, 10), calD(2025, time.January, 8), calD(2025, time.January, 10)},
		{"September 11 closures", calD(2001, time.September, 11),
			calD(2001, time.September, 17), calD(2001, time.September, 10), calD(2001, time.September, 17)},
		{"time of day and location ignored", nyMorning(2024, time.July, 4),
			calD(2024, time.July, 5), calD(2024, time.July, 3), calD(2024, time.July, 5)},
		{"late evening in New York stays on its own date", calNY(2024, time.July, 3, 23, 30),
			calD(2024, time.July, 5), calD(2024, time.July, 2), calD(2024, time.July, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextSession(c, tt.d); !got.Equal(tt.next) || got.Location() != time.UTC {
				t.Errorf("NextSession(%s) = %s, want %s", tt.d, got, tt.next)
			}
			if got := PrevSession(c, tt.d); !got.Equal(tt.prev) || got.Location() != time.UTC {
				t.Errorf("PrevSession(%s) = %s, want %s", tt.d, got, tt.prev)
			}
			if got := SessionOnOrAfter(c, tt.d); !got.Equal(tt.onOrAfter) || got.Location() != time.UTC {
				t.Errorf("SessionOnOrAfter(%s) = %s, want %s", tt.d, got, tt.onOrAfter)
			}
		})
	}
}

func TestCalendarSessions(t *testing.T) {
	t.Parallel()
	c := NewNYSECalendar()
	tests := []struct {
		name     string
		from, to time.Time
		want     []time.Time
	}{
		{"year end", calD(2024, time.December, 20), calD(2025, time.January, 3), []time.Time{
			calD(2024, time.December, 20), calD(2024, time.December, 23), calD(2024, time.December, 24),
			calD(2024, time.December, 26), calD(2024, time.December, 27), calD(2024, time.December, 30),
			calD(2024, time.December, 31), calD(2025, time.January, 2), calD(2025, time.January, 3),
		}},
		{"single session", calD(2024, time.June, 12), calD(2024, time.June, 12), []time.Time{calD(2024, time.June, 12)}},
		{"weekend only", calD(2024, time.June, 15), calD(2024, time.June, 16), nil},
		{"holiday only", calD(2024, time.December, 25), calD(2024, time.December, 25), nil},
		{"reversed", calD(2024, time.June, 14), calD(2024, time.June, 10), nil},
		{"times of day ignored", calNY(2024, time.June, 14, 23, 0), calNY(2024, time.June, 17, 1, 0),
			[]time.Time{calD(2024, time.June, 14), calD(2024, time.June, 17)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sessions(c, tt.from, tt.to)
			if len(got) != len(tt.want) {
				t.Fatalf("Sessions = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] { // == : dates must be canonical UTC midnights
					t.Errorf("Sessions[%d] = %s, want %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestCalendarSessionsEnding(t *testing.T) {
	t.Parallel()
	c := NewNYSECalendar()
	tests := []struct {
		name string
		last time.Time
		n    int
		want []time.Time
	}{
		{"across the new year", calD(2025, time.January, 3), 4, []time.Time{
			calD(2024, time.December, 30), calD(2024, time.December, 31), calD(2025, time.January, 2), calD(2025, time.January, 3)}},
		{"from a holiday", calD(2024, time.December, 25), 2, []time.Time{calD(2024, time.December, 23), calD(2024, time.December, 24)}},
		{"from a Sunday evening", calNY(2024, time.June, 16, 20, 0), 1, []time.Time{calD(2024, time.June, 14)}},
		{"none", calD(2024, time.June, 14), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SessionsEnding(c, tt.last, tt.n)
			if !slices.Equal(got, tt.want) { // == : dates must be canonical UTC midnights
				t.Errorf("SessionsEnding = %v, want %v", got, tt.want)
			}
		})
	}
	// A year of sessions is the tail of Sessions over the same span.
	year := SessionsEnding(c, calD(2024, time.December, 31), 252)
	if all := Sessions(c, calD(2024, time.January, 1), calD(2024, time.December, 31)); len(year) != 252 || !slices.Equal(year, all[len(all)-252:]) {
		t.Errorf("SessionsEnding(2024-12-31, 252) is not the last 252 of Sessions(2024)")
	}
	// A calendar without sessions gives what it has: nothing.
	if got := SessionsEnding(calNever{}, calD(2024, time.June, 14), 3); len(got) != 0 {
		t.Errorf("SessionsEnding on a closed calendar = %v", got)
	}
}

func TestCalendarSessionsBetween(t *testing.T) {
	t.Parallel()
	c := NewNYSECalendar()
	tests := []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"same day", calD(2024, time.June, 12), calD(2024, time.June, 12), 0},
		{"next day", calD(2024, time.June, 12), calD(2024, time.June, 13), 1},
		{"Friday to Monday", calD(2024, time.June, 14), calD(2024, time.June, 17), 1},
		{"Friday to Sunday", calD(2024, time.June, 14), calD(2024, time.June, 16), 0},
		{"Saturday to Monday", calD(2024, time.June, 15), calD(2024, time.June, 17), 1},
		{"over Juneteenth", calD(2024, time.June, 18), calD(2024, time.June, 20), 1},
		{"over the year end", calD(2024, time.December, 23), calD(2025, time.January, 3), 7},
		{"one week", calD(2024, time.June, 3), calD(2024, time.June, 10), 5},
		{"reversed", calD(2024, time.June, 17), calD(2024, time.June, 14), 0},
		{"location of inputs respected", calNY(2024, time.June, 14, 23, 0), calNY(2024, time.June, 17, 0, 30), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SessionsBetween(c, tt.from, tt.to); got != tt.want {
				t.Errorf("SessionsBetween(%s, %s) = %d, want %d", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestCalendarMostRecentClose(t *testing.T) {
	t.Parallel()
	c := NewNYSECalendar()
	tokyo := calLoadLocation(t, "Asia/Tokyo")
	utc := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		now   time.Time
		delay time.Duration
		want  time.Time
	}{
		{"Tuesday before close+delay", calNY(2024, time.June, 11, 16, 29), DefaultCloseDelay, calD(2024, time.June, 10)},
		{"Tuesday at close+delay", calNY(2024, time.June, 11, 16, 30), DefaultCloseDelay, calD(2024, time.June, 11)},
		{"Tuesday during the session", calNY(2024, time.June, 11, 11, 0), DefaultCloseDelay, calD(2024, time.June, 10)},
		{"Tuesday late evening", calNY(2024, time.June, 11, 23, 59), DefaultCloseDelay, calD(2024, time.June, 11)},
		{"early close, before close+delay", calNY(2024, time.November, 29, 13, 29), DefaultCloseDelay, calD(2024, time.November, 27)},
		{"early close, at close+delay", calNY(2024, time.November, 29, 13, 30), DefaultCloseDelay, calD(2024, time.November, 29)},
		{"holiday", calNY(2024, time.July, 4, 12, 0), DefaultCloseDelay, calD(2024, time.July, 3)},
		{"Saturday", calNY(2024, time.June, 15, 10, 0), DefaultCloseDelay, calD(2024, time.June, 14)},
		{"Sunday", calNY(2024, time.June, 16, 20, 0), DefaultCloseDelay, calD(2024, time.June, 14)},
		{"Monday morning", calNY(2024, time.June, 17, 9, 0), DefaultCloseDelay, calD(2024, time.June, 14)},
		{"Monday after a holiday weekend", calNY(2024, time.September, 3, 9, 0), DefaultCloseDelay, calD(2024, time.August, 30)},
		{"zero delay, at the close", calNY(2024, time.June, 11, 16, 0), 0, calD(2024, time.June, 11)},
		{"zero delay, just before the close", calNY(2024, time.June, 11, 15, 59), 0, calD(2024, time.June, 10)},
		{"negative delay counts as zero", calNY(2024, time.June, 11, 15, 59), -time.Hour, calD(2024, time.June, 10)},
		{"delay past midnight", calNY(2024, time.June, 12, 1, 0), 10 * time.Hour, calD(2024, time.June, 10)},
		{"delay of a day", calNY(2024, time.June, 11, 17, 0), 24 * time.Hour, calD(2024, time.June, 10)},
		// Daylight saving time starts Sunday 2024-03-10: 16:30 EST = 21:30 UTC, 16:30 EDT = 20:30 UTC.
		{"Friday before DST, UTC, before", utc(2024, time.March, 8, 21, 29), DefaultCloseDelay, calD(2024, time.March, 7)},
		{"Friday before DST, UTC, at", utc(2024, time.March, 8, 21, 30), DefaultCloseDelay, calD(2024, time.March, 8)},
		{"Monday after DST, UTC, before", utc(2024, time.March, 11, 20, 29), DefaultCloseDelay, calD(2024, time.March, 8)},
		{"Monday after DST, UTC, at", utc(2024, time.March, 11, 20, 30), DefaultCloseDelay, calD(2024, time.March, 11)},
		// Daylight saving time ends Sunday 2024-11-03.
		{"Friday before DST ends, UTC, at", utc(2024, time.November, 1, 20, 30), DefaultCloseDelay, calD(2024, time.November, 1)},
		{"Monday after DST ends, UTC, before", utc(2024, time.November, 4, 21, 29), DefaultCloseDelay, calD(2024, time.November, 1)},
		{"Monday after DST ends, UTC, at", utc(2024, time.November, 4, 21, 30), DefaultCloseDelay, calD(2024, time.November, 4)},
		{"UTC already on the next day", utc(2024, time.June, 12, 2, 0), DefaultCloseDelay, calD(2024, time.June, 11)},
		{"Tokyo already on the next day", time.Date(2024, time.June, 12, 9, 0, 0, 0, tokyo), DefaultCloseDelay, calD(2024, time.June, 11)},
		{"Tokyo Monday morning is Sunday in New York", time.Date(2024, time.June, 17, 8, 0, 0, 0, tokyo), DefaultCloseDelay, calD(2024, time.June, 14)},
		{"Christmas Eve early close", calNY(2024, time.December, 24, 14, 0), DefaultCloseDelay, calD(2024, time.December, 24)},
		{"Christmas Day", calNY(2024, time.December, 25, 18, 0), DefaultCloseDelay, calD(2024, time.December, 24)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MostRecentClose(c, tt.now, tt.delay)
			if got != tt.want {
				t.Errorf("MostRecentClose(%s, %s) = %s, want %s", tt.now, tt.delay, got, tt.want)
			}
		})
	}
}

func TestCalendarEaster(t *testing.T) {
	t.Parallel()
	tests := []time.Time{
		calD(1990, time.April, 15),
		calD(2000, time.April, 23),
		calD(2008, time.March, 23),
		calD(2011, time.April, 24),
		calD(2019, time.April, 21),
		calD(2024, time.March, 31),
		calD(2025, time.April, 20),
		calD(2038, time.April, 25),
		calD(2285, time.March, 22), // earliest possible
	}
	for _, want := range tests {
		if got := calEasterSunday(want.Year()); got != want {
			t.Errorf("Easter %d = %s, want %s", want.Year(), got.Format(time.DateOnly), want.Format(time.DateOnly))
		}
	}
}

// calWeekdays is a Calendar trading every weekday; calNever never trades.
type calWeekdays struct{}

func (calWeekdays) IsSession(d time.Time) bool {
	return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
}

func (w calWeekdays) Close(d time.Time) (time.Time, bool) {
	if !w.IsSession(d) {
		return time.Time{}, false
	}
	y, m, day := d.Date()
	return time.Date(y, m, day, 17, 0, 0, 0, time.UTC), true
}

func (calWeekdays) Location() *time.Location { return time.UTC }

type calNever struct{}

func (calNever) IsSession(time.Time) bool          { return false }
func (calNever) Close(time.Time) (time.Time, bool) { return time.Time{}, false }
func (calNever) Location() *time.Location          { return time.UTC }

func TestCalendarHelpersOnOtherCalendars(t *testing.T) {
	t.Parallel()
	w := calWeekdays{}
	if got, want := NextSession(w, calD(2024, time.July, 3)), calD(2024, time.July, 4); got != want {
		t.Errorf("NextSession = %s, want %s", got, want)
	}
	if got, want := MostRecentClose(w, time.Date(2024, time.July, 5, 17, 29, 0, 0, time.UTC), DefaultCloseDelay), calD(2024, time.July, 4); got != want {
		t.Errorf("MostRecentClose = %s, want %s", got, want)
	}
	if got, want := SessionsBetween(w, calD(2024, time.July, 1), calD(2024, time.July, 8)), 5; got != want {
		t.Errorf("SessionsBetween = %d, want %d", got, want)
	}

	// A calendar without sessions must not hang the helpers.
	n := calNever{}
	now := calD(2024, time.July, 3)
	for name, got := range map[string]time.Time{
		"NextSession":      NextSession(n, now),
		"PrevSession":      PrevSession(n, now),
		"SessionOnOrAfter": SessionOnOrAfter(n, now),
		"MostRecentClose":  MostRecentClose(n, now, DefaultCloseDelay),
	} {
		if !got.IsZero() {
			t.Errorf("%s on a calendar without sessions = %s, want the zero Time", name, got)
		}
	}
	if got := Sessions(n, now, now.AddDate(1, 0, 0)); got != nil {
		t.Errorf("Sessions on a calendar without sessions = %v, want nil", got)
	}
}

func TestCalendarNYSEZeroValueAndConcurrency(t *testing.T) {
	t.Parallel()
	var zero NYSECalendar // the zero value is usable
	if zero.Location().String() != "America/New_York" {
		t.Errorf("Location = %s, want America/New_York", zero.Location())
	}

	c := NewNYSECalendar()
	var wg sync.WaitGroup
	counts := make([]int, 8)
	for g := range counts {
		wg.Go(func() {
			// Every goroutine races to build the same years, plus one year
			// outside the array cache.
			for y := 1995; y <= 2030; y++ {
				counts[g] += len(Sessions(c, calD(y, time.January, 1), calD(y, time.December, 31)))
			}
			counts[g] += len(Sessions(c, calD(2500, time.January, 1), calD(2500, time.December, 31)))
		})
	}
	wg.Wait()
	for g := range counts {
		if counts[g] != counts[0] {
			t.Fatalf("goroutine %d counted %d sessions, goroutine 0 %d", g, counts[g], counts[0])
		}
	}
	if got, want := zero.IsSession(calD(2025, time.January, 9)), c.IsSession(calD(2025, time.January, 9)); got != want {
		t.Errorf("zero value IsSession = %v, constructed %v", got, want)
	}
}

func BenchmarkCalendarNYSEIsSession(b *testing.B) {
	c := NewNYSECalendar()
	d := calD(2024, time.June, 12)
	for b.Loop() {
		c.IsSession(d)
	}
}

func BenchmarkCalendarNYSESessions40Years(b *testing.B) {
	c := NewNYSECalendar()
	from, to := calD(1990, time.January, 1), calD(2029, time.December, 31)
	for b.Loop() {
		Sessions(c, from, to)
	}
}
