package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
)

// onboarded is a template portfolio of owner, backfilled through lastDay.
type onboarded struct {
	id    uuid.UUID
	owner string
	base  string // /api/v1/portfolios/{id}
	an    string // /api/v1/analytics/portfolio/{id}/
}

func (e *env) onboardTemplate(t *testing.T, owner, account string) onboarded {
	t.Helper()
	var created createResult
	e.create(t, owner, onboardForm(account, string(csvTemplate)), http.StatusCreated, &created)
	o := onboarded{id: created.PortfolioID, owner: owner, base: "/api/v1/portfolios/" + created.PortfolioID.String(),
		an: "/api/v1/analytics/portfolio/" + created.PortfolioID.String() + "/"}
	if st := e.pollRun(t, fmt.Sprintf("%s/batch-status/%s", o.base, created.BatchRunID), owner); st.Status != "completed" {
		t.Fatalf("onboarding run: %+v", st)
	}
	return o
}

// jsonBody encodes v as a request body.
func jsonBody(t testing.TB, v any) *bytes.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// snapshotsByDay reads the stored snapshots through the library.
func (e *env) snapshotsByDay(t testing.TB, id uuid.UUID) map[string]*portfolio.Snapshot {
	t.Helper()
	list, err := e.client.SnapshotList(context.Background(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*portfolio.Snapshot{}
	for _, s := range list {
		out[s.Date.Format(time.DateOnly)] = s
	}
	return out
}

// waitRecomputed waits until the portfolio is current again after a
// change: its state is current, its watermark is back at lastDay and no
// run is pending or running.
func (e *env) waitRecomputed(t testing.TB, id uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := e.client.PortfolioGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		active, err := e.client.RunList(ctx, &portfolio.RunListParams{PortfolioID: id,
			Statuses: []portfolio.RunStatus{portfolio.RunPending, portfolio.RunRunning}})
		if err != nil {
			t.Fatal(err)
		}
		if p.State == "current" && p.SnapshotThrough != nil && p.SnapshotThrough.Format(time.DateOnly) == lastDay && len(active.Runs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("portfolio %s not recomputed after 60s: state %s, through %v, %d active runs", id, p.State, p.SnapshotThrough, len(active.Runs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRewound checks that the days before from kept their rows (same
// run, same values) and the days from it on were rewritten by a later
// run.
func checkRewound(t *testing.T, before, after map[string]*portfolio.Snapshot, from string) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("%d snapshots before the change, %d after", len(before), len(after))
	}
	for day, b := range before {
		a := after[day]
		same := a.BatchRunID != nil && b.BatchRunID != nil && *a.BatchRunID == *b.BatchRunID && a.ComputedAt.Equal(b.ComputedAt)
		switch {
		case day < from && !same:
			t.Errorf("%s, before the change on %s, was rewritten", day, from)
		case day >= from && same:
			t.Errorf("%s, on or after the change on %s, was not recomputed", day, from)
		}
	}
}

// TestReadAndChangeRoutes is the read API end to end: onboard, read every
// analytics route for the latest day and an as_of day against the stored
// values, record, change and delete a capital flow, close a position and
// add positions — each recomputing exactly the days from the change on —
// and check that other owners and callers without the admin token get 404.
// Every response is validated against openapi.json (env.api).
func TestReadAndChangeRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadPrices()
	e.startReconciler()
	ctx := context.Background()
	o := e.onboardTemplate(t, "alice", "Brokerage")
	const other = "mallory"

	// Analytics of the latest day are the stored values.
	stored := e.snapshotsByDay(t, o.id)
	last := stored[lastDay]
	if last == nil {
		t.Fatalf("no snapshot on %s", lastDay)
	}
	var ov struct {
		Available       bool    `json:"available"`
		CalculationDate string  `json:"calculation_date"`
		TotalValue      float64 `json:"total_value"`
		CashBalance     float64 `json:"cash_balance"`
		Exposures       map[string]float64
		PnL             map[string]float64 `json:"pnl"`
		Count           map[string]int     `json:"position_count"`
	}
	e.doJSON(t, "GET", o.an+"overview", o.owner, nil, "", http.StatusOK, &ov)
	if !ov.Available || ov.CalculationDate != lastDay || ov.TotalValue != last.NAV || ov.CashBalance != last.Cash ||
		ov.Exposures["gross_exposure"] != last.GrossExposure || ov.PnL["total_pnl"] != last.CumulativePnL ||
		ov.Count["total_positions"] != last.NumPositions || ov.Count["option_count"] != 2 {
		t.Errorf("overview %+v, stored %+v", ov, last)
	}
	if got, want := ov.Exposures["gross_percentage"], last.GrossExposure/last.NAV*100; math.Abs(got-want) > 1e-9 {
		t.Errorf("gross_percentage %v, want %v", got, want)
	}

	// … and of an as_of day.
	asOf := e.sessions[len(e.sessions)-20].Format(time.DateOnly)
	e.doJSON(t, "GET", o.an+"overview?as_of="+asOf, o.owner, nil, "", http.StatusOK, &ov)
	if !ov.Available || ov.CalculationDate != asOf || ov.TotalValue != stored[asOf].NAV {
		t.Errorf("overview as_of %s: %+v, stored NAV %v", asOf, ov, stored[asOf].NAV)
	}
	var factors struct {
		Available bool         `json:"available"`
		Factors   []factorItem `json:"factors"`
	}
	e.doJSON(t, "GET", o.an+"factor-exposures?as_of="+asOf, o.owner, nil, "", http.StatusOK, &factors)
	want, err := e.client.FactorExposureList(ctx, o.id, stored[asOf].Date)
	if err != nil {
		t.Fatal(err)
	}
	wantBeta := map[string]float64{}
	for _, f := range want {
		if f.Exposure != nil && !isSpread(f.Factor) {
			wantBeta[f.Factor] = *f.Exposure
		}
	}
	if !factors.Available || len(factors.Factors) != len(wantBeta) || len(wantBeta) == 0 {
		t.Errorf("factor-exposures %+v, want %v", factors, wantBeta)
	}
	for _, f := range factors.Factors {
		if f.Beta != wantBeta[f.Name] {
			t.Errorf("factor %s: beta %v, stored %v", f.Name, f.Beta, wantBeta[f.Name])
		}
	}
	var vol struct {
		Available bool           `json:"available"`
		Data      map[string]any `json:"data"`
	}
	e.doJSON(t, "GET", o.an+"volatility", o.owner, nil, "", http.StatusOK, &vol)
	if !vol.Available || vol.Data["realized_volatility_21d"] != *last.Volatility21d {
		t.Errorf("volatility %+v, stored %v", vol, last.Volatility21d)
	}
	var beta struct {
		Available bool           `json:"available"`
		Data      map[string]any `json:"data"`
	}
	e.doJSON(t, "GET", o.an+"beta-calculated-90d", o.owner, nil, "", http.StatusOK, &beta)
	if !beta.Available || beta.Data["beta_calculated_90d"] == nil {
		t.Errorf("beta-calculated-90d %+v", beta)
	}
	for _, name := range []string{"market-beta", "spread-factors", ""} {
		var out map[string]any
		e.doJSON(t, "GET", o.an+name, o.owner, nil, "", http.StatusOK, &out)
	}

	// Days not computed, and analytics this schema does not have, answer
	// available: false with the reason.
	var un unavailable
	e.doJSON(t, "GET", o.an+"overview?as_of=2025-04-26", o.owner, nil, "", http.StatusOK, &un) // a Saturday
	if un.Available || un.Metadata["reason"] != reasonNotComputed || un.Metadata["error"] == "" {
		t.Errorf("overview of a Saturday: %+v", un)
	}
	for _, name := range []string{"stress-test?scenarios=covid,gfc", "correlation-matrix", "diversification-score",
		"sector-exposure", "concentration", "positions/factor-exposures"} {
		var out map[string]any
		e.doJSON(t, "GET", o.an+name, o.owner, nil, "", http.StatusOK, &out)
		if md, _ := out["metadata"].(map[string]any); out["available"] != true && md["reason"] != reasonInsufficientData {
			t.Errorf("%s: %v, want available, or unavailable for want of data", name, out)
		}
	}

	// A contribution rewinds exactly the days from its date on.
	flowDay := e.sessions[len(e.sessions)-10].Format(time.DateOnly)
	var change equityChange
	e.doJSON(t, "POST", o.base+"/equity-changes", o.owner,
		jsonBody(t, map[string]any{"change_type": "CONTRIBUTION", "amount": 10000, "change_date": flowDay, "notes": "bonus"}),
		"application/json", http.StatusCreated, &change)
	if change.ChangeType != changeContribution || change.Amount.String() != "10000" || change.ChangeDate != flowDay ||
		change.Notes == nil || *change.Notes != "bonus" {
		t.Errorf("created equity change %+v", change)
	}
	e.waitRecomputed(t, o.id)
	after := e.snapshotsByDay(t, o.id)
	checkRewound(t, stored, after, flowDay)
	if got := after[flowDay]; got.CapitalFlow != 10000 || math.Abs(got.NAV-stored[flowDay].NAV-10000) > 1e-6 {
		t.Errorf("%s after the contribution: flow %v, NAV %v (was %v)", flowDay, got.CapitalFlow, got.NAV, stored[flowDay].NAV)
	}
	e.doJSON(t, "GET", o.an+"overview", o.owner, nil, "", http.StatusOK, &ov)
	if math.Abs(ov.TotalValue-last.NAV-10000) > 1e-6 {
		t.Errorf("overview after the contribution: NAV %v, was %v", ov.TotalValue, last.NAV)
	}

	// Moving it later and making it a withdrawal recomputes from the
	// earlier of the two dates.
	movedDay := e.sessions[len(e.sessions)-5].Format(time.DateOnly)
	before := after
	e.doJSON(t, "PUT", o.base+"/equity-changes/"+change.ID.String(), o.owner,
		jsonBody(t, map[string]any{"change_type": "WITHDRAWAL", "amount": "2500.50", "change_date": movedDay}),
		"application/json", http.StatusOK, &change)
	if change.ChangeType != changeWithdrawal || change.Amount.String() != "2500.5" || change.ChangeDate != movedDay {
		t.Errorf("updated equity change %+v", change)
	}
	e.waitRecomputed(t, o.id)
	after = e.snapshotsByDay(t, o.id)
	checkRewound(t, before, after, flowDay)
	if after[flowDay].CapitalFlow != 0 || after[movedDay].CapitalFlow != -2500.5 {
		t.Errorf("flows after the update: %s %v, %s %v", flowDay, after[flowDay].CapitalFlow, movedDay, after[movedDay].CapitalFlow)
	}
	var list struct {
		Items      []equityChange `json:"items"`
		TotalItems int            `json:"total_items"`
	}
	e.doJSON(t, "GET", o.base+"/equity-changes", o.owner, nil, "", http.StatusOK, &list)
	if list.TotalItems != 1 || len(list.Items) != 1 || list.Items[0].ID != change.ID {
		t.Errorf("equity changes %+v", list)
	}
	e.doJSON(t, "GET", o.base+"/equity-changes/"+change.ID.String(), o.owner, nil, "", http.StatusOK, &change)

	// Deleting it restores the original values from its day on.
	before = after
	var deleted map[string]any
	e.doJSON(t, "DELETE", o.base+"/equity-changes/"+change.ID.String(), o.owner, nil, "", http.StatusOK, &deleted)
	e.waitRecomputed(t, o.id)
	after = e.snapshotsByDay(t, o.id)
	checkRewound(t, before, after, movedDay)
	if math.Abs(after[lastDay].NAV-last.NAV) > 1e-6 {
		t.Errorf("NAV after deleting the flow %v, originally %v", after[lastDay].NAV, last.NAV)
	}
	resp, b := e.do(t, "GET", o.base+"/equity-changes/"+change.ID.String(), o.owner, nil, "")
	expectError(t, resp, b, http.StatusNotFound, errNotFound)

	// Closing a position realizes its P&L on the exit day and recomputes
	// from there.
	var positions struct {
		Positions []portfolio.StoredPosition `json:"positions"`
	}
	e.doJSON(t, "GET", o.base+"/positions", o.owner, nil, "", http.StatusOK, &positions)
	var msft *portfolio.StoredPosition
	for i := range positions.Positions {
		if positions.Positions[i].Symbol == "MSFT" {
			msft = &positions.Positions[i]
		}
	}
	if msft == nil || len(positions.Positions) != 10 {
		t.Fatalf("positions %+v", positions)
	}
	exitDay := e.sessions[len(e.sessions)-3].Format(time.DateOnly)
	before = after
	var closed portfolio.StoredPosition
	e.doJSON(t, "PATCH", o.base+"/positions/"+msft.ID.String(), o.owner,
		jsonBody(t, map[string]any{"exit_date": exitDay, "exit_price": 400}), "application/json", http.StatusOK, &closed)
	if closed.ExitDate == nil || closed.ExitDate.Format(time.DateOnly) != exitDay || closed.ExitPrice.String() != "400" {
		t.Errorf("closed position %+v", closed)
	}
	e.waitRecomputed(t, o.id)
	after = e.snapshotsByDay(t, o.id)
	checkRewound(t, before, after, exitDay)
	if after[exitDay].DailyRealizedPnL == before[exitDay].DailyRealizedPnL || after[exitDay].NumPositions != before[exitDay].NumPositions-1 {
		t.Errorf("exit day %s: realized %v (was %v), positions %d (was %d)", exitDay, after[exitDay].DailyRealizedPnL,
			before[exitDay].DailyRealizedPnL, after[exitDay].NumPositions, before[exitDay].NumPositions)
	}
	resp, b = e.do(t, "PATCH", o.base+"/positions/"+msft.ID.String(), o.owner,
		jsonBody(t, map[string]any{"exit_date": "2025-01-02", "exit_price": 400}), "application/json")
	expectError(t, resp, b, http.StatusBadRequest, string(portfolio.CodePos018))

	// Adding positions (JSON) recomputes from the earliest entry.
	addDay := e.sessions[len(e.sessions)-8].Format(time.DateOnly)
	before = after
	var added map[string]any
	e.doJSON(t, "POST", o.base+"/positions", o.owner, jsonBody(t, map[string]any{"positions": []map[string]any{
		{"symbol": "MSFT", "quantity": 10, "entry_price": "380.25", "entry_date": addDay},
	}}), "application/json", http.StatusCreated, &added)
	if added["positions_imported"] != 1.0 || added["recompute_from"] != addDay {
		t.Errorf("added positions %v", added)
	}
	e.waitRecomputed(t, o.id)
	after = e.snapshotsByDay(t, o.id)
	checkRewound(t, before, after, addDay)
	// A bad row writes nothing.
	resp, b = e.do(t, "POST", o.base+"/positions", o.owner, jsonBody(t, map[string]any{"positions": []map[string]any{
		{"symbol": "IBM", "quantity": 1, "entry_price": -5, "entry_date": addDay},
	}}), "application/json")
	expectError(t, resp, b, http.StatusBadRequest, string(portfolio.CodePort008))
	// … and a CSV upload works like create-portfolio's.
	e.doJSON(t, "POST", o.base+"/positions", o.owner,
		strings.NewReader("Symbol,Quantity,Entry Price Per Share,Entry Date\nAAPL,5,200,"+lastDay+"\n"), "text/csv", http.StatusCreated, &added)
	e.waitRecomputed(t, o.id)

	// Another owner sees none of it.
	for _, r := range []struct{ method, path string }{
		{"GET", o.base}, {"DELETE", o.base}, {"GET", o.base + "/equity-changes"}, {"POST", o.base + "/equity-changes"},
		{"GET", o.base + "/positions"}, {"POST", o.base + "/positions"}, {"PATCH", o.base + "/positions/" + msft.ID.String()},
		{"GET", o.an + "overview"}, {"GET", o.an + "volatility"}, {"GET", o.an + "stress-test"}, {"GET", o.an},
	} {
		resp, b := e.do(t, r.method, r.path, other, jsonBody(t, map[string]any{}), "application/json")
		expectError(t, resp, b, http.StatusNotFound, errNotFound)
	}
	var mine struct {
		Portfolios []portfolio.Portfolio `json:"portfolios"`
	}
	e.doJSON(t, "GET", "/api/v1/portfolios", other, nil, "", http.StatusOK, &mine)
	if len(mine.Portfolios) != 0 {
		t.Errorf("another owner lists %+v", mine.Portfolios)
	}
	e.doJSON(t, "GET", "/api/v1/portfolios", o.owner, nil, "", http.StatusOK, &mine)
	if len(mine.Portfolios) != 1 || mine.Portfolios[0].ID != o.id || mine.Portfolios[0].State != "current" {
		t.Errorf("owner lists %+v", mine.Portfolios)
	}

	// Soft delete: gone for the owner, history kept.
	e.doJSON(t, "DELETE", o.base, o.owner, nil, "", http.StatusOK, &deleted)
	resp, b = e.do(t, "GET", o.base, o.owner, nil, "")
	expectError(t, resp, b, http.StatusNotFound, errNotFound)
	resp, b = e.do(t, "GET", o.an+"overview", o.owner, nil, "")
	expectError(t, resp, b, http.StatusNotFound, errNotFound)
	if p, err := e.client.PortfolioGet(ctx, o.id); err != nil || p.DeletedAt == nil {
		t.Errorf("deleted portfolio: %+v, %v", p, err)
	}

	// Every documented operation of the owner routes was exercised and
	// validated.
	seen := strings.Join(e.api.validated(), "\n")
	for _, op := range []string{"PUT /api/v1/portfolios/{id}/equity-changes/{change_id}", "PATCH /api/v1/portfolios/{id}/positions/{position_id}",
		"GET /api/v1/analytics/portfolio/{id}/spread-factors", "DELETE /api/v1/portfolios/{id}"} {
		if !strings.Contains(seen, op) {
			t.Errorf("no response of %s validated; validated:\n%s", op, seen)
		}
	}
}

// TestAdminRoutes: 404 without a configured token or without sending it;
// with it, the history pages newest first, one run, the current runs,
// requesting runs and retrying quarantined portfolios.
func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadPrices()
	e.startReconciler()
	a := e.onboardTemplate(t, "alice", "A")
	b := e.onboardTemplate(t, "bob", "B")
	admin := func(method, path string, body any, want int, out any) {
		t.Helper()
		var r *bytes.Reader
		if body != nil {
			r = jsonBody(t, body)
		} else {
			r = bytes.NewReader(nil)
		}
		req, err := http.NewRequest(method, e.srv.URL+path, r)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: status %d, want %d", method, path, resp.StatusCode, want)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}

	// Without the token (none sent, or a wrong one) the routes do not exist.
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/admin/batch/history"}, {"GET", "/api/v1/admin/batch/history/" + uuid.NewString()},
		{"GET", "/api/v1/admin/batch/run/current"}, {"POST", "/api/v1/admin/batch/run"}, {"POST", "/api/v1/admin/batch/retry"},
	} {
		resp, body := e.do(t, r.method, r.path, "alice", nil, "")
		expectError(t, resp, body, http.StatusNotFound, errNotFound)
		req, _ := http.NewRequest(r.method, e.srv.URL+r.path, nil)
		req.Header.Set("Authorization", "Bearer wrong")
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s with a wrong token: %d", r.method, r.path, resp.StatusCode)
		}
	}
	// And a server without a configured token 404s even with one.
	noAdmin := newServer(e.client, serverOptions{Reconciler: e.rec})
	req, _ := http.NewRequest("GET", "/api/v1/admin/batch/history", nil)
	req.Header.Set("Authorization", "Bearer ")
	rec := httptest.NewRecorder()
	noAdmin.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("no token configured: status %d", rec.Code)
	}

	// Request runs for both, then page through the history newest first.
	var requested struct {
		Requested int              `json:"requested"`
		Runs      []*portfolio.Run `json:"runs"`
	}
	admin("POST", "/api/v1/admin/batch/run", nil, http.StatusAccepted, &requested)
	if requested.Requested != 2 {
		t.Errorf("requested %+v", requested)
	}
	e.waitRecomputed(t, a.id)
	e.waitRecomputed(t, b.id)
	var page runPage
	admin("GET", "/api/v1/admin/batch/history?limit=3", nil, http.StatusOK, &page)
	if len(page.Runs) != 3 || page.NextCursor == nil {
		t.Fatalf("first page %+v", page)
	}
	all, cursor := page.Runs, *page.NextCursor
	page = runPage{} // a fresh slice: decoding reuses the old one's array
	admin("GET", "/api/v1/admin/batch/history?limit=3&cursor="+cursor, nil, http.StatusOK, &page)
	all = append(all, page.Runs...)
	if len(all) != 4 || page.NextCursor != nil {
		t.Fatalf("history: %d runs, next %v; want the 2 onboarding and 2 manual runs", len(all), page.NextCursor)
	}
	for i := 1; i < len(all); i++ {
		if all[i].RequestedAt.After(all[i-1].RequestedAt) {
			t.Errorf("history not newest first at %d", i)
		}
	}
	if all[0].Trigger != "manual" || all[3].Trigger != "onboarding" {
		t.Errorf("history triggers %s … %s", all[0].Trigger, all[3].Trigger)
	}
	admin("GET", "/api/v1/admin/batch/history?portfolio_id="+a.id.String(), nil, http.StatusOK, &page)
	if len(page.Runs) != 2 || page.Runs[0].PortfolioID != a.id {
		t.Errorf("history of one portfolio %+v", page)
	}
	var one batchStatusResponse
	admin("GET", "/api/v1/admin/batch/history/"+all[1].BatchRunID.String(), nil, http.StatusOK, &one)
	if one.BatchRunID != all[1].BatchRunID || one.Status != "completed" {
		t.Errorf("one run %+v", one)
	}
	var current map[string]any
	admin("GET", "/api/v1/admin/batch/run/current", nil, http.StatusOK, &current)
	if current["running"] != 0.0 || current["pending"] != 0.0 {
		t.Errorf("current %v", current)
	}

	// Quarantine b by hand, as repeated failures would, then retry.
	if _, err := e.db.Pool.Exec(context.Background(),
		`UPDATE backfill.backfill_state SET status = 'quarantined', attempts = 8, last_error = 'boom' WHERE portfolio_id = $1`, b.id); err != nil {
		t.Fatal(err)
	}
	var retried struct {
		Retried      int         `json:"retried"`
		PortfolioIDs []uuid.UUID `json:"portfolio_ids"`
	}
	admin("POST", "/api/v1/admin/batch/retry", nil, http.StatusOK, &retried)
	if retried.Retried != 1 || len(retried.PortfolioIDs) != 1 || retried.PortfolioIDs[0] != b.id {
		t.Errorf("retried %+v", retried)
	}
	e.waitRecomputed(t, b.id)
	admin("POST", "/api/v1/admin/batch/retry", map[string]any{"portfolio_ids": []uuid.UUID{a.id}}, http.StatusOK, &retried)
	if retried.Retried != 1 {
		t.Errorf("retried %+v", retried)
	}
	admin("POST", "/api/v1/admin/batch/run", map[string]any{"portfolio_ids": []uuid.UUID{b.id, uuid.New()}}, http.StatusAccepted, &requested)
	if requested.Requested != 1 {
		t.Errorf("requested %+v", requested)
	}
	for _, op := range []string{"GET /api/v1/admin/batch/history", "GET /api/v1/admin/batch/history/{run_id}",
		"GET /api/v1/admin/batch/run/current", "POST /api/v1/admin/batch/run", "POST /api/v1/admin/batch/retry"} {
		if !strings.Contains(strings.Join(e.api.validated(), "\n"), op) {
			t.Errorf("no response of %s validated", op)
		}
	}
}

// TestAnalyticsOfLaterSchema: the routes over the analytics the risk and
// reference-data migrations add answer with the stored values.
func TestAnalyticsOfLaterSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadPrices()
	e.startReconciler()
	o := e.onboardTemplate(t, "alice", "Brokerage")
	ctx := context.Background()
	last, err := e.client.SnapshotGet(ctx, o.id, time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	var conc struct {
		Available bool           `json:"available"`
		Data      map[string]any `json:"data"`
	}
	e.doJSON(t, "GET", o.an+"concentration", o.owner, nil, "", http.StatusOK, &conc)
	hhi, ok := last.ExtraFloat("hhi")
	if !ok || !conc.Available || conc.Data["hhi"] != hhi {
		t.Errorf("concentration %+v, stored hhi %v (%v)", conc, hhi, ok)
	}

	stored, err := e.client.AnalyticsRows(ctx, portfolio.RelationStressTests, o.id, last.Date)
	if err != nil {
		t.Fatal(err)
	}
	// Scenarios whose correlated impact could not be computed (a shocked
	// factor no holding covers) have no impact to report.
	var rows []portfolio.Row
	for _, r := range stored {
		if rowFloat(r, "correlated_pnl") != nil {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		t.Fatalf("no stored stress test with an impact among %d", len(stored))
	}
	first := *rowString(rows[0], "scenario")
	var stress struct {
		Available bool `json:"available"`
		Data      struct {
			Scenarios      []stressItem `json:"scenarios"`
			PortfolioValue float64      `json:"portfolio_value"`
		} `json:"data"`
	}
	e.doJSON(t, "GET", o.an+"stress-test", o.owner, nil, "", http.StatusOK, &stress)
	if !stress.Available || len(stress.Data.Scenarios) != len(rows) || stress.Data.PortfolioValue != last.NAV {
		t.Errorf("stress-test: %d scenarios (stored %d), value %v", len(stress.Data.Scenarios), len(rows), stress.Data.PortfolioValue)
	}
	e.doJSON(t, "GET", o.an+"stress-test?scenarios="+first, o.owner, nil, "", http.StatusOK, &stress)
	if len(stress.Data.Scenarios) != 1 || stress.Data.Scenarios[0].ID != first ||
		math.Abs(stress.Data.Scenarios[0].Impact.NewPortfolioValue-last.NAV-stress.Data.Scenarios[0].Impact.DollarImpact) > 1e-6 {
		t.Errorf("stress-test?scenarios=%s: %+v", first, stress.Data.Scenarios)
	}

	var sectors struct {
		Available bool `json:"available"`
		Data      struct {
			PortfolioWeights map[string]float64 `json:"portfolio_weights"`
		} `json:"data"`
	}
	e.doJSON(t, "GET", o.an+"sector-exposure", o.owner, nil, "", http.StatusOK, &sectors)
	if !sectors.Available || len(sectors.Data.PortfolioWeights) == 0 {
		t.Errorf("sector-exposure %+v", sectors)
	}

	var pos struct {
		Available bool `json:"available"`
		Total     int  `json:"total"`
		Positions []struct {
			PositionID uuid.UUID          `json:"position_id"`
			Symbol     string             `json:"symbol"`
			Exposures  map[string]float64 `json:"exposures"`
		} `json:"positions"`
	}
	e.doJSON(t, "GET", o.an+"positions/factor-exposures?limit=2", o.owner, nil, "", http.StatusOK, &pos)
	if !pos.Available || pos.Total == 0 || len(pos.Positions) != min(2, pos.Total) || len(pos.Positions[0].Exposures) == 0 {
		t.Errorf("positions/factor-exposures %+v", pos)
	}

	var corr struct {
		Available bool `json:"available"`
		Data      struct {
			Matrix map[string]map[string]*float64 `json:"matrix"`
		} `json:"data"`
	}
	e.doJSON(t, "GET", o.an+"correlation-matrix", o.owner, nil, "", http.StatusOK, &corr)
	if corr.Available {
		for a, row := range corr.Data.Matrix {
			if row[a] == nil || math.Abs(*row[a]-1) > 1e-9 {
				t.Errorf("correlation of %s with itself: %v", a, row[a])
			}
		}
	}
}
