package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
)

// csvTemplate is served by GET /api/v1/onboarding/csv-template; the tests
// check that it imports as it is.
//
//go:embed portfolio_template.csv
var csvTemplate []byte

// Error codes this API adds to the library's (ERR_CSV_*, ERR_POS_*,
// ERR_PORT_*, ERR_OWNER_001).
const (
	// errNotFound: no such portfolio for this owner (unknown, deleted or
	// another owner's), no such batch run, or no such route. 404.
	errNotFound = "ERR_NOT_FOUND"
	// errContentType: create-portfolio needs multipart/form-data. 415.
	errContentType = "ERR_CONTENT_TYPE"
	// errMalformedRequest: the multipart body cannot be parsed. 400.
	errMalformedRequest = "ERR_MALFORMED_REQUEST"
	// errTooManyParts: the multipart body has more parts or part headers
	// than mime/multipart reads (1,000 parts, 10,000 headers by default),
	// whatever its size. 400.
	errTooManyParts = "ERR_TOO_MANY_PARTS"
	// errInvalidID: a portfolio or batch run id in the path is not a UUID. 400.
	errInvalidID = "ERR_INVALID_ID"
	// errInvalidParameter: a query or form parameter has a bad value
	// (dates, auto_calculate). 400.
	errInvalidParameter = "ERR_INVALID_PARAMETER"
	// errMethodNotAllowed: the route exists with other methods. 405.
	errMethodNotAllowed = "ERR_METHOD_NOT_ALLOWED"
	// errInternal: a database or server failure; the log has the cause. 500.
	errInternal = "ERR_INTERNAL"
)

// Limits of the HTTP layer.
const (
	// multipartOverhead is what a create-portfolio body may carry beyond
	// the positions file: part headers, boundaries and the text fields
	// (together at most a few KiB).
	multipartOverhead = 256 << 10
	// multipartMemory is how much of a multipart body is held in memory;
	// the rest of a file part goes to a temporary file, removed after the
	// request.
	multipartMemory = 1 << 20
	// ownerHeader carries the authenticated user's id, set by the embedding
	// application's authentication in front of this handler.
	ownerHeader = "X-User-ID"
)

// server is the onboarding HTTP API: the seed system's endpoints over the
// portfolio library, reading results from the library's tables.
type server struct {
	client     *portfolio.Client
	rec        *daemon.Reconciler
	adminToken string
	logger     *slog.Logger
	maxBody    int64
	mux        *http.ServeMux
	// routes lists every pattern registered, for the OpenAPI check.
	routes []string
}

// serverOptions configures newServer.
type serverOptions struct {
	// Reconciler serves the admin routes' retries and the explanations;
	// required.
	Reconciler *daemon.Reconciler
	// AdminToken enables the admin routes for requests that send it as a
	// bearer token; empty disables them (404).
	AdminToken string
	// Logger receives a line per request; nil discards.
	Logger *slog.Logger
}

// newServer returns the API's handler, reading and writing through the
// library's client. Request bodies are limited to the client's MaxBytes
// plus multipart overhead.
func newServer(client *portfolio.Client, opts serverOptions) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := client.Config()
	s := &server{
		client: client, rec: opts.Reconciler, adminToken: opts.AdminToken, logger: logger,
		maxBody: cfg.MaxBytes + multipartOverhead, mux: http.NewServeMux(),
	}
	s.route("POST", "/api/v1/onboarding/create-portfolio", s.createPortfolio)
	s.route("GET", "/api/v1/onboarding/csv-template", s.csvTemplate)
	// The old documentation used both /portfolio/ and /portfolios/.
	for _, p := range []string{"/api/v1/portfolios/{id}", "/api/v1/portfolio/{id}"} {
		s.route("POST", p+"/calculate", s.calculate)
		s.route("GET", p+"/batch-status/{run_id}", s.batchStatus)
		s.route("GET", p+"/snapshots", s.snapshots)
		s.route("GET", p+"/factor-exposures", s.factorExposures)
	}
	s.portfolioRoutes()
	s.analyticsRoutes()
	s.adminRoutes()
	s.route("GET", "/openapi.json", s.openAPI)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, errNotFound, "No route for "+r.Method+" "+r.URL.Path, nil)
	})
	return s
}

