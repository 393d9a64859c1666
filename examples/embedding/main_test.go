package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func TestMain(m *testing.M) { portfoliotest.Main(m) }

// TestRun serves the application's and the reconciler's endpoints on one
// mux, with one registry, and shuts down cleanly when the context ends.
func TestRun(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	addr := freeAddr(t)
	env := map[string]string{"DATABASE_URL": db.ConnString, "ADDR": addr}
	var logs lockedBuffer

	ctx, cancel := context.WithCancel(context.Background())
	var runErr error
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		runErr = run(ctx, func(k string) string { return env[k] }, &logs)
	}()
	// Before the database is dropped, also when the test fails early.
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(time.Minute):
			t.Error("run still running a minute after the cancel")
		}
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})

	base := "http://" + addr
	for _, path := range []string{"/hello", "/backfill/healthz"} {
		waitFor(t, stopped, &runErr, base+path)
	}
	if body := get(t, base+"/hello"); body != "hello from the application\n" {
		t.Errorf("/hello = %q", body)
	}
	metrics := get(t, base+"/backfill/metrics")
	for _, name := range []string{"backfill_sweeps_total", "go_goroutines", "process_start_time_seconds"} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/backfill/metrics lacks %s", name)
		}
	}
	if body := get(t, base+"/backfill/status"); !strings.Contains(body, `"by_state"`) {
		t.Errorf("/backfill/status = %s", body)
	}

	cancel()
	select {
	case <-stopped:
		if runErr != nil {
			t.Fatalf("run after cancel: %v", runErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s of the cancel")
	}
	if !strings.Contains(logs.String(), `"msg":"shutting down"`) {
		t.Errorf("no JSON shutdown line in the logs")
	}
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitFor polls url until it answers 200, failing when run returns first
// (stopped is closed) or the deadline passes.
func waitFor(t *testing.T, stopped <-chan struct{}, runErr *error, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within 30s (last error %v)", url, err)
		}
		select {
		case <-stopped:
			t.Fatalf("run returned while waiting for %s: %v", url, *runErr)
		case <-tick.C:
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body)
}

// lockedBuffer collects the logs written by run's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
