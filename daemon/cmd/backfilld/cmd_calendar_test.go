package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sigmasight/backfill/batch"
)

func TestCalendar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		from, to string
		want     string
	}{
		{"thanksgiving and early close", "2024-11-27", "2024-12-02", "2024-11-27\n2024-11-29 13:00\n2024-12-02\n"},
		{"independence day", "2024-07-02", "2024-07-08", "2024-07-02\n2024-07-03 13:00\n2024-07-05\n2024-07-08\n"},
		{"good friday", "2024-03-28", "2024-04-01", "2024-03-28\n2024-04-01\n"},
		{"early close before 1993 at 14:00", "1991-12-24", "1991-12-24", "1991-12-24 14:00\n"},
		{"weekend", "2024-11-30", "2024-12-01", ""},
		{"one day", "2024-11-29", "2024-11-29", "2024-11-29 13:00\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := backfilld(t, nil, "", "calendar", "--from", tt.from, "--to", tt.to)
			r.want(t, exitOK)
			if r.stdout != tt.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, tt.want)
			}
		})
	}
}

func TestCalendarAllYears(t *testing.T) {
	t.Parallel()
	start := time.Now()
	r := backfilld(t, nil, "", "calendar", "--from", "1990-01-01", "--to", "2030-12-31")
	r.want(t, exitOK)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("calendar 1990–2030 took %v", d)
	}
	cal := batch.NewNYSECalendar()
	sessions := batch.Sessions(cal, time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC))
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(sessions) {
		t.Fatalf("%d lines, want %d sessions", len(lines), len(sessions))
	}
	early := 0
	for i, line := range lines {
		date, close, hasClose := strings.Cut(line, " ")
		if date != sessions[i].Format(time.DateOnly) {
			t.Fatalf("line %d is %q, want session %s", i+1, line, sessions[i].Format(time.DateOnly))
		}
		if hasClose {
			early++
			if close == "16:00" || len(close) != 5 {
				t.Errorf("line %d: %q is not an early close", i+1, line)
			}
		}
	}
	if early < 41*2 { // at least the day after Thanksgiving and one more each year
		t.Errorf("%d early closes in 41 years, want more", early)
	}
}

func TestCalendarDefaultsToTheCurrentYear(t *testing.T) {
	t.Parallel()
	r := backfilld(t, map[string]string{"BACKFILL_NOW": "2025-06-15T12:00:00Z"}, "", "calendar")
	r.want(t, exitOK)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if first, last := lines[0], lines[len(lines)-1]; first != "2025-01-02" || last != "2025-12-31" {
		t.Errorf("first and last sessions %q, %q; want 2025-01-02 and 2025-12-31", first, last)
	}
}

func TestCalendarInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--from", "2024-13-01"}, `invalid --from "2024-13-01": use a date as YYYY-MM-DD`},
		{[]string{"--to", "11/29/2024"}, `invalid --to "11/29/2024"`},
		{[]string{"--from", "2024-12-02", "--to", "2024-11-27"}, "--to 2024-11-27 is before --from 2024-12-02"},
		{[]string{"2024"}, "takes no arguments"},
	}
	for _, tt := range tests {
		r := backfilld(t, nil, "", append([]string{"calendar"}, tt.args...)...)
		r.want(t, exitInvalid, tt.want)
		if r.stdout != "" {
			t.Errorf("%q: stdout %q, want nothing", tt.args, r.stdout)
		}
	}
}
