package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sigmasight/backfill/portfolio"
)

// A file with 250 bad rows is answered with the first 100 errors and
// total_errors 250, and nothing is written.
func TestCreatePortfolioErrorListCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var csv strings.Builder
	csv.WriteString("Symbol,Quantity,Entry Price Per Share,Entry Date\n")
	for i := range 250 {
		fmt.Fprintf(&csv, "S%03d,,10.00,2024-01-02\n", i) // ERR_POS_004: quantity missing
	}
	before := e.counts(t)
	body, ct := multipartBody(t, onboardForm("Capped", csv.String())...)
	resp, b := e.do(t, "POST", createPath, "user-1", body, ct)
	er := expectError(t, resp, b, 400, string(portfolio.CodeCSVValidation))
	var det struct {
		Errors []struct {
			Row  int    `json:"row"`
			Code string `json:"code"`
		} `json:"errors"`
		TotalErrors int `json:"total_errors"`
	}
	if err := json.Unmarshal(er.Error.Details, &det); err != nil {
		t.Fatal(err)
	}
	if len(det.Errors) != portfolio.MaxListedErrors || det.TotalErrors != 250 {
		t.Errorf("%d errors listed, total_errors %d; want %d and 250", len(det.Errors), det.TotalErrors, portfolio.MaxListedErrors)
	}
	if len(det.Errors) > 0 && (det.Errors[0].Row != 2 || det.Errors[len(det.Errors)-1].Row != 101) {
		t.Errorf("rows %d…%d listed, want the first: 2…101", det.Errors[0].Row, det.Errors[len(det.Errors)-1].Row)
	}
	if after := e.counts(t); !equalCounts(before, after) {
		t.Errorf("rows written: before %v, after %v", before, after)
	}
}