// route registers h for method and path, and a JSON 405 for the path's
// other methods (ServeMux's own 405 is plain text).
func (s *server) route(method, path string, h http.HandlerFunc) {
	s.routes = append(s.routes, method+" "+path)
	s.mux.HandleFunc(method+" "+path, h)
	if slices.Contains(s.routes, "*"+path) {
		return // the path's 405 is registered; ServeMux dispatches by method
	}
	s.routes = append(s.routes, "*"+path)
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		allow := s.allowed(path)
		w.Header().Set("Allow", allow)
		s.fail(w, r, http.StatusMethodNotAllowed, errMethodNotAllowed,
			fmt.Sprintf("Method %s is not allowed here; use %s", r.Method, allow), nil)
	})
}

// ServeHTTP limits the body, logs the request and turns a panic into a 500.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// The original writer lets MaxBytesReader close the connection after an
	// oversized body instead of draining it.
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.logger.ErrorContext(r.Context(), "handler panicked", "method", r.Method, "path", r.URL.Path,
				"panic", p, "stack", string(debug.Stack()))
			if rec.status == 0 {
				s.fail(rec, r, http.StatusInternalServerError, errInternal, "Internal server error", nil)
			}
		}
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		owner := r.Header.Get(ownerHeader)
		if len(owner) > portfolio.MaxOwnerIDLength {
			owner = owner[:portfolio.MaxOwnerIDLength] // rejected anyway; keep the log line short
		}
		s.logger.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "owner_id", owner, "duration", time.Since(start))
	}()
	s.mux.ServeHTTP(rec, r)
}

// statusRecorder remembers the response status for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// apiError is the body of every error response, as the seed system wrote
// it: {"error": {"code", "message", "details"}}.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string, details any) {
	s.logger.DebugContext(r.Context(), "request failed", "status", status, "code", code, "message", msg)
	writeJSON(w, status, apiError{Error: errorBody{Code: code, Message: msg, Details: details}})
}

// internal answers 500 and logs the cause, which stays out of the response.
func (s *server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.ErrorContext(r.Context(), "request error", "method", r.Method, "path", r.URL.Path, "error", err)
	s.fail(w, r, http.StatusInternalServerError, errInternal, "Internal server error", nil)
}

func (s *server) tooLarge(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusRequestEntityTooLarge, string(portfolio.CodeCSV001),
		fmt.Sprintf("Request too large: the positions file may be at most %d MiB", s.client.Config().MaxBytes>>20), nil)
}

// owner returns the caller's id from X-User-ID, or answers 401.
func (s *server) owner(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := strings.TrimSpace(r.Header.Get(ownerHeader))
	switch {
	case id == "":
		s.fail(w, r, http.StatusUnauthorized, string(portfolio.CodeOwner001), "Authentication required: the "+ownerHeader+" header is missing", nil)
		return "", false
	case !utf8.ValidString(id) || utf8.RuneCountInString(id) > portfolio.MaxOwnerIDLength || strings.IndexFunc(id, unicode.IsControl) >= 0:
		s.fail(w, r, http.StatusUnauthorized, string(portfolio.CodeOwner001),
			fmt.Sprintf("The %s header must be at most %d characters of text", ownerHeader, portfolio.MaxOwnerIDLength), nil)
		return "", false
	}
	return id, true
}

// pathID parses the path value name as a UUID, or answers 400.
func (s *server) pathID(w http.ResponseWriter, r *http.Request, name, what string) (uuid.UUID, bool) {
	raw := r.PathValue(name)
	id, err := uuid.Parse(raw)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, errInvalidID, fmt.Sprintf("Invalid %s id %q: not a UUID", what, raw),
			map[string]string{"parameter": name})
		return uuid.Nil, false
	}
	return id, true
}

