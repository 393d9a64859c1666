package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// openInput opens a command's input file argument, "-" meaning standard
// input. A named file must be a regular file (checkInputFile), so that a
// FIFO nobody writes to, a device or a directory is invalid input at once
// rather than a hang or a late failure. Reads from standard input end with
// ctx's error when ctx ends (a signal), even while blocked.
func openInput(ctx context.Context, a *app, name string) (io.Reader, func(), error) {
	if name == "-" {
		return &ctxReader{ctx: ctx, r: a.stdin}, func() {}, nil
	}
	if err := checkInputFile(name); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, &invalidError{err}
	}
	return f, func() { f.Close() }, nil
}

// checkInputFile returns an invalid-input error unless name is a regular
// file (after symbolic links). It does not open the file: opening a FIFO
// blocks until a writer comes.
func checkInputFile(name string) error {
	st, err := os.Stat(name)
	if err != nil {
		return &invalidError{err}
	}
	if st.Mode().IsRegular() {
		return nil
	}
	var kind string
	switch m := st.Mode(); {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a block device"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	default:
		kind = "not a regular file"
	}
	return invalidf("%s is %s: give a regular file (or - for standard input where a command takes it)", name, kind)
}

// ctxReader reads from r until ctx ends; then Read returns ctx's error at
// once, even while a read of r is blocked (standard input from a terminal or
// a FIFO nobody writes to). The blocked read is left to the process's exit:
// an *os.File that is not pollable cannot be interrupted.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	buf []byte
}

type readResult struct {
	n   int
	err error
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("read standard input: %w", err)
	}
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	// The read fills a buffer of the reader's own: p must not be written
	// after Read has returned.
	buf := c.buf[:len(p)]
	done := make(chan readResult, 1)
	go func() {
		n, err := c.r.Read(buf)
		done <- readResult{n, err}
	}()
	select {
	case res := <-done:
		return copy(p, buf[:res.n]), res.err
	case <-c.ctx.Done():
		c.buf = nil // still being written by the abandoned read
		return 0, fmt.Errorf("read standard input: %w", c.ctx.Err())
	}
}

// defaultConnectTimeout bounds connecting to PostgreSQL (dial, TLS,
// authentication) when neither the URL (connect_timeout) nor
// PGCONNECT_TIMEOUT sets a timeout, so that a server that accepts and never
// answers fails the command instead of hanging it.
const defaultConnectTimeout = 10 * time.Second

// parseDatabaseURL parses a PostgreSQL URL or keyword/value string, with
// defaultConnectTimeout when it sets no connect_timeout. An explicit
// connect_timeout=0 keeps libpq's meaning: wait indefinitely.
func parseDatabaseURL(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if cfg.ConnConfig.ConnectTimeout == 0 && !strings.Contains(url, "connect_timeout") && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	return cfg, nil
}
