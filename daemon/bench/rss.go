package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// serverRSS samples the resident memory of a PostgreSQL server on this
// machine: the summed proportional set size (Pss, shared pages divided
// among the processes sharing them) of the postmaster and its children,
// read from /proc. Where the server is not readable (another machine,
// another user, no /proc) it reads 0.
type serverRSS struct {
	postmaster int
	peak       int64
}

// newServerRSS finds the postmaster as the parent of one of pool's
// backends.
func newServerRSS(ctx context.Context, pool *pgxpool.Pool) *serverRSS {
	s := &serverRSS{}
	var backend int
	if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return s
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", backend))
	if err != nil {
		return s
	}
	// pid (comm) state ppid …; comm may hold spaces.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) > 1 {
		s.postmaster, _ = strconv.Atoi(fields[1])
	}
	return s
}

// sample reads the server's memory now and keeps the peak.
func (s *serverRSS) sample() {
	if s.postmaster == 0 {
		return
	}
	pids := []string{strconv.Itoa(s.postmaster)}
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", s.postmaster, s.postmaster))
	if err != nil {
		return
	}
	pids = append(pids, strings.Fields(string(children))...)
	var total int64
	for _, pid := range pids {
		total += pssBytes(pid)
	}
	s.peak = max(s.peak, total)
}

// pssBytes is the proportional set size of process pid, 0 when unreadable.
func pssBytes(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/smaps_rollup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
