package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func TestMain(m *testing.M) { portfoliotest.Main(m) }

// testAdminToken enables the admin routes in the tests.
const testAdminToken = "test-admin-token"

// lastDay is the last session with prices; the clock stands the morning
// after it, so it is the latest closed trading day.
const lastDay = "2025-04-30"

// priceSessions is how many sessions of prices end on lastDay: enough
// before the template's first entry (2025-02-03) for symbol betas (30
// returns) to exist on the later days.
const priceSessions = 85

// env is one test's database, library client and API server.
type env struct {
	t        *testing.T
	db       *portfoliotest.DB
	client   *portfolio.Client
	rec      *daemon.Reconciler
	srv      *httptest.Server
	api      *validator
	now      func() time.Time
	sessions []time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := portfoliotest.NewDB(t)
	last, err := time.Parse(time.DateOnly, lastDay)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, now: func() time.Time { return last.Add(30 * time.Hour) }}
	e.client, err = portfolio.NewClient(db.Pool, &portfolio.Config{Now: e.now})
	if err != nil {
		t.Fatal(err)
	}
	// The schedule is the fallback should a notification arrive before the
	// listener is connected; startReconciler starts it.
	e.rec, err = daemon.New(db.Pool, &daemon.Config{Now: e.now, Schedule: "@every 1s"})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(newServer(e.client, serverOptions{Reconciler: e.rec, AdminToken: testAdminToken}))
	t.Cleanup(e.srv.Close)
	// Every response of every test is checked against openapi.json.
	e.api = newValidator(t, e.srv.Client().Transport)
	e.srv.Client().Transport = e.api
	cal := batch.NewNYSECalendar()
	e.sessions = batch.SessionsEnding(cal, last, priceSessions)
	return e
}

// loadPrices imports generated closes for SPY, the factor proxies and
// every priced symbol of the template, starting each at its entry price.
func (e *env) loadPrices() {
	e.t.Helper()
	ps, err := portfolio.ParsePositions(bytes.NewReader(csvTemplate), &portfolio.ParseOptions{Now: e.now})
	if err != nil {
		e.t.Fatalf("template: %v", err)
	}
	base := map[string]float64{}
	var symbols []string
	add := func(sym string, p float64) {
		if _, ok := base[sym]; !ok {
			base[sym] = p
			symbols = append(symbols, sym)
		}
	}
	for _, p := range ps {
		if p.Class == portfolio.ClassPublic && !p.IsCash {
			add(p.Symbol, p.EntryPrice.Float64())
		}
	}
	for _, p := range ps {
		if p.Underlying != "" {
			add(p.Underlying, 100)
		}
	}
	for _, s := range (&batch.AnalyticsConfig{}).Proxies() {
		add(s, 100)
	}
	var buf bytes.Buffer
	buf.WriteString("date,symbol,close\n")
	for i, sym := range symbols {
		rng := rand.New(rand.NewPCG(uint64(i)+1, 99))
		p := base[sym]
		for _, d := range e.sessions {
			p *= math.Exp(0.0004 + 0.012*rng.NormFloat64())
			fmt.Fprintf(&buf, "%s,%s,%.2f\n", d.Format(time.DateOnly), sym, p)
		}
	}
	if _, err := batch.ImportPrices(context.Background(), e.db.Pool, &buf, "test-prices.csv", nil); err != nil {
		e.t.Fatalf("import prices: %v", err)
	}
}

// startReconciler runs the reconciler in-process with the test clock until
// the test ends.
func (e *env) startReconciler() {
	e.t.Helper()
	r := e.rec
	if err := r.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			e.t.Error(err)
		}
	})
}

// part is one multipart form field; file parts have a file name.
type part struct {
	name, value, filename string
}

