//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// TestProcessInputs runs the built binary on inputs that used to hang it or
// to fail late: input files that are not regular files and a bad
// --http-addr are invalid input (exit 2) before any database work, a FIFO on
// standard input and a server that never answers end on SIGTERM within a
// second, and a silent server fails within the connect timeout.
func TestProcessInputs(t *testing.T) {
	t.Parallel()
	bin := buildBackfilld(t)
	t.Run("NotRegularFiles", func(t *testing.T) {
		t.Parallel()
		testNotRegularFiles(t, bin)
	})
	t.Run("FIFOOnStdinEndsOnSIGTERM", func(t *testing.T) {
		t.Parallel()
		testFIFOOnStdin(t, bin)
	})
	t.Run("SilentServer", func(t *testing.T) {
		t.Parallel()
		testSilentServer(t, bin)
	})
}

// mkfifo makes a named pipe in a temporary directory.
func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "positions.csv")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	return path
}

// Each command given a FIFO nobody writes to, a directory or a device as
// its input file, or run given an impossible --http-addr, exits 2 at once,
// without starting the embedded PostgreSQL (its data directory is never
// created) and so without writing anything.
func testNotRegularFiles(t *testing.T, bin string) {
	fifo, dir := mkfifo(t), t.TempDir()
	onboard := func(file string) []string { return onboardArgs("Brokerage", file) }
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"onboard FIFO", onboard(fifo), fifo + " is a named pipe (FIFO): give a regular file"},
		{"onboard directory", onboard(dir), dir + " is a directory: give a regular file"},
		{"onboard /dev/null", onboard("/dev/null"), "/dev/null is a character device: give a regular file"},
		{"onboard /dev/zero", onboard("/dev/zero"), "/dev/zero is a character device: give a regular file"},
		{"prices import FIFO", []string{"prices", "import", "testdata/prices/good.csv", fifo}, fifo + " is a named pipe (FIFO)"},
		{"prices import directory", []string{"prices", "import", dir}, dir + " is a directory"},
		{"prices import /dev/zero", []string{"prices", "import", "/dev/zero"}, "/dev/zero is a character device"},
		{"run --http-addr port out of range", []string{"run", "--http-addr", "127.0.0.1:99999"}, `invalid --http-addr "127.0.0.1:99999": bad port "99999"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dataDir := filepath.Join(t.TempDir(), "pgdata")
			env := map[string]string{"BACKFILL_DATA_DIR": dataDir, "HOME": t.TempDir(), "BACKFILL_LOG_LEVEL": "warn"}
			start := time.Now()
			r := startProcess(t, bin, env, tt.args...).wait(t, 10*time.Second)
			r.want(t, exitInvalid, tt.want)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s to reject the input", took)
			}
			if strings.Contains(r.stderr, "embedded PostgreSQL") {
				t.Errorf("started the embedded PostgreSQL:\n%s", r.stderr)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Errorf("data directory %s exists (%v): the embedded PostgreSQL was started", dataDir, err)
			}
		})
	}
}

// `onboard -` reading a FIFO that has a writer who never writes blocks in
// read; SIGTERM ends it within a second, with nothing written.
func testFIFOOnStdin(t *testing.T, bin string) {
	db := portfoliotest.NewDB(t)
	fifo := mkfifo(t)
	// Opened for reading and writing: the open does not wait for a writer,
	// and the process's read sees a writer that never writes.
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{"DATABASE_URL": withAppName(t, db.ConnString, "backfilld-stdin"), "BACKFILL_LOG_LEVEL": "warn"}
	p := startProcessStdin(t, bin, env, f, onboardArgs("Brokerage", "-")...)
	p.eventually(t, 20*time.Second, "the process to block reading the FIFO", func() bool { return blockedInPipeRead(t, p.cmd.Process.Pid) })
	start := time.Now()
	p.signal(t, syscall.SIGTERM)
	r := p.wait(t, 5*time.Second)
	if took := time.Since(start); took > time.Second {
		t.Errorf("exited %s after SIGTERM, want within 1s", took)
	}
	r.want(t, exitFailure, "interrupted", "read standard input: context canceled")
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.portfolios`); n != 0 {
		t.Errorf("%d portfolios written", n)
	}
}

// blockedInPipeRead reports whether a thread of process pid waits in the
// kernel's pipe read (wchan pipe_read, anon_pipe_read, or pipe_wait on older
// kernels).
func blockedInPipeRead(t *testing.T, pid int) bool {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err == nil && (strings.Contains(string(b), "pipe_read") || strings.Contains(string(b), "pipe_wait")) {
			return true
		}
	}
	return false
}

// silentServer listens on 127.0.0.1, accepts connections and never answers
// them. It returns the URL of a database on it and the number of
// connections accepted so far.
func silentServer(t *testing.T) (url string, accepted func() int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		var held []net.Conn // accepted and never answered
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
			n.Add(1)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return "postgres://u@" + ln.Addr().String() + "/db?sslmode=disable", n.Load
}

// A server that accepts connections and never answers: the command fails
// within the URL's connect_timeout and, before the default one has passed,
// ends on SIGTERM within a second.
func testSilentServer(t *testing.T, bin string) {
	t.Run("connect_timeout", func(t *testing.T) {
		t.Parallel()
		url, _ := silentServer(t)
		start := time.Now()
		r := startProcess(t, bin, map[string]string{"DATABASE_URL": url + "&connect_timeout=1"}, "status").wait(t, 10*time.Second)
		took := time.Since(start)
		r.want(t, exitFailure, "no answer within the connect timeout of 1s")
		if took < time.Second || took > 3*time.Second {
			t.Errorf("failed after %s, want after the connect timeout of 1s", took)
		}
	})
	t.Run("SIGTERM", func(t *testing.T) {
		t.Parallel()
		url, accepted := silentServer(t)
		p := startProcess(t, bin, map[string]string{"DATABASE_URL": url}, "status")
		p.eventually(t, 5*time.Second, "the process to connect", func() bool { return accepted() > 0 })
		start := time.Now()
		p.signal(t, syscall.SIGTERM)
		r := p.wait(t, 5*time.Second)
		if took := time.Since(start); took > time.Second {
			t.Errorf("exited %s after SIGTERM, want within 1s", took)
		}
		r.want(t, exitFailure, "interrupted")
	})
}
