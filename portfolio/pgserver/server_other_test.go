//go:build !unix

package pgserver_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sigmasight/backfill/portfolio/pgserver"
)

// Where the server cannot run, Start says so and names the way out.
func TestStartNeedsUnix(t *testing.T) {
	srv, err := pgserver.Start(context.Background(), nil)
	if err == nil {
		srv.Stop(context.Background())
		t.Fatal("Start succeeded; want an error")
	}
	if !strings.Contains(err.Error(), "needs a Unix-like system") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("Start: %v; want it to name the Unix requirement and DATABASE_URL", err)
	}
}
