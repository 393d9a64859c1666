package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseDatabaseURLConnectTimeout(t *testing.T) {
	t.Setenv("PGCONNECT_TIMEOUT", "") // not parallel: the environment
	for _, tt := range []struct {
		url  string
		want time.Duration
	}{
		{"postgres://u@db.example:5432/app", defaultConnectTimeout},
		{"postgres://u@db.example/app?sslmode=disable", 10 * time.Second},
		{"host=db.example user=u dbname=app", 10 * time.Second},
		{"postgres://u@db.example/app?connect_timeout=3", 3 * time.Second},
		{"host=db.example connect_timeout=7", 7 * time.Second},
		{"postgres://u@db.example/app?connect_timeout=0", 0}, // libpq's "wait indefinitely"
	} {
		cfg, err := parseDatabaseURL(tt.url)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		if got := cfg.ConnConfig.ConnectTimeout; got != tt.want {
			t.Errorf("%s: connect timeout %s, want %s", tt.url, got, tt.want)
		}
	}
	t.Setenv("PGCONNECT_TIMEOUT", "4")
	if cfg, err := parseDatabaseURL("postgres://u@db.example/app"); err != nil || cfg.ConnConfig.ConnectTimeout != 4*time.Second {
		t.Errorf("PGCONNECT_TIMEOUT=4: %v, %v; want 4s", cfg.ConnConfig.ConnectTimeout, err)
	}
}

// blockingReader blocks in Read until closed.
type blockingReader struct{ closed chan struct{} }

func (r blockingReader) Read([]byte) (int, error) {
	<-r.closed
	return 0, io.EOF
}

func TestCtxReader(t *testing.T) {
	t.Parallel()
	// Data flows through unchanged.
	got, err := io.ReadAll(&ctxReader{ctx: context.Background(), r: strings.NewReader("a,b\n1,2\n")})
	if err != nil || string(got) != "a,b\n1,2\n" {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
	// A read blocked on its source ends when the context does.
	ctx, cancel := context.WithCancel(context.Background())
	src := blockingReader{make(chan struct{})}
	defer close(src.closed)
	done := make(chan error, 1)
	go func() {
		_, err := (&ctxReader{ctx: ctx, r: src}).Read(make([]byte, 16))
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5s after the context ended")
	}
}