func multipartBody(t testing.TB, parts ...part) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var err error
		if p.filename != "" {
			var w io.Writer
			if w, err = mw.CreateFormFile(p.name, p.filename); err == nil {
				_, err = io.WriteString(w, p.value)
			}
		} else {
			err = mw.WriteField(p.name, p.value)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

// onboardForm is a valid create-portfolio form for account, with csv as
// its file and the given parts added (a later part of the same name is
// ignored by the server, so extra fields go before the defaults).
func onboardForm(account, csv string, extra ...part) []part {
	return append(extra,
		part{name: "portfolio_name", value: "Test portfolio"},
		part{name: "account_name", value: account},
		part{name: "account_type", value: "taxable"},
		part{name: "equity_balance", value: "500000"},
		part{name: "description", value: "from the template"},
		part{name: "csv_file", value: csv, filename: "positions.csv"},
	)
}

// do sends a request and returns the response with its body read.
func (e *env) do(t testing.TB, method, path, owner string, body io.Reader, contentType string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if owner != "" {
		req.Header.Set("X-User-ID", owner)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// doJSON sends a request, checks the status and decodes the JSON body.
func (e *env) doJSON(t testing.TB, method, path, owner string, body io.Reader, contentType string, want int, out any) {
	t.Helper()
	resp, b := e.do(t, method, path, owner, body, contentType)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, want, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
	}
}

func (e *env) create(t testing.TB, owner string, parts []part, want int, out any) {
	t.Helper()
	body, ct := multipartBody(t, parts...)
	e.doJSON(t, "POST", "/api/v1/onboarding/create-portfolio", owner, body, ct, want, out)
}

// errorResponse is the API's error body.
type errorResponse struct {
	Error struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	} `json:"error"`
}

// expectError checks an error response's status and code.
func expectError(t testing.TB, resp *http.Response, body []byte, status int, code string) errorResponse {
	t.Helper()
	var er errorResponse
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if err := json.Unmarshal(body, &er); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if er.Error.Code != code || er.Error.Message == "" {
		t.Fatalf("error code %q (message %q), want %q", er.Error.Code, er.Error.Message, code)
	}
	return er
}

// counts returns the rows of the tables onboarding writes.
func (e *env) counts(t testing.TB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"portfolios", "positions", "batch_runs", "backfill_state"} {
		var n int
		if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM backfill."+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

type createResult struct {
	PortfolioID       uuid.UUID  `json:"portfolio_id"`
	PortfolioName     string     `json:"portfolio_name"`
	AccountName       string     `json:"account_name"`
	AccountType       string     `json:"account_type"`
	EquityBalance     float64    `json:"equity_balance"`
	PositionsImported int        `json:"positions_imported"`
	PositionsFailed   int        `json:"positions_failed"`
	TotalPositions    int        `json:"total_positions"`
	Message           string     `json:"message"`
	BatchRunID        *uuid.UUID `json:"batch_run_id"`
	NextStep          struct {
		Action, Endpoint, Description string
	} `json:"next_step"`
}

type calculateResult struct {
	Status      string    `json:"status"`
	BatchRunID  uuid.UUID `json:"batch_run_id"`
	PortfolioID uuid.UUID `json:"portfolio_id"`
	PollURL     string    `json:"poll_url"`
}

type statusResult struct {
	Status      string    `json:"status"`
	BatchRunID  uuid.UUID `json:"batch_run_id"`
	PortfolioID uuid.UUID `json:"portfolio_id"`
	Progress    struct {
		DaysDone  int     `json:"days_done"`
		DaysTotal int     `json:"days_total"`
		Percent   float64 `json:"percent"`
	} `json:"progress"`
	ElapsedSeconds *float64        `json:"elapsed_seconds"`
	StartedAt      *time.Time      `json:"started_at"`
	FinishedAt     *time.Time      `json:"finished_at"`
	Error          *string         `json:"error"`
	Warnings       json.RawMessage `json:"warnings"`
}

// pollRun polls a batch-status URL until the run reaches a final status.
func (e *env) pollRun(t testing.TB, url, owner string) statusResult {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st statusResult
		e.doJSON(t, "GET", url, owner, nil, "", http.StatusOK, &st)
		switch st.Status {
		case "pending", "running":
		case "completed", "partial", "waiting_for_prices", "failed":
			return st
		default:
			t.Fatalf("batch-status %s: status %q", url, st.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch-status %s: still %s after 60s", url, st.Status)
		}
		time.Sleep(20 * time.Millisecond) // the polling interval, as a client would
	}
}

// TestOnboardingFlow is the old client's flow end to end: download the
// template, upload it, request a calculation, poll it to completion, read
// the snapshots and factor exposures.
func TestOnboardingFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadPrices()
	e.startReconciler()
	const owner = "user-1"

	resp, tpl := e.do(t, "GET", "/api/v1/onboarding/csv-template", "", nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("csv-template: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("csv-template Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="portfolio_template.csv"` {
		t.Errorf("csv-template Content-Disposition %q", cd)
	}
	want, err := portfolio.ParsePositions(bytes.NewReader(tpl), &portfolio.ParseOptions{Now: e.now})
	if err != nil {
		t.Fatalf("the template does not parse: %v", err)
	}

	var created createResult
	e.create(t, owner, onboardForm("Brokerage", string(tpl)), http.StatusCreated, &created)
	if created.PortfolioID == uuid.Nil || created.BatchRunID == nil || created.PositionsImported != len(want) ||
		created.TotalPositions != len(want) || created.PositionsFailed != 0 || created.EquityBalance != 500000 ||
		created.AccountName != "Brokerage" || created.AccountType != "taxable" || created.NextStep.Action != "calculate" {
		t.Fatalf("create-portfolio result %+v; want %d positions and a run", created, len(want))
	}
	id := created.PortfolioID
	base := "/api/v1/portfolios/" + id.String()

	// The onboarding run alone brings the portfolio up to date.
	if st := e.pollRun(t, fmt.Sprintf("%s/batch-status/%s", base, created.BatchRunID), owner); st.Status != "completed" {
		t.Fatalf("onboarding run: %+v", st)
	}

	// The old client then asks for a calculation (here on the singular
	// path of the old documentation).
	var calc calculateResult
	e.doJSON(t, "POST", "/api/v1/portfolio/"+id.String()+"/calculate", owner, nil, "", http.StatusAccepted, &calc)
	if calc.PortfolioID != id || calc.BatchRunID == uuid.Nil || (calc.Status != "pending" && calc.Status != "running") ||
		calc.PollURL != fmt.Sprintf("%s/batch-status/%s", base, calc.BatchRunID) {
		t.Fatalf("calculate: %+v", calc)
	}
	st := e.pollRun(t, calc.PollURL, owner)
	if st.Status != "completed" || st.BatchRunID != calc.BatchRunID || st.Progress.Percent != 100 ||
		st.StartedAt == nil || st.FinishedAt == nil || st.ElapsedSeconds == nil || st.Error != nil || len(st.Warnings) == 0 {
		t.Fatalf("calculate run: %+v", st)
	}

	var snaps struct {
		PortfolioID uuid.UUID        `json:"portfolio_id"`
		Snapshots   []map[string]any `json:"snapshots"`
	}
	e.doJSON(t, "GET", base+"/snapshots", owner, nil, "", http.StatusOK, &snaps)
	cal := batch.NewNYSECalendar()
	first := batch.SessionOnOrAfter(cal, time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC))
	wantDays := batch.Sessions(cal, first, e.sessions[len(e.sessions)-1])
	if snaps.PortfolioID != id || len(snaps.Snapshots) != len(wantDays) {
		t.Fatalf("snapshots: %d, want %d (%s..%s)", len(snaps.Snapshots), len(wantDays), first.Format(time.DateOnly), lastDay)
	}
	for i, s := range snaps.Snapshots {
		if s["date"] != wantDays[i].Format(time.DateOnly) {
			t.Fatalf("snapshot %d: date %v, want %s", i, s["date"], wantDays[i].Format(time.DateOnly))
		}
		for _, k := range []string{"nav", "cash", "long_value", "short_value", "gross_exposure", "net_exposure",
			"daily_pnl", "daily_realized_pnl", "cumulative_pnl", "capital_flow", "num_positions", "num_long", "num_short",
			"stale_positions", "unpriced_positions"} {
			if _, ok := s[k].(float64); !ok {
				t.Fatalf("snapshot %v: %s = %#v, want a JSON number", s["date"], k, s[k])
			}
		}
		for _, k := range []string{"daily_return", "cumulative_return", "volatility_21d", "volatility_63d", "beta_realized_90d", "max_drawdown", "batch_run_id", "computed_at"} {
			if _, ok := s[k]; !ok {
				t.Fatalf("snapshot %v: no %s", s["date"], k)
			}
		}
	}
	if nav := snaps.Snapshots[len(snaps.Snapshots)-1]["nav"].(float64); nav <= 0 {
		t.Errorf("last NAV %v", nav)
	}

	e.doJSON(t, "GET", base+"/snapshots?from=2025-04-01&to=2025-04-15", owner, nil, "", http.StatusOK, &snaps)
	if n := len(batch.Sessions(cal, time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC))); len(snaps.Snapshots) != n ||
		snaps.Snapshots[0]["date"] != "2025-04-01" || snaps.Snapshots[n-1]["date"] != "2025-04-15" {
		t.Fatalf("snapshots from..to: %d rows, want %d", len(snaps.Snapshots), n)
	}

	var fx struct {
		PortfolioID uuid.UUID `json:"portfolio_id"`
		Date        *string   `json:"date"`
		Factors     []struct {
			Factor           string   `json:"factor"`
			Exposure         *float64 `json:"exposure"`
			ExposureDollar   *float64 `json:"exposure_dollar"`
			HoldingsCovered  int      `json:"holdings_covered"`
			HoldingsExcluded int      `json:"holdings_excluded"`
			GrossCoverage    *float64 `json:"gross_coverage"`
		} `json:"factors"`
	}
	e.doJSON(t, "GET", base+"/factor-exposures", owner, nil, "", http.StatusOK, &fx)
	factors := (&batch.AnalyticsConfig{}).Factors()
	if fx.PortfolioID != id || fx.Date == nil || *fx.Date != lastDay || len(fx.Factors) != len(factors) {
		t.Fatalf("factor-exposures: date %v, %d factors, want %s and %d", fx.Date, len(fx.Factors), lastDay, len(factors))
	}
	var market bool
	for _, f := range fx.Factors {
		if !slices.Contains(factors, f.Factor) {
			t.Errorf("unknown factor %q", f.Factor)
		}
		if f.Factor == batch.FactorMarketBeta && f.Exposure != nil && f.ExposureDollar != nil && f.HoldingsCovered > 0 {
			market = true
		}
		if f.HoldingsExcluded == 0 {
			t.Errorf("factor %s: no excluded holdings, but the template has options, cash and a private holding", f.Factor)
		}
	}
	if !market {
		t.Errorf("no market beta exposure on %s: %+v", lastDay, fx.Factors)
	}
	e.doJSON(t, "GET", base+"/factor-exposures?date=2025-03-03", owner, nil, "", http.StatusOK, &fx)
	if fx.Date == nil || *fx.Date != "2025-03-03" || len(fx.Factors) != len(factors) {
		t.Fatalf("factor-exposures?date=2025-03-03: date %v, %d factors", fx.Date, len(fx.Factors))
	}

	// A recompute from a date of a current portfolio: a new run that
	// rewrites exactly the days from it on.
	var again calculateResult
	e.doJSON(t, "POST", base+"/calculate?from=2025-04-01", owner, nil, "", http.StatusAccepted, &again)
	if again.BatchRunID == calc.BatchRunID {
		t.Fatalf("calculate?from= returned the finished run %+v", again)
	}
	if st := e.pollRun(t, again.PollURL, owner); st.Status != "completed" {
		t.Fatalf("recompute run: %+v", st)
	}
	var from time.Time
	var written int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT from_date, days_written FROM backfill.batch_runs WHERE id = $1`,
		again.BatchRunID).Scan(&from, &written); err != nil {
		t.Fatal(err)
	}
	if want := batch.Sessions(cal, time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), e.sessions[len(e.sessions)-1]); !from.Equal(want[0]) || written != len(want) {
		t.Errorf("recompute from %s, %d days; want %s, %d days", from.Format(time.DateOnly), written, want[0].Format(time.DateOnly), len(want))
	}

	// Someone else sees none of it.
	for _, path := range []string{base + "/snapshots", base + "/factor-exposures", calc.PollURL} {
		resp, body := e.do(t, "GET", path, "user-2", nil, "")
		expectError(t, resp, body, http.StatusNotFound, errNotFound)
	}
	resp, body := e.do(t, "POST", base+"/calculate", "user-2", nil, "")
	expectError(t, resp, body, http.StatusNotFound, errNotFound)
}

// TestTemplateImports checks that the served template imports today, as a
// user would upload it.
func TestTemplateImports(t *testing.T) {
	t.Parallel()
	ps, err := portfolio.ParsePositions(bytes.NewReader(csvTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 10 {
		t.Errorf("%d positions, want the 10 example rows", len(ps))
	}
	if !bytes.HasPrefix(csvTemplate, []byte("#")) || !bytes.Contains(csvTemplate, []byte("\nSymbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype,Underlying Symbol,Strike Price,Expiration Date,Option Type,Exit Date,Exit Price Per Share\n")) {
		t.Error("the template lacks its comment lines or the 12-column header")
	}
}

// TestCreatePortfolioRejects sends bad create-portfolio requests; each
// gets its status and code and writes nothing.
func TestCreatePortfolioRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const owner = "user-1"
	valid := string(csvTemplate)
	badRows := readFile(t, "testdata/positions/invalid_rows.csv")
	missingColumns := readFile(t, "testdata/positions/missing_columns.csv")
	oversized := strings.Repeat("AAPL,100,158.00,2025-01-02,PUBLIC,STOCK,,,,,,\n", 11<<20/46+1)
	// A file just past the library's limit, in a body under the HTTP limit:
	// comment lines, which count towards the size but not the row limit.
	overFile := "Symbol,Quantity,Entry Price Per Share,Entry Date\n" +
		strings.Repeat("# "+strings.Repeat("x", 1021)+"\n", 10<<10+8) + "AAPL,1,1,2025-01-02\n"

	type testCase struct {
		name    string
		owner   string
		body    func(t testing.TB) (io.Reader, string)
		status  int
		code    string
		details func(t *testing.T, d json.RawMessage)
		// message, when set, is a substring of the error message; it tells
		// which limit answered.
		message string
	}
	form := func(parts ...part) func(testing.TB) (io.Reader, string) {
		return func(t testing.TB) (io.Reader, string) { return multipartBody(t, parts...) }
	}
	// fieldErrors checks the details of a validation error: every error
	// listed, counted, with a code and a message, and want among them.
	fieldErrors := func(want ...fieldError) func(*testing.T, json.RawMessage) {
		return func(t *testing.T, d json.RawMessage) {
			var det struct {
				Errors      []fieldError `json:"errors"`
				TotalErrors int          `json:"total_errors"`
			}
			if err := json.Unmarshal(d, &det); err != nil {
				t.Fatal(err)
			}
			if len(det.Errors) == 0 || det.TotalErrors != len(det.Errors) {
				t.Fatalf("details %s: want errors and their total", d)
			}
			for _, fe := range det.Errors {
				if fe.Code == "" || fe.Message == "" {
					t.Errorf("error without code or message: %+v", fe)
				}
			}
			for _, w := range want {
				if !slices.ContainsFunc(det.Errors, func(fe fieldError) bool {
					fe.Message, fe.Value = "", ""
					return fe == w
				}) {
					t.Errorf("no error %+v in %s", w, d)
				}
			}
		}
	}
	cases := []testCase{
		{name: "no X-User-ID", body: form(onboardForm("A", valid)...), status: 401, code: string(portfolio.CodeOwner001)},
		{name: "owner too long", owner: strings.Repeat("u", 256), body: form(onboardForm("A", valid)...), status: 401, code: string(portfolio.CodeOwner001)},
		{name: "JSON body", owner: owner, body: func(testing.TB) (io.Reader, string) {
			return strings.NewReader(`{"portfolio_name":"x"}`), "application/json"
		}, status: 415, code: errContentType},
		{name: "no content type", owner: owner, body: func(testing.TB) (io.Reader, string) { return strings.NewReader("x"), "" },
			status: 415, code: errContentType},
		{name: "urlencoded", owner: owner, body: func(testing.TB) (io.Reader, string) {
			return strings.NewReader("portfolio_name=x"), "application/x-www-form-urlencoded"
		}, status: 415, code: errContentType},
		{name: "malformed multipart", owner: owner, body: func(testing.TB) (io.Reader, string) {
			return strings.NewReader("--XYZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated"), "multipart/form-data; boundary=XYZ"
		}, status: 400, code: errMalformedRequest},
		{name: "multipart without boundary", owner: owner, body: func(testing.TB) (io.Reader, string) {
			return strings.NewReader("x"), "multipart/form-data"
		}, status: 400, code: errMalformedRequest},
		{name: "missing csv_file", owner: owner, body: form(onboardForm("A", valid)[:5]...), status: 400, code: string(portfolio.CodePort007)},
		{name: "invalid rows", owner: owner, body: form(onboardForm("A", badRows)...), status: 400, code: string(portfolio.CodePort008), details: fieldErrors(
			fieldError{Row: 2, Line: 3, Field: "Quantity", Code: string(portfolio.CodePos005), Symbol: "AAPL"},
			fieldError{Row: 4, Line: 5, Field: "Symbol", Code: string(portfolio.CodePos001)},
			fieldError{Row: 4, Line: 5, Field: "Entry Price Per Share", Code: string(portfolio.CodePos009)},
			fieldError{Row: 4, Line: 5, Field: "Entry Date", Code: string(portfolio.CodePos013)},
			fieldError{Row: 5, Line: 6, Field: "Symbol", Code: string(portfolio.CodePos023), Symbol: "MSFT"},
		)},
		{name: "empty file", owner: owner, body: form(onboardForm("A", "")...), status: 400, code: string(portfolio.CodeCSV003)},
		{name: "missing columns", owner: owner, body: form(onboardForm("A", missingColumns)...), status: 400, code: string(portfolio.CodeCSV004)},
		{name: "invalid account_type", owner: owner, body: form(onboardForm("A", valid, part{name: "account_type", value: "brokerage"})...),
			status: 400, code: string(portfolio.CodePort009), details: fieldErrors(fieldError{Field: "account_type", Code: string(portfolio.CodePort009)})},
		{name: "equity not a number", owner: owner, body: form(onboardForm("A", valid, part{name: "equity_balance", value: "lots"})...),
			status: 400, code: string(portfolio.CodePort005), details: fieldErrors(fieldError{Field: "equity_balance", Code: string(portfolio.CodePort005)})},
		{name: "equity in exponent form", owner: owner, body: form(onboardForm("A", valid, part{name: "equity_balance", value: "1e6"})...),
			status: 400, code: string(portfolio.CodePort005)},
		{name: "missing portfolio_name", owner: owner, body: form(onboardForm("A", valid)[1:]...), status: 400, code: string(portfolio.CodePort002)},
		{name: "bad auto_calculate", owner: owner, body: form(onboardForm("A", valid, part{name: "auto_calculate", value: "maybe"})...),
			status: 400, code: errInvalidParameter},
		{name: "body over the limit", owner: owner, body: form(onboardForm("A", oversized)...), status: 413, code: string(portfolio.CodeCSV001),
			message: "Request too large"},
		{name: "body over the limit, chunked", owner: owner, body: func(t testing.TB) (io.Reader, string) {
			b, ct := multipartBody(t, onboardForm("A", oversized)...)
			return struct{ io.Reader }{b}, ct // hides the length: sent chunked
		}, status: 413, code: string(portfolio.CodeCSV001), message: "Request too large"},
		{name: "file over the library limit", owner: owner, body: form(onboardForm("A", overFile)...), status: 413, code: string(portfolio.CodeCSV001),
			message: "File too large"},
	}
	before := e.counts(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := tc.body(t)
			resp, b := e.do(t, "POST", "/api/v1/onboarding/create-portfolio", tc.owner, body, ct)
			er := expectError(t, resp, b, tc.status, tc.code)
			if tc.details != nil {
				tc.details(t, er.Error.Details)
			}
			if !strings.Contains(er.Error.Message, tc.message) {
				t.Errorf("message %q, want it to contain %q", er.Error.Message, tc.message)
			}
			if after := e.counts(t); !equalCounts(before, after) {
				t.Fatalf("rows written: before %v, after %v", before, after)
			}
		})
	}
	if len(overFile) <= portfolio.DefaultMaxBytes || int64(len(overFile))+4096 > portfolio.DefaultMaxBytes+multipartOverhead {
		t.Fatalf("overFile is %d bytes: not between the library's and the HTTP limit", len(overFile))
	}

	t.Run("duplicate account", func(t *testing.T) {
		var first createResult
		e.create(t, owner, onboardForm("Dup", valid), http.StatusCreated, &first)
		before := e.counts(t)
		body, ct := multipartBody(t, onboardForm("Dup", valid)...)
		resp, b := e.do(t, "POST", "/api/v1/onboarding/create-portfolio", owner, body, ct)
		expectError(t, resp, b, http.StatusConflict, string(portfolio.CodePort001))
		if after := e.counts(t); !equalCounts(before, after) {
			t.Fatalf("rows written: before %v, after %v", before, after)
		}
		// The same account name is free for another owner.
		var other createResult
		e.create(t, "user-2", onboardForm("Dup", valid), http.StatusCreated, &other)
	})

	t.Run("wrong method", func(t *testing.T) {
		resp, b := e.do(t, "GET", "/api/v1/onboarding/create-portfolio", owner, nil, "")
		expectError(t, resp, b, http.StatusMethodNotAllowed, errMethodNotAllowed)
		if allow := resp.Header.Get("Allow"); allow != "POST" {
			t.Errorf("Allow %q", allow)
		}
		resp, b = e.do(t, "DELETE", "/api/v1/onboarding/csv-template", owner, nil, "")
		expectError(t, resp, b, http.StatusMethodNotAllowed, errMethodNotAllowed)
		resp, b = e.do(t, "GET", "/api/v1/nowhere", owner, nil, "")
		expectError(t, resp, b, http.StatusNotFound, errNotFound)
	})
}

