package main

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
)

func (s *server) adminRoutes() {
	s.route("GET", "/api/v1/admin/batch/history", s.admin(s.batchHistory))
	s.route("GET", "/api/v1/admin/batch/history/{run_id}", s.admin(s.batchHistoryRun))
	s.route("GET", "/api/v1/admin/batch/run/current", s.admin(s.batchCurrent))
	s.route("POST", "/api/v1/admin/batch/run", s.admin(s.batchRun))
	s.route("POST", "/api/v1/admin/batch/retry", s.admin(s.batchRetry))
}

// admin lets h answer only when an admin token is configured and the
// request sends it as a bearer token; otherwise the route does not exist
// (404), so that it is not discoverable.
func (s *server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if s.adminToken == "" || !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.adminToken)) != 1 {
			s.fail(w, r, http.StatusNotFound, errNotFound, "No route for "+r.Method+" "+r.URL.Path, nil)
			return
		}
		h(w, r)
	}
}

// runPage is a page of runs, newest first.
type runPage struct {
	Runs       []batchStatusResponse `json:"runs"`
	NextCursor *string               `json:"next_cursor"`
}

func (s *server) runPage(res *portfolio.RunListResult) runPage {
	out := runPage{Runs: make([]batchStatusResponse, len(res.Runs))}
	for i, run := range res.Runs {
		out.Runs[i] = batchStatusOf(run, s.client.Config().Now())
	}
	if res.Next != "" {
		out.NextCursor = &res.Next
	}
	return out
}

// batchHistory handles GET /api/v1/admin/batch/history?limit=&cursor=&portfolio_id=.
func (s *server) batchHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := s.queryInt(w, r, "limit", portfolio.DefaultRunListLimit, 1, portfolio.MaxRunListLimit)
	if !ok {
		return
	}
	params := &portfolio.RunListParams{Limit: limit, Cursor: q.Get("cursor")}
	if raw := q.Get("portfolio_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, errInvalidID, "portfolio_id is not a UUID", map[string]string{"parameter": "portfolio_id"})
			return
		}
		params.PortfolioID = id
	}
	res, err := s.client.RunList(r.Context(), params)
	if errors.Is(err, portfolio.ErrInvalidCursor) {
		s.fail(w, r, http.StatusBadRequest, errInvalidParameter, "cursor is not one this API returned", map[string]string{"parameter": "cursor"})
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.runPage(res))
}

// batchHistoryRun handles GET /api/v1/admin/batch/history/{run_id}.
func (s *server) batchHistoryRun(w http.ResponseWriter, r *http.Request) {
	runID, ok := s.pathID(w, r, "run_id", "batch run")
	if !ok {
		return
	}
	run, err := s.client.RunGet(r.Context(), uuid.Nil, runID)
	if errors.Is(err, portfolio.ErrRunNotFound) {
		s.fail(w, r, http.StatusNotFound, errNotFound, "Batch run "+runID.String()+" not found",
			map[string]string{"resource": "batch_run", "id": runID.String()})
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, batchStatusOf(run, s.client.Config().Now()))
}

// batchCurrent handles GET /api/v1/admin/batch/run/current: the runs
// running or waiting for a worker.
func (s *server) batchCurrent(w http.ResponseWriter, r *http.Request) {
	res, err := s.client.RunList(r.Context(), &portfolio.RunListParams{
		Statuses: []portfolio.RunStatus{portfolio.RunRunning, portfolio.RunPending}, Limit: portfolio.MaxRunListLimit})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	page := s.runPage(res)
	running := 0
	for _, run := range res.Runs {
		if run.Status == portfolio.RunRunning {
			running++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"running": running, "pending": len(res.Runs) - running,
		"runs": page.Runs, "truncated": res.Next != ""})
}

// portfolioIDs reads an optional {"portfolio_ids": [...]} body.
func (s *server) portfolioIDs(w http.ResponseWriter, r *http.Request) ([]uuid.UUID, bool) {
	var req struct {
		PortfolioIDs []uuid.UUID `json:"portfolio_ids"`
	}
	if r.ContentLength != 0 && r.Header.Get("Content-Type") != "" {
		if !s.decodeJSON(w, r, &req) {
			return nil, false
		}
	}
	return req.PortfolioIDs, true
}

// batchRun handles POST /api/v1/admin/batch/run: request backfills of the
// listed portfolios, or of every live portfolio.
func (s *server) batchRun(w http.ResponseWriter, r *http.Request) {
	ids, ok := s.portfolioIDs(w, r)
	if !ok {
		return
	}
	if len(ids) == 0 {
		all, err := s.client.PortfolioList(r.Context(), nil)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		for _, p := range all {
			ids = append(ids, p.ID)
		}
	}
	runs := []*portfolio.Run{}
	var missing []uuid.UUID
	for _, id := range ids {
		run, err := s.client.RequestBackfill(r.Context(), id, portfolio.TriggerManual)
		if errors.Is(err, portfolio.ErrNotFound) {
			missing = append(missing, id)
			continue
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
		runs = append(runs, run)
	}
	if missing == nil {
		missing = []uuid.UUID{}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"requested": len(runs), "runs": runs, "not_found": missing})
}

// batchRetry handles POST /api/v1/admin/batch/retry: retry the listed
// portfolios, or every quarantined one.
func (s *server) batchRetry(w http.ResponseWriter, r *http.Request) {
	ids, ok := s.portfolioIDs(w, r)
	if !ok {
		return
	}
	if len(ids) == 0 {
		res, err := s.rec.RetryAllQuarantined(r.Context())
		if err != nil {
			s.internal(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"retried": res.Retried, "portfolio_ids": res.PortfolioIDs})
		return
	}
	retried := []uuid.UUID{}
	for _, id := range ids {
		if _, err := s.rec.RetryPortfolio(r.Context(), id); err != nil && !errors.Is(err, portfolio.ErrNotFound) {
			s.internal(w, r, err)
			return
		} else if err == nil {
			retried = append(retried, id)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"retried": len(retried), "portfolio_ids": retried})
}