// ownedPortfolio returns the {id} portfolio after checking that it is live
// and the caller's; otherwise it answers 401, 400 or 404. Another owner's
// portfolio is reported exactly like a missing one.
func (s *server) ownedPortfolio(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	owner, ok := s.owner(w, r)
	if !ok {
		return uuid.Nil, false
	}
	id, ok := s.pathID(w, r, "id", "portfolio")
	if !ok {
		return uuid.Nil, false
	}
	if _, err := s.client.PortfolioGetOwned(r.Context(), owner, id); err != nil {
		if errors.Is(err, portfolio.ErrNotFound) {
			s.portfolioNotFound(w, r, id)
		} else {
			s.internal(w, r, fmt.Errorf("look up portfolio %s: %w", id, err))
		}
		return uuid.Nil, false
	}
	return id, true
}

func (s *server) portfolioNotFound(w http.ResponseWriter, r *http.Request, id uuid.UUID) {
	s.fail(w, r, http.StatusNotFound, errNotFound, fmt.Sprintf("Portfolio %s not found", id),
		map[string]string{"resource": "portfolio", "id": id.String()})
}

// createResponse is the onboarding result with batch_run_id null when no
// run was requested (auto_calculate=false).
type createResponse struct {
	*portfolio.OnboardResult
	BatchRunID *uuid.UUID `json:"batch_run_id"`
}

// createPortfolio handles POST /api/v1/onboarding/create-portfolio.
func (s *server) createPortfolio(w http.ResponseWriter, r *http.Request) {
	owner, ok := s.owner(w, r)
	if !ok {
		return
	}
	ct := r.Header.Get("Content-Type")
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil || mediaType != "multipart/form-data" {
		s.fail(w, r, http.StatusUnsupportedMediaType, errContentType,
			fmt.Sprintf("Content-Type must be multipart/form-data, not %q", ct), nil)
		return
	}
	if params["boundary"] == "" {
		s.fail(w, r, http.StatusBadRequest, errMalformedRequest, "Content-Type multipart/form-data needs a boundary parameter", nil)
		return
	}
	if r.ContentLength > s.maxBody {
		s.tooLarge(w, r)
		return
	}
	if err := r.ParseMultipartForm(multipartMemory); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.tooLarge(w, r)
			return
		case errors.Is(err, multipart.ErrMessageTooLarge):
			// Within the size limit (checked above), mime/multipart
			// reports too many parts or part headers this way.
			s.fail(w, r, http.StatusBadRequest, errTooManyParts,
				"Too many parts in the multipart/form-data body: at most 1000 parts and 10000 part headers; "+
					"send the form fields and one csv_file part", nil)
			return
		}
		s.fail(w, r, http.StatusBadRequest, errMalformedRequest, "Malformed multipart/form-data body: "+err.Error(), nil)
		return
	}
	defer r.MultipartForm.RemoveAll() //nolint:errcheck // temporary files only
	form := r.MultipartForm
	field := func(name string) string {
		if v := form.Value[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	autoCalculate := true
	if raw := strings.TrimSpace(field("auto_calculate")); raw != "" {
		switch strings.ToLower(raw) {
		case "true", "1", "yes", "on":
		case "false", "0", "no", "off":
			autoCalculate = false
		default:
			s.fail(w, r, http.StatusBadRequest, errInvalidParameter,
				fmt.Sprintf("auto_calculate must be true or false, not %q", raw), map[string]string{"parameter": "auto_calculate"})
			return
		}
	}
	req := &portfolio.OnboardRequest{
		OwnerID:        owner,
		PortfolioName:  field("portfolio_name"),
		AccountName:    field("account_name"),
		AccountType:    field("account_type"),
		StartingEquity: field("equity_balance"),
		Description:    field("description"),
		NoRequest:      !autoCalculate,
		// The old client uploads the broker's raw export: "format" and
		// "entry_date" are optional (auto detection, the export's date).
		Format: portfolio.Format(field("format")),
	}
	if raw := strings.TrimSpace(field("entry_date")); raw != "" {
		d, err := portfolio.ParseDate(raw)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, errInvalidParameter,
				fmt.Sprintf("entry_date must be a date as YYYY-MM-DD, not %q", raw), map[string]string{"parameter": "entry_date"})
			return
		}
		req.EntryDate = d
	}
	if n := len(form.File["csv_file"]) + len(form.Value["csv_file"]); n > 1 {
		s.fail(w, r, http.StatusBadRequest, errInvalidParameter,
			fmt.Sprintf("Send one positions file in csv_file, not %d", n), map[string]string{"parameter": "csv_file"})
		return
	}
	if files := form.File["csv_file"]; len(files) > 0 {
		f, err := files[0].Open()
		if err != nil {
			s.internal(w, r, fmt.Errorf("open uploaded file: %w", err))
			return
		}
		defer f.Close()
		req.CSV = f
	} else if v, ok := form.Value["csv_file"]; ok && len(v) > 0 {
		// curl -F 'csv_file=<positions.csv' sends the file as a plain field.
		req.CSV = strings.NewReader(v[0])
	}
	res, err := s.client.Onboard(r.Context(), req)
	if err != nil {
		s.onboardError(w, r, err)
		return
	}
	out := createResponse{OnboardResult: res}
	if res.RunID != uuid.Nil {
		out.BatchRunID = &res.RunID
	}
	writeJSON(w, http.StatusCreated, out)
}