// fieldError is one entry of a validation error's details.
type fieldError struct {
	Row     int    `json:"row"`
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Symbol  string `json:"symbol"`
	Value   string `json:"value"`
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// TestAutoCalculateFalse onboards without a request: no run, a null
// batch_run_id.
func TestAutoCalculateFalse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i, v := range []string{"false", "0"} {
		var res createResult
		e.create(t, "user-1", onboardForm(fmt.Sprintf("Account %d", i), string(csvTemplate), part{name: "auto_calculate", value: v}),
			http.StatusCreated, &res)
		if res.BatchRunID != nil || res.PortfolioID == uuid.Nil {
			t.Fatalf("auto_calculate=%s: %+v", v, res)
		}
	}
	if c := e.counts(t); c["portfolios"] != 2 || c["batch_runs"] != 0 {
		t.Fatalf("counts %v: want 2 portfolios and no runs", c)
	}
}

// TestPortfolioEndpointsReject checks ownership, ids and parameters of the
// portfolio endpoints.
func TestPortfolioEndpointsReject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var res createResult
	e.create(t, "user-1", onboardForm("A", string(csvTemplate)), http.StatusCreated, &res)
	var gone createResult
	e.create(t, "user-1", onboardForm("B", string(csvTemplate)), http.StatusCreated, &gone)
	if err := e.client.DeletePortfolio(context.Background(), gone.PortfolioID); err != nil {
		t.Fatal(err)
	}
	mine := "/api/v1/portfolios/" + res.PortfolioID.String()
	run := fmt.Sprintf("%s/batch-status/%s", mine, res.BatchRunID)
	unknown := "/api/v1/portfolios/" + uuid.NewString()
	deleted := "/api/v1/portfolios/" + gone.PortfolioID.String()

	cases := []struct {
		method, path, owner string
		status              int
		code                string
	}{
		{"GET", mine + "/snapshots", "", 401, string(portfolio.CodeOwner001)},
		{"POST", mine + "/calculate", "", 401, string(portfolio.CodeOwner001)},
		{"GET", mine + "/snapshots", "user-2", 404, errNotFound},
		{"POST", mine + "/calculate", "user-2", 404, errNotFound},
		{"GET", run, "user-2", 404, errNotFound},
		{"GET", mine + "/factor-exposures", "user-2", 404, errNotFound},
		{"GET", unknown + "/snapshots", "user-1", 404, errNotFound},
		{"POST", unknown + "/calculate", "user-1", 404, errNotFound},
		{"GET", deleted + "/snapshots", "user-1", 404, errNotFound},
		{"POST", deleted + "/calculate", "user-1", 404, errNotFound},
		{"GET", fmt.Sprintf("%s/batch-status/%s", deleted, gone.BatchRunID), "user-1", 404, errNotFound},
		{"GET", "/api/v1/portfolios/not-a-uuid/snapshots", "user-1", 400, errInvalidID},
		{"POST", "/api/v1/portfolios/123/calculate", "user-1", 400, errInvalidID},
		{"GET", mine + "/batch-status/" + uuid.NewString(), "user-1", 404, errNotFound},
		// Another portfolio's run is not this portfolio's.
		{"GET", fmt.Sprintf("%s/batch-status/%s", mine, gone.BatchRunID), "user-1", 404, errNotFound},
		{"GET", mine + "/batch-status/latest", "user-1", 400, errInvalidID},
		{"GET", mine + "/snapshots?from=2025-02-30", "user-1", 400, errInvalidParameter},
		{"GET", mine + "/snapshots?to=yesterday", "user-1", 400, errInvalidParameter},
		{"GET", mine + "/snapshots?from=2025-03-01&to=2025-02-01", "user-1", 400, errInvalidParameter},
		{"GET", mine + "/factor-exposures?date=03/01/2025", "user-1", 400, errInvalidParameter},
		{"POST", mine + "/calculate?from=2025-13-01", "user-1", 400, errInvalidParameter},
		{"POST", mine + "/snapshots", "user-1", 405, errMethodNotAllowed},
		{"GET", mine + "/calculate", "user-1", 405, errMethodNotAllowed},
	}
	before := e.counts(t)
	for _, tc := range cases {
		resp, b := e.do(t, tc.method, tc.path, tc.owner, nil, "")
		t.Run(tc.method+" "+tc.path+" as "+tc.owner, func(t *testing.T) {
			expectError(t, resp, b, tc.status, tc.code)
		})
	}
	if after := e.counts(t); !equalCounts(before, after) {
		t.Fatalf("rows written: before %v, after %v", before, after)
	}

	// Nothing computed yet: empty lists, not errors.
	var snaps struct {
		Snapshots []any `json:"snapshots"`
	}
	e.doJSON(t, "GET", mine+"/snapshots", "user-1", nil, "", http.StatusOK, &snaps)
	if snaps.Snapshots == nil || len(snaps.Snapshots) != 0 {
		t.Errorf("snapshots before any run: %v", snaps.Snapshots)
	}
	var fx struct {
		Date    *string `json:"date"`
		Factors []any   `json:"factors"`
	}
	e.doJSON(t, "GET", mine+"/factor-exposures", "user-1", nil, "", http.StatusOK, &fx)
	if fx.Date != nil || fx.Factors == nil || len(fx.Factors) != 0 {
		t.Errorf("factor-exposures before any run: %+v", fx)
	}
}

