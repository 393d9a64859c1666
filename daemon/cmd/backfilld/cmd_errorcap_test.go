package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigmasight/backfill/portfolio"
)

// The JSON error envelopes of onboard and prices import list the first 100
// errors and count them all.
func TestJSONErrorListsCapped(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)

	var positions strings.Builder
	positions.WriteString("Symbol,Quantity,Entry Price Per Share,Entry Date\n")
	for i := range 250 {
		fmt.Fprintf(&positions, "S%03d,,10.00,2024-01-02\n", i) // quantity missing
	}
	var out struct {
		Error struct {
			Details struct {
				Errors      []struct{ Row int }
				TotalErrors int `json:"total_errors"`
			}
		}
	}
	r := backfilld(t, env, positions.String(), onboardArgs("Capped", "--json", "-")...)
	r.want(t, exitInvalid)
	r.decode(t, &out)
	if d := out.Error.Details; len(d.Errors) != portfolio.MaxListedErrors || d.TotalErrors != 250 || d.Errors[0].Row != 2 {
		t.Errorf("onboard --json lists %d errors of %d, want the first %d of 250", len(d.Errors), d.TotalErrors, portfolio.MaxListedErrors)
	}

	var prices strings.Builder
	prices.WriteString("date,symbol,close\n")
	for i := range 1500 {
		fmt.Fprintf(&prices, "2024-01-02,S%04d,x\n", i)
	}
	path := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(path, []byte(prices.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var pout struct {
		Error struct {
			Problems    []struct{ Line int }
			More        int
			TotalErrors int `json:"total_errors"`
		}
	}
	r = backfilld(t, env, "", "prices", "import", "--json", path)
	r.want(t, exitInvalid)
	r.decode(t, &pout)
	if e := pout.Error; len(e.Problems) != portfolio.MaxListedErrors || e.More != 1400 || e.TotalErrors != 1500 || e.Problems[0].Line != 2 {
		t.Errorf("prices import --json lists %d problems, more %d, total %d; want 100, 1400, 1500", len(e.Problems), e.More, e.TotalErrors)
	}
}