// onboardError maps the library's errors to statuses.
func (s *server) onboardError(w http.ResponseWriter, r *http.Request, err error) {
	var verr *portfolio.ValidationError
	if !errors.As(err, &verr) {
		s.internal(w, r, err)
		return
	}
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, portfolio.ErrDuplicateAccount):
		status = http.StatusConflict
	case verr.Code == portfolio.CodeCSV001:
		status = http.StatusRequestEntityTooLarge
	case verr.Code == portfolio.CodeOwner001:
		status = http.StatusUnauthorized
	}
	s.fail(w, r, status, string(verr.Code), verr.Message, verr.Details())
}

// csvTemplate handles GET /api/v1/onboarding/csv-template.
func (s *server) csvTemplate(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="portfolio_template.csv"`)
	h.Set("Cache-Control", "public, max-age=3600")
	w.Write(csvTemplate) //nolint:errcheck // the client went away
}

// calculateResponse answers a calculate request.
type calculateResponse struct {
	Status      portfolio.RunStatus `json:"status"`
	BatchRunID  uuid.UUID           `json:"batch_run_id"`
	PortfolioID uuid.UUID           `json:"portfolio_id"`
	PollURL     string              `json:"poll_url"`
	Message     string              `json:"message"`
}

// calculate handles POST /api/v1/portfolios/{id}/calculate: it records a
// backfill request, which the reconciler picks up, or returns the run
// already pending or running. With ?from=YYYY-MM-DD the days from that date
// on are recomputed even when the portfolio is current.
func (s *server) calculate(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	var from time.Time
	if raw := strings.TrimSpace(r.URL.Query().Get("from")); raw != "" {
		d, err := portfolio.ParseDate(raw)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, errInvalidParameter,
				fmt.Sprintf("from must be a date YYYY-MM-DD, not %q", raw), map[string]string{"parameter": "from"})
			return
		}
		from = d
	}
	var run *portfolio.Run
	var err error
	if from.IsZero() {
		run, err = s.client.RequestBackfill(r.Context(), id, portfolio.TriggerCalculate)
	} else {
		run, err = s.client.Recompute(r.Context(), id, from)
	}
	if errors.Is(err, portfolio.ErrNotFound) {
		s.portfolioNotFound(w, r, id) // deleted since the owner check
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	msg := "Calculation requested; poll poll_url for its status"
	if !run.Created {
		msg = fmt.Sprintf("A calculation is already %s for this portfolio; poll poll_url for its status", run.Status)
	}
	writeJSON(w, http.StatusAccepted, calculateResponse{
		Status: run.Status, BatchRunID: run.ID, PortfolioID: id,
		PollURL: fmt.Sprintf("/api/v1/portfolios/%s/batch-status/%s", id, run.ID), Message: msg,
	})
}

// batchStatusResponse describes one batch run.
type batchStatusResponse struct {
	Status      string    `json:"status"`
	BatchRunID  uuid.UUID `json:"batch_run_id"`
	PortfolioID uuid.UUID `json:"portfolio_id"`
	// Trigger says what asked for the run: onboarding, calculate,
	// schedule, notify or manual. TriggeredBy repeats it under the seed
	// system's name.
	Trigger        string          `json:"trigger"`
	TriggeredBy    string          `json:"triggered_by"`
	Progress       progress        `json:"progress"`
	ElapsedSeconds int64           `json:"elapsed_seconds"`
	RequestedAt    time.Time       `json:"requested_at"`
	StartedAt      *time.Time      `json:"started_at"`
	FinishedAt     *time.Time      `json:"finished_at"`
	FromDate       *string         `json:"from_date"`
	ThroughDate    *string         `json:"through_date"`
	Error          *string         `json:"error,omitempty"`
	Warnings       json.RawMessage `json:"warnings"`
	Message        string          `json:"message"`
}

type progress struct {
	DaysDone  int     `json:"days_done"`
	DaysTotal int     `json:"days_total"`
	Percent   float64 `json:"percent"`
}

// batchStatus handles GET /api/v1/portfolios/{id}/batch-status/{run_id}.
// The status is the run's recorded one, so a failed run reads "failed"
// with its error, never "idle".
func (s *server) batchStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	runID, ok := s.pathID(w, r, "run_id", "batch run")
	if !ok {
		return
	}
	run, err := s.client.RunGet(r.Context(), id, runID)
	if errors.Is(err, portfolio.ErrRunNotFound) {
		s.fail(w, r, http.StatusNotFound, errNotFound, fmt.Sprintf("Batch run %s not found for portfolio %s", runID, id),
			map[string]string{"resource": "batch_run", "id": runID.String()})
		return
	}
	if err != nil {
		s.internal(w, r, fmt.Errorf("look up batch run %s: %w", runID, err))
		return
	}
	writeJSON(w, http.StatusOK, batchStatusOf(run, time.Now()))
}

// batchStatusOf describes a run for a client polling it.
func batchStatusOf(run *portfolio.BatchRun, now time.Time) batchStatusResponse {
	out := batchStatusResponse{
		BatchRunID: run.ID, PortfolioID: run.PortfolioID, Status: string(run.Status), Trigger: string(run.Trigger),
		RequestedAt: run.RequestedAt, StartedAt: run.StartedAt, FinishedAt: run.FinishedAt,
		Progress: progress{DaysTotal: run.DaysTotal, DaysDone: run.DaysWritten},
	}
	if run.Error != "" {
		out.Error = &run.Error
	}
	from, through, warnings := run.From, run.Through, run.Warnings
	elapsed := run.Duration(now).Seconds()
	out.TriggeredBy = out.Trigger
	out.ElapsedSeconds = int64(max(elapsed, 0))
	out.FromDate, out.ThroughDate = dateString(from), dateString(through)
	out.Warnings = warnings
	if len(out.Warnings) == 0 {
		out.Warnings = json.RawMessage("[]")
	}
	p := &out.Progress
	switch {
	case out.Status == string(portfolio.RunCompleted):
		p.Percent = 100
	case p.DaysTotal > 0:
		p.Percent = float64(p.DaysDone*1000/p.DaysTotal) / 10
	}
	if out.Status != string(portfolio.RunFailed) && out.Status != string(portfolio.RunPartial) {
		out.Error = nil
	}
	out.Message = runMessage(&out)
	return out
}

// runMessage says in a sentence what a run's status means for a client.
func runMessage(st *batchStatusResponse) string {
	switch portfolio.RunStatus(st.Status) {
	case portfolio.RunPending:
		return "Waiting for a worker to start the calculation"
	case portfolio.RunRunning:
		return "Calculation running"
	case portfolio.RunCompleted:
		if st.ThroughDate == nil {
			return "Completed: analytics were already up to date"
		}
		return fmt.Sprintf("Completed: %d days calculated through %s", st.Progress.DaysDone, *st.ThroughDate)
	case portfolio.RunWaitingForPrices:
		return "Stopped: waiting for market prices of the latest trading day; it resumes when they arrive"
	case portfolio.RunPartial:
		return fmt.Sprintf("Failed after %d of %d days; it is retried automatically", st.Progress.DaysDone, st.Progress.DaysTotal)
	case portfolio.RunFailed:
		return "Failed; it is retried automatically"
	}
	return st.Status
}

func dateString(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.Format(time.DateOnly)
	return &s
}

// queryDate parses the optional query parameter name as YYYY-MM-DD, or
// answers 400.
func (s *server) queryDate(w http.ResponseWriter, r *http.Request, name string) (*time.Time, bool) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return nil, true
	}
	d, err := time.Parse(time.DateOnly, raw)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, errInvalidParameter,
			fmt.Sprintf("Invalid %s date %q: use YYYY-MM-DD", name, raw), map[string]string{"parameter": name})
		return nil, false
	}
	return &d, true
}

// snapshots handles GET /api/v1/portfolios/{id}/snapshots?from=&to=.
func (s *server) snapshots(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	from, ok := s.queryDate(w, r, "from")
	if !ok {
		return
	}
	to, ok := s.queryDate(w, r, "to")
	if !ok {
		return
	}
	if from != nil && to != nil && from.After(*to) {
		s.fail(w, r, http.StatusBadRequest, errInvalidParameter, "from must not be after to", map[string]string{"parameter": "from"})
		return
	}
	params := &portfolio.SnapshotListParams{}
	if from != nil {
		params.From = *from
	}
	if to != nil {
		params.To = *to
	}
	stored, err := s.client.SnapshotList(r.Context(), id, params)
	if err != nil {
		s.internal(w, r, fmt.Errorf("snapshots of %s: %w", id, err))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		PortfolioID uuid.UUID             `json:"portfolio_id"`
		Snapshots   []*portfolio.Snapshot `json:"snapshots"`
	}{id, stored})
}

// factorExposures handles GET /api/v1/portfolios/{id}/factor-exposures?date=,
// by default for the latest day with exposures.
func (s *server) factorExposures(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	date, ok := s.queryDate(w, r, "date")
	if !ok {
		return
	}
	if date == nil {
		latest, err := s.client.LatestExposureDate(r.Context(), id)
		if err != nil {
			s.internal(w, r, fmt.Errorf("latest exposure date of %s: %w", id, err))
			return
		}
		if !latest.IsZero() {
			date = &latest
		}
	}
	list := []portfolio.FactorExposure{}
	if date != nil {
		stored, err := s.client.FactorExposureList(r.Context(), id, *date)
		if err != nil && !errors.Is(err, portfolio.ErrNotComputed) {
			s.internal(w, r, fmt.Errorf("factor exposures of %s: %w", id, err))
			return
		}
		if stored != nil {
			list = stored
		}
	}
	writeJSON(w, http.StatusOK, struct {
		PortfolioID uuid.UUID                  `json:"portfolio_id"`
		Date        *string                    `json:"date"`
		Factors     []portfolio.FactorExposure `json:"factors"`
	}{id, dateString(date), list})
}
