package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sigmasight/backfill/portfolio"
)

// TestCreatePortfolioFromBrokerExport: the old client uploads the broker's
// raw export as csv_file and it is recognised and onboarded.
func TestCreatePortfolioFromBrokerExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join("..", "..", "portfolio", "testdata", "broker", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	var res createResponse
	e.create(t, "owner-1", onboardForm("Schwab", read("schwab_older.csv")), 201, &res)
	if res.Format != portfolio.FormatSchwab || res.PositionsImported != 7 || res.InceptionDate.Format("2006-01-02") != "2024-01-12" {
		t.Errorf("schwab export: %+v", res.OnboardResult)
	}
	res = createResponse{}
	e.create(t, "owner-1", onboardForm("Vanguard", read("vanguard_download.csv"),
		part{name: "format", value: "vanguard"}, part{name: "entry_date", value: "2024-01-02"}), 201, &res)
	if res.Format != portfolio.FormatVanguard || res.PositionsImported != 3 || res.FlowsImported != 3 {
		t.Errorf("vanguard export: %+v", res.OnboardResult)
	}

	before := e.counts(t)
	body, ct := multipartBody(t, onboardForm("Vanguard 2", read("vanguard_download.csv"))...)
	resp, out := e.do(t, "POST", "/api/v1/onboarding/create-portfolio", "owner-1", body, ct)
	expectError(t, resp, out, 400, string(portfolio.CodePos012)) // no entry date and none in the export
	body, ct = multipartBody(t, onboardForm("Vanguard 2", read("vanguard_download.csv"), part{name: "format", value: "quicken"})...)
	resp, out = e.do(t, "POST", "/api/v1/onboarding/create-portfolio", "owner-1", body, ct)
	expectError(t, resp, out, 400, string(portfolio.CodeFormat001))
	body, ct = multipartBody(t, onboardForm("Vanguard 2", read("vanguard_download.csv"), part{name: "entry_date", value: "01/02/2024"})...)
	resp, out = e.do(t, "POST", "/api/v1/onboarding/create-portfolio", "owner-1", body, ct)
	expectError(t, resp, out, 400, errInvalidParameter)
	body, ct = multipartBody(t, onboardForm("Unknown", "Ticker|Units\nAAPL|5\n")...)
	resp, out = e.do(t, "POST", "/api/v1/onboarding/create-portfolio", "owner-1", body, ct)
	expectError(t, resp, out, 400, string(portfolio.CodeFormat001))
	if after := e.counts(t); !equalCounts(before, after) {
		t.Errorf("rejected uploads wrote rows: %v → %v", before, after)
	}
}
