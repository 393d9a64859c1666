package batch

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sigmasight/backfill/portfolio"
)

// PriceProblem is one problem of a price or symbols file.
type PriceProblem struct {
	// Line is the physical line, from 1; 0 for problems of the whole file
	// (its size).
	Line int
	// Reason says what is wrong, naming the column and quoting the value.
	Reason string
}

// formatFileProblems formats a bad file's problems as "FILE:LINE: reason"
// lines, at most 20, then "… and N more".
func formatFileProblems(file, what string, problems []PriceProblem, more int) string {
	if len(problems) == 0 {
		return file + ": " + what
	}
	var b strings.Builder
	for i, p := range problems[:min(len(problems), errorListedProblems)] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(file)
		if p.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
		b.WriteString(p.Reason)
	}
	if n := len(problems) - errorListedProblems + more; n > 0 {
		fmt.Fprintf(&b, "\n… and %d more", n)
	}
	return b.String()
}

// fileProblems collects the problems of a price or symbols file: at most
// MaxPriceProblems, counting the rest in more.
type fileProblems struct {
	problems []PriceProblem
	more     int
}

// fail records a problem.
func (f *fileProblems) fail(line int, reason string) {
	if len(f.problems) >= MaxPriceProblems {
		f.more++
		return
	}
	f.problems = append(f.problems, PriceProblem{Line: line, Reason: reason})
}

// reset forgets the problems recorded so far.
func (f *fileProblems) reset() {
	f.problems, f.more = f.problems[:0], 0
}

// csvProblem returns the problem an error of portfolio.CSVReader reports;
// whole is true for a problem of the whole file (its size, NUL bytes,
// invalid UTF-8), and ok false for an error that is no problem of the file
// (a failed read).
func csvProblem(err error, maxBytes int64) (p PriceProblem, whole, ok bool) {
	var le *portfolio.CSVLineError
	switch {
	case errors.Is(err, portfolio.ErrCSVTooLarge):
		return PriceProblem{Reason: "larger than the limit of " + priceFormatBytes(maxBytes)}, true, true
	case !errors.As(err, &le):
		return PriceProblem{}, false, false
	case le.Err == portfolio.ErrCSVBinary || le.Err == portfolio.ErrCSVNotUTF8:
		return PriceProblem{Line: le.Line, Reason: le.Err.Error()}, true, true
	}
	return PriceProblem{Line: le.Line, Reason: malformedReason(le)}, false, true
}

// malformedReason words a quoting error as encoding/csv does, which
// price and symbol files were read with before.
func malformedReason(le *portfolio.CSVLineError) string {
	reason := "malformed CSV: " + csv.ErrQuote.Error()
	if le.Err == portfolio.ErrCSVBareQuote {
		reason = "malformed CSV: " + csv.ErrBareQuote.Error()
	}
	if le.QuoteLine != le.Line {
		reason += " (in the quoted field starting on line " + strconv.Itoa(le.QuoteLine) + ")"
	}
	return reason
}
