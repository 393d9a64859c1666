package main

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes every route of the API (OpenAPI 3.0); the
// tests check that each registered route is in it and that every response
// they see validates against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI handles GET /openapi.json.
func (s *server) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openAPIDocument) //nolint:errcheck // the client went away
}
