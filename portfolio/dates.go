package portfolio

import (
	"errors"
	"time"
)

// epochDay returns the days since 1970-01-01 of a UTC midnight.
func epochDay(t time.Time) int32 {
	return int32(t.Unix() / 86400)
}

// Errors of ParseDate.
var (
	// ErrDateFormat: the text is not exactly YYYY-MM-DD.
	ErrDateFormat = errors.New("is not in the form YYYY-MM-DD")
	// ErrDateInvalid: the text has the form but names no calendar date
	// (month 13, February 30, year 0).
	ErrDateInvalid = errors.New("is not a real date")
)

// ParseDate parses exactly YYYY-MM-DD as a real calendar date at UTC
// midnight: the strict date syntax of position and price files.
func ParseDate(s string) (time.Time, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, ErrDateFormat
	}
	y, ok1 := csvAtoi(s[0:4])
	m, ok2 := csvAtoi(s[5:7])
	d, ok3 := csvAtoi(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, ErrDateFormat
	}
	// PostgreSQL has no year 0.
	if y == 0 || m < 1 || m > 12 || d < 1 || d > csvDaysInMonth(y, m) {
		return time.Time{}, ErrDateInvalid
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
}

// parseCSVDate is ParseDate reporting only success.
func parseCSVDate(s string) (time.Time, bool) {
	t, err := ParseDate(s)
	return t, err == nil
}

// csvAtoi parses a string of ASCII digits only.
func csvAtoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// csvDaysInMonth returns the number of days of month m (1-12) of year y in the
// proleptic Gregorian calendar.
func csvDaysInMonth(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
