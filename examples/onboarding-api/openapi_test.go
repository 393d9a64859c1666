package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

func init() {
	// CSV bodies (the template, uploads) are files to the document, not
	// records to decode: the template has comment lines.
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.FileBodyDecoder)
}

// loadOpenAPI parses and validates the served document.
func loadOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

// openAPIPath is a ServeMux pattern's path as the document writes it.
func openAPIPath(pattern string) string {
	return strings.TrimSuffix(pattern, "{$}")
}

// TestOpenAPICoversEveryRoute walks every route registered on the mux and
// finds its operation in the document, and every operation of the
// document among the routes.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	e := newEnv(t)
	s := newServer(e.client, serverOptions{Reconciler: e.rec}).(*server)
	registered := map[string]bool{}
	for _, r := range s.routes {
		if strings.HasPrefix(r, "*") {
			continue
		}
		method, pattern, _ := strings.Cut(r, " ")
		path := openAPIPath(pattern)
		registered[method+" "+path] = true
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s %s is not in openapi.json", method, path)
		}
	}
	if len(registered) < 40 {
		t.Errorf("only %d routes registered", len(registered))
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which no route serves", method, path)
			}
		}
	}
}

// validator is an http.RoundTripper that checks every response against
// the OpenAPI document: the operation of the request's route, its status
// and its body.
type validator struct {
	t      testing.TB
	base   http.RoundTripper
	router routers.Router

	mu   sync.Mutex
	seen map[string]int // "METHOD path-template" → responses validated
}

func newValidator(t testing.TB, base http.RoundTripper) *validator {
	doc := loadOpenAPI(t)
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &validator{t: t, base: base, router: router, seen: map[string]int{}}
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if req.Method == http.MethodHead {
		return resp, nil
	}
	route, params, err := v.router.FindRoute(req)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		// Not a route of the API: it must say so in the error format.
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed &&
			resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusBadRequest {
			v.t.Errorf("%s %s: no operation in openapi.json, yet status %d", req.Method, req.URL.Path, resp.StatusCode)
		}
		return resp, nil
	}
	if err != nil {
		v.t.Errorf("%s %s: find route: %v", req.Method, req.URL.Path, err)
		return resp, nil
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), input); err != nil {
		v.t.Errorf("%s %s: response %d does not match openapi.json: %v\nbody: %.2000s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	v.mu.Lock()
	v.seen[req.Method+" "+route.Path]++
	v.mu.Unlock()
	return resp, nil
}

// validated lists the operations whose responses were validated.
func (v *validator) validated() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for k := range v.seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
