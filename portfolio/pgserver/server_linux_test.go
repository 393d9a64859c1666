//go:build linux

package pgserver_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigmasight/backfill/portfolio/pgserver"
)

// The postmaster dies with its program through Linux's parent-death
// signal (see the package documentation); elsewhere it does not.

// TestServerDiesWithProgram kills a program running a server and checks
// that the postmaster goes with it.
func TestServerDiesWithProgram(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProgram$")
	cmd.Env = append(os.Environ(), "PGSERVER_HELPER=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper program: %v", err)
	}
	dataDir := strings.TrimSpace(strings.TrimPrefix(line, "data_dir="))
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(dataDir)) })
	pid := postmasterPID(t, dataDir)

	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for alive(pid) {
		select {
		case <-deadline:
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postmaster %d still runs 10s after its program was killed", pid)
		case <-tick.C:
		}
	}
}

// TestHelperProgram is the program killed by TestServerDiesWithProgram.
func TestHelperProgram(t *testing.T) {
	if os.Getenv("PGSERVER_HELPER") != "1" {
		return
	}
	srv, err := pgserver.Start(context.Background(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("data_dir=%s\n", srv.DataDir())
	select {} // until killed
}

func postmasterPID(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// alive reports whether pid runs (a zombie, dead but not yet reaped by a
// container's init, counts as gone).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}