// TestCalculateReturnsActiveRun: a second request while a run is pending
// returns that run.
func TestCalculateReturnsActiveRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var res createResult
	e.create(t, "user-1", onboardForm("A", string(csvTemplate)), http.StatusCreated, &res)
	path := "/api/v1/portfolios/" + res.PortfolioID.String() + "/calculate"
	var a, b calculateResult
	e.doJSON(t, "POST", path, "user-1", nil, "", http.StatusAccepted, &a)
	e.doJSON(t, "POST", path, "user-1", nil, "", http.StatusAccepted, &b)
	if a.BatchRunID != *res.BatchRunID || b.BatchRunID != a.BatchRunID || a.Status != "pending" {
		t.Fatalf("calculate returned %+v and %+v; want the onboarding run %s, pending", a, b, res.BatchRunID)
	}
	var st statusResult
	e.doJSON(t, "GET", a.PollURL, "user-1", nil, "", http.StatusOK, &st)
	if st.Status != "pending" || st.StartedAt != nil || st.Progress.Percent != 0 {
		t.Fatalf("pending run: %+v", st)
	}
}

// TestBatchStatusFailedRun: a failed run reads "failed" with its error,
// never "idle", and so does a partial one.
func TestBatchStatusFailedRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var res createResult
	e.create(t, "user-1", onboardForm("A", string(csvTemplate)), http.StatusCreated, &res)
	url := fmt.Sprintf("/api/v1/portfolios/%s/batch-status/%s", res.PortfolioID, res.BatchRunID)
	for _, tc := range []struct {
		status  string
		written int
	}{{"failed", 0}, {"partial", 10}} {
		msg := "load prices: connection reset (" + tc.status + ")"
		_, err := e.db.Pool.Exec(context.Background(), `
			UPDATE backfill.batch_runs SET status = $3, error = $4, days_total = 40, days_written = $5,
			       started_at = now() - interval '90 seconds', finished_at = now() - interval '30 seconds'
			WHERE portfolio_id = $1 AND id = $2`, res.PortfolioID, res.BatchRunID, tc.status, msg, tc.written)
		if err != nil {
			t.Fatal(err)
		}
		st := e.pollRun(t, url, "user-1")
		if st.Status != tc.status || st.Error == nil || *st.Error != msg || st.Progress.DaysDone != tc.written ||
			st.Progress.DaysTotal != 40 || st.ElapsedSeconds == nil || *st.ElapsedSeconds != 60 {
			t.Fatalf("%s run: %+v", tc.status, st)
		}
	}
}

// TestRunRejectsBadFlags checks main's flag handling without starting
// anything.
func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"--nope"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("run --nope: %v", err)
	}
}
