package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
)

// Paging of the equity-changes list.
const (
	defaultPageSize = 50
	maxPageSize     = 200
)

func (s *server) portfolioRoutes() {
	s.route("GET", "/api/v1/portfolios", s.listPortfolios)
	s.route("GET", "/api/v1/portfolios/{id}", s.getPortfolio)
	s.route("DELETE", "/api/v1/portfolios/{id}", s.deletePortfolio)
	s.route("GET", "/api/v1/portfolios/{id}/equity-changes", s.listEquityChanges)
	s.route("POST", "/api/v1/portfolios/{id}/equity-changes", s.createEquityChange)
	s.route("GET", "/api/v1/portfolios/{id}/equity-changes/{change_id}", s.getEquityChange)
	s.route("PUT", "/api/v1/portfolios/{id}/equity-changes/{change_id}", s.updateEquityChange)
	s.route("DELETE", "/api/v1/portfolios/{id}/equity-changes/{change_id}", s.deleteEquityChange)
	s.route("GET", "/api/v1/portfolios/{id}/positions", s.listPositions)
	s.route("POST", "/api/v1/portfolios/{id}/positions", s.addPositions)
	s.route("PATCH", "/api/v1/portfolios/{id}/positions/{position_id}", s.closePosition)
}

// allowed lists the methods registered for path, for a 405's Allow.
func (s *server) allowed(path string) string {
	var methods []string
	for _, r := range s.routes {
		m, p, _ := strings.Cut(r, " ")
		if p == path && m != "" && !strings.HasPrefix(r, "*") {
			methods = append(methods, m)
			if m == http.MethodGet {
				methods = append(methods, http.MethodHead)
			}
		}
	}
	return strings.Join(methods, ", ")
}

// listPortfolios handles GET /api/v1/portfolios: the caller's live
// portfolios.
func (s *server) listPortfolios(w http.ResponseWriter, r *http.Request) {
	owner, ok := s.owner(w, r)
	if !ok {
		return
	}
	list, err := s.client.PortfolioList(r.Context(), &portfolio.PortfolioListParams{OwnerID: owner})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if list == nil {
		list = []*portfolio.Portfolio{}
	}
	writeJSON(w, http.StatusOK, struct {
		Portfolios []*portfolio.Portfolio `json:"portfolios"`
		Total      int                    `json:"total"`
	}{list, len(list)})
}

