package main

import (
	"os"
	"regexp"
	"testing"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
)

// onboardArgs are the flags of a valid onboarding of account.
func onboardArgs(account string, extra ...string) []string {
	args := []string{"onboard", "--owner", "user-42", "--portfolio-name", "Retirement", "--account-name", account,
		"--account-type", "ira", "--equity", "250000"}
	return append(args, extra...)
}

func TestOnboard(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)

	r := backfilld(t, env, "", onboardArgs("Schwab IRA", "testdata/onboard/valid.csv")...)
	r.want(t, exitOK, "Onboarded portfolio ", "inception date:", "2024-01-02", "(pending)", "backfilld calculate --wait ")
	if !regexp.MustCompile(`positions imported:\s+2\n`).MatchString(r.stdout) {
		t.Errorf("no count of positions:\n%s", r.stdout)
	}

	var res portfolio.OnboardResult
	r = backfilld(t, env, "", onboardArgs("Fidelity", "--json", "--description", "from the CLI", "testdata/onboard/valid.csv")...)
	r.want(t, exitOK)
	r.decode(t, &res)
	if res.PortfolioID == uuid.Nil || res.RunID == uuid.Nil || res.PositionsImported != 2 || res.AccountName != "Fidelity" ||
		res.NextStep.Action != "calculate" {
		t.Errorf("onboard --json = %+v", res)
	}

	// Standard input, without a backfill request.
	csv, err := os.ReadFile("testdata/onboard/valid.csv")
	if err != nil {
		t.Fatal(err)
	}
	r = backfilld(t, env, string(csv), onboardArgs("Vanguard", "--no-calculate", "--json", "-")...)
	r.want(t, exitOK)
	res = portfolio.OnboardResult{}
	r.decode(t, &res)
	if res.PositionsImported != 2 || res.RunID != uuid.Nil {
		t.Errorf("onboard --no-calculate - = %+v", res)
	}
	backfilld(t, env, string(csv), onboardArgs("Vanguard 2", "--no-calculate", "-")...).want(t, exitOK, "none requested (--no-calculate)")
}

func TestOnboardValidationErrors(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)

	r := backfilld(t, env, "", onboardArgs("Schwab IRA", "testdata/onboard/invalid.csv")...)
	r.want(t, exitInvalid, "ERR_PORT_008", "nothing was written", "ROW", "LINE", "FIELD", "CODE", "MESSAGE", "ERR_POS_005", "ERR_POS_010")
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
	if !regexp.MustCompile(`(?m)^\s+2\s+2\s+Quantity\s+ERR_POS_005\s`).MatchString(r.stderr) {
		t.Errorf("no row for the quantity error:\n%s", r.stderr)
	}

	var env2 struct {
		Error struct {
			Code    portfolio.Code
			Message string
			Details struct {
				Errors      []portfolio.FieldError
				TotalErrors int `json:"total_errors"`
			}
		}
	}
	r = backfilld(t, env, "", onboardArgs("Schwab IRA", "--json", "testdata/onboard/invalid.csv")...)
	r.want(t, exitInvalid)
	r.decode(t, &env2)
	e := env2.Error
	if e.Code != portfolio.CodeCSVValidation || e.Message == "" || e.Details.TotalErrors != 2 || len(e.Details.Errors) != 2 ||
		e.Details.Errors[0].Code != portfolio.CodePos005 || e.Details.Errors[0].Row != 2 || e.Details.Errors[1].Code != portfolio.CodePos010 {
		t.Errorf("error envelope = %+v", e)
	}

	// A field of the request, not of the file.
	backfilld(t, env, "", "onboard", "--owner", "u", "--portfolio-name", "P", "--account-name", "A", "--account-type", "brokerage",
		"--equity", "1000", "testdata/onboard/valid.csv").want(t, exitInvalid, "ERR_PORT_009")
}

func TestOnboardDuplicateAccount(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	backfilld(t, env, "", onboardArgs("Schwab IRA", "testdata/onboard/valid.csv")...).want(t, exitOK)

	r := backfilld(t, env, "", onboardArgs("Schwab IRA", "testdata/onboard/valid.csv")...)
	r.want(t, exitInvalid, "ERR_PORT_001", "nothing was written")

	var env2 struct {
		Error struct {
			Code    portfolio.Code
			Details struct {
				TotalErrors int `json:"total_errors"`
			}
		}
	}
	r = backfilld(t, env, "", onboardArgs("Schwab IRA", "--json", "testdata/onboard/valid.csv")...)
	r.want(t, exitInvalid)
	r.decode(t, &env2)
	if env2.Error.Code != portfolio.CodePort001 || env2.Error.Details.TotalErrors != 1 {
		t.Errorf("error envelope = %+v", env2.Error)
	}
}

func TestOnboardUsage(t *testing.T) {
	t.Parallel()
	// No database is needed to reject a command line.
	env := map[string]string{"DATABASE_URL": "postgres://nowhere.invalid/db"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing flags", []string{"onboard", "--owner", "u", "x.csv"},
			[]string{"missing --portfolio-name, --account-name, --account-type, --equity", "usage: backfilld onboard [flags] FILE.csv", "backfilld onboard --help"}},
		{"missing file", onboardArgs("A"), []string{"missing FILE.csv", "usage: backfilld onboard"}},
		{"two files", onboardArgs("A", "a.csv", "b.csv"), []string{`unexpected argument "b.csv"`}},
		{"no such file", onboardArgs("A", "testdata/onboard/nope.csv"), []string{"nope.csv: no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			backfilld(t, env, "", tt.args...).want(t, exitInvalid, tt.want...)
		})
	}
}
