package main

import (
	"bufio"
	"context"
	"flag"
	"time"

	"github.com/sigmasight/backfill/batch"
)

var calendarCommand = &command{
	Name:    "calendar",
	Summary: "print the NYSE trading sessions of a date range",
	Help: `Print the NYSE trading sessions from --from through --to, one per line as
YYYY-MM-DD. On an early-close day a second field gives the closing time in
New York (HH:MM); a normal session closes at 16:00:

  2024-11-27
  2024-11-29 13:00
  2024-12-02

No database is needed.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		from := fs.String("from", "", "first `DATE` (YYYY-MM-DD), included. Default 1 January of the current year")
		to := fs.String("to", "", "last `DATE` (YYYY-MM-DD), included. Default 31 December of the current year")
		return func(ctx context.Context, a *app, args []string) error {
			if err := a.checkArgs(args, 0, 0); err != nil {
				return err
			}
			cal := batch.NewNYSECalendar()
			year := a.now().In(cal.Location()).Year()
			first := time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC)
			last := time.Date(year, time.December, 31, 0, 0, 0, 0, time.UTC)
			var err error
			if *from != "" {
				if first, err = parseDate("from", *from); err != nil {
					return err
				}
			}
			if *to != "" {
				if last, err = parseDate("to", *to); err != nil {
					return err
				}
			}
			if last.Before(first) {
				return invalidf("--to %s is before --from %s", last.Format(time.DateOnly), first.Format(time.DateOnly))
			}
			return printSessions(a, cal, first, last)
		}
	},
}

// printSessions writes one line per session, with the closing time on early
// closes.
func printSessions(a *app, cal batch.Calendar, from, to time.Time) error {
	w := bufio.NewWriter(a.stdout)
	var line []byte
	for _, d := range batch.Sessions(cal, from, to) {
		line = d.AppendFormat(line[:0], time.DateOnly)
		if close, ok := cal.Close(d); ok && (close.Hour() != 16 || close.Minute() != 0) {
			line = append(line, ' ')
			line = close.AppendFormat(line, "15:04")
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return w.Flush()
}