// getPortfolio handles GET /api/v1/portfolios/{id}.
func (s *server) getPortfolio(w http.ResponseWriter, r *http.Request) {
	owner, ok := s.owner(w, r)
	if !ok {
		return
	}
	id, ok := s.pathID(w, r, "id", "portfolio")
	if !ok {
		return
	}
	p, err := s.client.PortfolioGetOwned(r.Context(), owner, id)
	if errors.Is(err, portfolio.ErrNotFound) {
		s.portfolioNotFound(w, r, id)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// deletePortfolio handles DELETE /api/v1/portfolios/{id}: a soft delete.
func (s *server) deletePortfolio(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	if err := s.client.DeletePortfolio(r.Context(), id); err != nil {
		s.changeError(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"portfolio_id": id, "deleted": true,
		"message": "Portfolio deleted; its history is kept and it is no longer backfilled"})
}

// equityChange is a capital flow under the old system's field names:
// a positive amount with a change type.
type equityChange struct {
	ID          uuid.UUID         `json:"id"`
	PortfolioID uuid.UUID         `json:"portfolio_id"`
	ChangeType  string            `json:"change_type"`
	Amount      portfolio.Decimal `json:"amount"`
	ChangeDate  string            `json:"change_date"`
	Notes       *string           `json:"notes"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	DeletedAt   *time.Time        `json:"deleted_at"`
	IsDeleted   bool              `json:"is_deleted"`
}

// Change types of the old system.
const (
	changeContribution = "CONTRIBUTION"
	changeWithdrawal   = "WITHDRAWAL"
)

func equityChangeOf(f *portfolio.StoredFlow) equityChange {
	out := equityChange{ID: f.ID, PortfolioID: f.PortfolioID, ChangeType: changeContribution, Amount: f.Amount,
		ChangeDate: f.Date.Format(time.DateOnly), CreatedAt: f.CreatedAt, UpdatedAt: f.CreatedAt}
	if f.Amount.Sign() < 0 {
		out.ChangeType = changeWithdrawal
		out.Amount = portfolio.MustDecimal(strings.TrimPrefix(f.Amount.String(), "-"))
	}
	if f.Description != "" {
		out.Notes = &f.Description
	}
	return out
}

// equityChangeRequest is the body of POST and PUT equity-changes; on PUT
// every field is optional and keeps its stored value when absent.
type equityChangeRequest struct {
	ChangeType *string            `json:"change_type"`
	Amount     *portfolio.Decimal `json:"amount"`
	ChangeDate *string            `json:"change_date"`
	Notes      *string            `json:"notes"`
}

// flow turns the request into a capital flow over base (nil on create).
func (s *server) flow(w http.ResponseWriter, r *http.Request, req *equityChangeRequest, base *portfolio.StoredFlow) (portfolio.CapitalFlow, bool) {
	var f portfolio.CapitalFlow
	kind, amount := "", ""
	if base != nil {
		f.Date, f.Description = base.Date, base.Description
		amount = strings.TrimPrefix(base.Amount.String(), "-")
		kind = changeContribution
		if base.Amount.Sign() < 0 {
			kind = changeWithdrawal
		}
	}
	bad := func(param, msg string) (portfolio.CapitalFlow, bool) {
		s.fail(w, r, http.StatusBadRequest, errInvalidParameter, msg, map[string]string{"parameter": param})
		return f, false
	}
	if req.ChangeType != nil {
		kind = strings.ToUpper(strings.TrimSpace(*req.ChangeType))
	}
	if kind != changeContribution && kind != changeWithdrawal {
		return bad("change_type", "change_type must be CONTRIBUTION or WITHDRAWAL")
	}
	if req.Amount != nil {
		if req.Amount.Sign() <= 0 {
			return bad("amount", "amount must be positive; change_type says the direction")
		}
		amount = req.Amount.String()
	}
	if amount == "" {
		return bad("amount", "amount is required")
	}
	if kind == changeWithdrawal {
		amount = "-" + amount
	}
	f.Amount = amount
	if req.ChangeDate != nil {
		d, err := portfolio.ParseDate(strings.TrimSpace(*req.ChangeDate))
		if err != nil {
			return bad("change_date", fmt.Sprintf("change_date must be a date YYYY-MM-DD, not %q", *req.ChangeDate))
		}
		if d.After(s.client.Config().Now()) {
			return bad("change_date", "change_date cannot be in the future")
		}
		f.Date = d
	}
	if f.Date.IsZero() {
		return bad("change_date", "change_date is required")
	}
	if req.Notes != nil {
		f.Description = *req.Notes
	}
	return f, true
}

// decodeJSON reads a JSON object body into v, or answers 400/415.
func (s *server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.fail(w, r, http.StatusUnsupportedMediaType, errContentType,
			fmt.Sprintf("Content-Type must be application/json, not %q", r.Header.Get("Content-Type")), nil)
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.tooLarge(w, r)
			return false
		}
		s.fail(w, r, http.StatusBadRequest, errMalformedRequest, "Malformed JSON body: "+err.Error(), nil)
		return false
	}
	if dec.More() {
		s.fail(w, r, http.StatusBadRequest, errMalformedRequest, "Malformed JSON body: more than one value", nil)
		return false
	}
	return true
}

// changeError maps the library's errors of a change to statuses.
func (s *server) changeError(w http.ResponseWriter, r *http.Request, id uuid.UUID, err error) {
	var verr *portfolio.ValidationError
	switch {
	case errors.Is(err, portfolio.ErrNotFound):
		s.portfolioNotFound(w, r, id)
	case errors.Is(err, portfolio.ErrFlowNotFound):
		s.fail(w, r, http.StatusNotFound, errNotFound, "Equity change not found", map[string]string{"resource": "equity_change"})
	case errors.Is(err, portfolio.ErrPositionNotFound):
		s.fail(w, r, http.StatusNotFound, errNotFound, "Position not found", map[string]string{"resource": "position"})
	case errors.As(err, &verr):
		status := http.StatusBadRequest
		if verr.Code == portfolio.CodeCSV001 {
			status = http.StatusRequestEntityTooLarge
		}
		s.fail(w, r, status, string(verr.Code), verr.Message, verr.Details())
	default:
		s.internal(w, r, err)
	}
}

// listEquityChanges handles GET …/equity-changes?page=&page_size=.
func (s *server) listEquityChanges(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	page, ok := s.queryInt(w, r, "page", 1, 1, math.MaxInt32)
	if !ok {
		return
	}
	size, ok := s.queryInt(w, r, "page_size", defaultPageSize, 1, maxPageSize)
	if !ok {
		return
	}
	flows, err := s.client.FlowList(r.Context(), id)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	items := []equityChange{}
	for i := (page - 1) * size; i < len(flows) && i < page*size; i++ {
		items = append(items, equityChangeOf(flows[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "page": page, "page_size": size,
		"total_items": len(flows), "total_pages": (len(flows) + size - 1) / size})
}

// queryInt parses an optional integer query parameter within [lo, hi].
func (s *server) queryInt(w http.ResponseWriter, r *http.Request, name string, def, lo, hi int) (int, bool) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return def, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		s.fail(w, r, http.StatusBadRequest, errInvalidParameter,
			fmt.Sprintf("%s must be an integer from %d to %d, not %q", name, lo, hi, raw), map[string]string{"parameter": name})
		return 0, false
	}
	return n, true
}

// createEquityChange handles POST …/equity-changes: the days from its date
// on are recomputed.
func (s *server) createEquityChange(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	var req equityChangeRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	f, ok := s.flow(w, r, &req, nil)
	if !ok {
		return
	}
	flowID, err := s.client.RecordCapitalFlow(r.Context(), id, f)
	if err != nil {
		s.changeError(w, r, id, err)
		return
	}
	stored, err := s.client.FlowGet(r.Context(), id, flowID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, equityChangeOf(stored))
}

// equityChangeOwned returns the {change_id} flow of the caller's {id}
// portfolio, or answers.
func (s *server) equityChangeOwned(w http.ResponseWriter, r *http.Request) (uuid.UUID, *portfolio.StoredFlow, bool) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return id, nil, false
	}
	changeID, ok := s.pathID(w, r, "change_id", "equity change")
	if !ok {
		return id, nil, false
	}
	f, err := s.client.FlowGet(r.Context(), id, changeID)
	if err != nil {
		s.changeError(w, r, id, err)
		return id, nil, false
	}
	return id, f, true
}

func (s *server) getEquityChange(w http.ResponseWriter, r *http.Request) {
	if _, f, ok := s.equityChangeOwned(w, r); ok {
		writeJSON(w, http.StatusOK, equityChangeOf(f))
	}
}

// updateEquityChange handles PUT …/equity-changes/{change_id}: the days
// from the earlier of its old and new dates on are recomputed.
func (s *server) updateEquityChange(w http.ResponseWriter, r *http.Request) {
	id, old, ok := s.equityChangeOwned(w, r)
	if !ok {
		return
	}
	var req equityChangeRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	f, ok := s.flow(w, r, &req, old)
	if !ok {
		return
	}
	stored, err := s.client.FlowUpdate(r.Context(), id, old.ID, f)
	if err != nil {
		s.changeError(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusOK, equityChangeOf(stored))
}

// deleteEquityChange handles DELETE …/equity-changes/{change_id}.
func (s *server) deleteEquityChange(w http.ResponseWriter, r *http.Request) {
	id, old, ok := s.equityChangeOwned(w, r)
	if !ok {
		return
	}
	if err := s.client.FlowDelete(r.Context(), id, old.ID); err != nil {
		s.changeError(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": old.ID, "portfolio_id": id, "deleted": true})
}

// listPositions handles GET …/positions.
func (s *server) listPositions(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	list, err := s.client.PositionList(r.Context(), id)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"portfolio_id": id, "positions": list, "total": len(list)})
}

// addPositions handles POST …/positions with a positions file (text/csv,
// or multipart csv_file) or JSON {"positions": [...]}: all rows are
// validated, nothing is written if any fails, and the days from the
// earliest entry on are recomputed.
func (s *server) addPositions(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	var body io.Reader
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var req struct {
			Positions []portfolio.PositionInput `json:"positions"`
		}
		if !s.decodeJSON(w, r, &req) {
			return
		}
		if len(req.Positions) == 0 {
			s.fail(w, r, http.StatusBadRequest, errInvalidParameter, "positions must list at least one position",
				map[string]string{"parameter": "positions"})
			return
		}
		body = bytes.NewReader(portfolio.PositionsCSV(req.Positions))
	case "text/csv":
		body = r.Body
	case "multipart/form-data":
		if err := r.ParseMultipartForm(multipartMemory); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.tooLarge(w, r)
				return
			}
			s.fail(w, r, http.StatusBadRequest, errMalformedRequest, "Malformed multipart/form-data body: "+err.Error(), nil)
			return
		}
		defer r.MultipartForm.RemoveAll() //nolint:errcheck // temporary files only
		files := r.MultipartForm.File["csv_file"]
		if len(files) != 1 {
			s.fail(w, r, http.StatusBadRequest, errInvalidParameter, "Send one positions file in csv_file",
				map[string]string{"parameter": "csv_file"})
			return
		}
		f, err := files[0].Open()
		if err != nil {
			s.internal(w, r, err)
			return
		}
		defer f.Close()
		body = f
	default:
		s.fail(w, r, http.StatusUnsupportedMediaType, errContentType,
			"Content-Type must be application/json, text/csv or multipart/form-data", nil)
		return
	}
	res, err := s.client.AddPositions(r.Context(), id, body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.tooLarge(w, r)
			return
		}
		s.changeError(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"portfolio_id": id, "positions_imported": res.PositionsImported,
		"recompute_from": res.RecomputeFrom.Format(time.DateOnly),
		"message":        "Positions added; the days from recompute_from on are being recomputed"})
}

// closePosition handles PATCH …/positions/{position_id} with
// {"exit_date", "exit_price"}: the days from the exit on are recomputed.
func (s *server) closePosition(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownedPortfolio(w, r)
	if !ok {
		return
	}
	posID, ok := s.pathID(w, r, "position_id", "position")
	if !ok {
		return
	}
	var req struct {
		ExitDate  string               `json:"exit_date"`
		ExitPrice portfolio.NumberText `json:"exit_price"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	exit, err := portfolio.ParseDate(strings.TrimSpace(req.ExitDate))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, errInvalidParameter, fmt.Sprintf("exit_date must be a date YYYY-MM-DD, not %q", req.ExitDate),
			map[string]string{"parameter": "exit_date"})
		return
	}
	p, err := s.client.ClosePosition(r.Context(), id, posID, portfolio.PositionClose{ExitDate: exit, ExitPrice: string(req.ExitPrice)})
	if err != nil {
		s.changeError(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
