package pgserver

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Defaults for Options.
const (
	// DatabaseDefault is the database Start creates when Options.Database
	// is empty.
	DatabaseDefault = "backfill"
	// StartTimeoutDefault bounds how long Start waits for the server to
	// accept connections when Options.StartTimeout is zero.
	StartTimeoutDefault = 60 * time.Second
	// MaxConnections is the server's max_connections setting.
	MaxConnections = 200
)

// SuperUser is the superuser role of every cluster this package creates
// (initdb -U postgres); ConnString connects as it, without a password.
const SuperUser = "postgres"

// ErrNoBinaries is returned (wrapped) by FindBinDir and Start when no
// PostgreSQL server binaries can be found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) found: install PostgreSQL's server binaries (`apt-get install postgresql`) or set DATABASE_URL / TEST_DATABASE_URL to use an existing server")

// Options configures Start. A nil *Options means every default: a
// throwaway cluster in a new temporary directory on a free port.
type Options struct {
	// DataDir is the cluster's data directory. Empty means a new temporary
	// directory, tuned for speed (fsync off) and removed by Stop. A
	// directory that already holds a cluster (a PG_VERSION file) is reused
	// as is; a missing or empty one is initialised with initdb, and keeps
	// fsync on.
	DataDir string
	// TempDir is where the temporary directory of a throwaway cluster
	// (empty DataDir) is made. Empty means /dev/shm when it is a tmpfs with
	// at least 1 GiB free, else os.TempDir(): a throwaway cluster need not
	// survive a reboot, and on a busy disk creating databases is many times
	// faster in memory. Set TMPDIR or this field to keep it on disk.
	TempDir string
	// BinDir holds the PostgreSQL server binaries (initdb, postgres).
	// Empty means the result of FindBinDir.
	BinDir string
	// Port is the TCP port the server listens on at 127.0.0.1. 0 means a
	// free port chosen by Start; Restart keeps it.
	Port int
	// Database is created on start when it does not exist yet. Default
	// DatabaseDefault ("backfill").
	Database string
	// Logger receives start and stop events (keys data_dir, port).
	// Default discards.
	Logger *slog.Logger
	// StartTimeout bounds the wait, in Start and Restart, for the server to
	// accept connections. Default StartTimeoutDefault (60s).
	StartTimeout time.Duration
}

// withDefaults returns a copy of opts with defaults filled in.
func (opts *Options) withDefaults() Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Database = cmp.Or(o.Database, DatabaseDefault)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.StartTimeout = cmp.Or(o.StartTimeout, StartTimeoutDefault)
	return o
}

func (o Options) validate() error {
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("port %d: use 1..65535, or 0 for a free port", o.Port)
	}
	if o.StartTimeout < 0 {
		return fmt.Errorf("start timeout %s: use a positive duration, or 0 for the default %s", o.StartTimeout, StartTimeoutDefault)
	}
	if len(o.Database) > 63 || strings.ContainsRune(o.Database, 0) {
		return fmt.Errorf("database %q: use a name of at most 63 bytes without NUL", o.Database)
	}
	return nil
}

// Server is a PostgreSQL server run from the machine's installed binaries,
// as a child process of this program. Create one with Start, and Stop it
// when done. Its methods are safe for concurrent use.
type Server struct {
	opts     Options
	logger   *slog.Logger
	binDir   string
	dataDir  string
	sockDir  string
	tempRoot string   // the temporary directory of a throwaway cluster, removed by Stop
	ownSock  bool     // sockDir is a temporary directory of its own, removed by Stop
	lock     *os.File // holds the flock that marks tempRoot as alive
	port     int
	autoPort bool
	fastTemp bool        // throwaway cluster: fsync and friends off
	inMemory bool        // throwaway cluster on a tmpfs
	runAs    *credential // nil: run as this process's user

	mu      sync.Mutex
	proc    *process // nil when not running
	stopped bool
}

// process is one run of the postmaster.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the postmaster has exited
	err  error         // its exit status, set before done is closed
	log  string        // path of the server log
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Start starts a PostgreSQL server as described by opts (nil means
// defaults), initialising its data directory first when needed, and
// returns once the server accepts connections and Options.Database exists.
//
// When this process runs as root, initdb and postgres run as the
// "postgres" OS user, which must exist; the data directory is chowned to
// it. The server listens on 127.0.0.1 only, trusts every local
// connection, and is killed by the kernel if this process dies (see the
// package documentation).
func Start(ctx context.Context, opts *Options) (*Server, error) {
	began := time.Now()
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if err := supported(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s := &Server{opts: o, logger: o.Logger, port: o.Port, autoPort: o.Port == 0}

	var err error
	s.binDir = o.BinDir
	if s.binDir == "" {
		if s.binDir, err = FindBinDir(); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
	} else if err := checkBinDir(s.binDir); err != nil {
		return nil, fmt.Errorf("start postgres: BinDir %s: %w", s.binDir, err)
	}
	if os.Geteuid() == 0 {
		s.runAs, err = postgresCredential()
		if err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
	}

	// From here on, a failure must not leave a temporary directory behind.
	ok := false
	defer func() {
		if !ok {
			s.removeDirs()
		}
	}()
	if o.DataDir == "" {
		err = s.makeTempDirs()
	} else {
		err = s.preparePersistentDir(o.DataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if _, err := os.Stat(filepath.Join(s.dataDir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := s.initdb(ctx); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	} else if err := s.checkVersion(ctx); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	// A port chosen here may be taken by someone else before postgres
	// binds it; then try another.
	for attempt := 1; ; attempt++ {
		if s.autoPort {
			if s.port, err = freePort(); err != nil {
				return nil, fmt.Errorf("start postgres: choose a port: %w", err)
			}
		}
		err = s.startLocked(ctx)
		if err == nil || !s.autoPort || attempt == 3 || !errors.Is(err, errPortInUse) {
			break
		}
		s.logger.Debug("postgres port taken, trying another", "port", s.port)
	}
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if err := s.ensureDatabase(ctx); err != nil {
		s.stopAfterFailure()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	ok = true
	s.logger.Info("postgres started", "data_dir", s.dataDir, "port", s.port,
		"temporary", s.tempRoot != "", "bin_dir", s.binDir, "elapsed", time.Since(began).Round(time.Millisecond))
	return s, nil
}

// ConnString returns a URL connecting to database on this server as
// SuperUser: postgres://postgres@127.0.0.1:PORT/DATABASE?sslmode=disable.
// An empty database means Options.Database.
func (s *Server) ConnString(database string) string {
	if database == "" {
		database = s.opts.Database
	}
	return s.connString(database)
}

func (s *Server) connString(database string) string { return connURL(s.port, database) }

// connURL is the URL of database on a server of this package at port.
func connURL(port int, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(SuperUser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port returns the TCP port the server listens on at 127.0.0.1.
func (s *Server) Port() int { return s.port }

// DataDir returns the absolute path of the cluster's data directory.
func (s *Server) DataDir() string { return s.dataDir }

// LogFile returns the path of the current server log (pgserver.log in the
// data directory; the previous run's log is kept as pgserver.log.1).
func (s *Server) LogFile() string { return filepath.Join(s.dataDir, logName) }

// Stop shuts the server down: a fast shutdown (open sessions are
// disconnected, in-flight transactions rolled back, and a checkpoint
// written), escalating to an immediate shutdown and then SIGKILL if ctx
// ends first. It then removes a temporary data directory. Calling Stop
// again returns nil.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	err := s.stopLocked(ctx)
	s.removeDirs()
	s.logger.Info("postgres stopped", "data_dir", s.dataDir, "port", s.port, "removed", s.tempRoot != "")
	if err != nil {
		return fmt.Errorf("stop postgres: %w", err)
	}
	return nil
}

// Restart stops the server (fast shutdown, as Stop) and starts it again on
// the same port and data directory. Sessions are disconnected; committed
// data is kept. If the port was taken in between, Restart fails with the
// server's log in the error.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("restart postgres: server was stopped; call Start for a new one")
	}
	if err := s.stopLocked(ctx); err != nil {
		return fmt.Errorf("restart postgres: %w", err)
	}
	if err := s.startLocked(ctx); err != nil {
		return fmt.Errorf("restart postgres: %w", err)
	}
	s.logger.Info("postgres restarted", "data_dir", s.dataDir, "port", s.port)
	return nil
}

// FindBinDir returns the directory holding PostgreSQL's server binaries:
// where initdb on PATH lives (symbolic links resolved, so that postgres is
// found next to it), else `pg_config --bindir`, else the newest
// /usr/lib/postgresql/*/bin (Debian, Ubuntu), /usr/pgsql-*/bin (RHEL) or
// /usr/local/pgsql/bin. The error wraps ErrNoBinaries.
func FindBinDir() (string, error) {
	var tried []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if abs, err := filepath.Abs(filepath.Dir(real)); err == nil {
				if checkBinDir(abs) == nil {
					return abs, nil
				}
				tried = append(tried, abs)
			}
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if checkBinDir(dir) == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"} {
		dirs, _ := filepath.Glob(pattern)
		// Newest major version first: compare numerically, so 10 > 9.
		slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
		for _, dir := range dirs {
			if checkBinDir(dir) == nil {
				return dir, nil
			}
			tried = append(tried, dir)
		}
	}
	if checkBinDir("/usr/local/pgsql/bin") == nil {
		return "/usr/local/pgsql/bin", nil
	}
	if len(tried) > 0 {
		return "", fmt.Errorf("%w (incomplete installations in %s)", ErrNoBinaries, strings.Join(tried, ", "))
	}
	return "", ErrNoBinaries
}

var digits = regexp.MustCompile(`[0-9]+`)

// versionOf returns the first number in a path such as
// /usr/lib/postgresql/15/bin, or 0.
func versionOf(path string) int {
	n, _ := strconv.Atoi(digits.FindString(path))
	return n
}

// checkBinDir reports whether dir holds executable initdb and postgres.
func checkBinDir(dir string) error {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("%w: %s missing", ErrNoBinaries, name)
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%w: %s is not executable", ErrNoBinaries, filepath.Join(dir, name))
		}
	}
	return nil
}

// postgresCredential returns the "postgres" OS user that runs the server
// when this process is root: PostgreSQL refuses to run as root.
func postgresCredential() (*credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to run as root: create a \"postgres\" OS user to run it (useradd --system postgres) or run as a non-root user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("OS user postgres has a non-numeric uid %q or gid %q", u.Uid, u.Gid)
	}
	var groups []uint32
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				groups = append(groups, uint32(g))
			}
		}
	}
	return &credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}, nil
}

const (
	tempPrefix = "pgserver-"
	lockName   = "pgserver.lock"
	logName    = "pgserver.log"
	// sockFile is the longest name postgres creates in its socket directory.
	sockFile = "/.s.PGSQL.65535.lock"
	// maxSockPath is the usable length of a Unix socket path (sun_path is
	// 108 bytes including the terminating NUL).
	maxSockPath = 107
)

// makeTempDirs creates the layout of a throwaway cluster:
// TMP/pgserver-N/{pgserver.lock,data,sock}. The lock file is held with
// flock for as long as this process lives, so that a later Start can tell
// the directories of crashed processes from live ones and remove them.
func (s *Server) makeTempDirs() error {
	base := s.opts.TempDir
	if base == "" {
		base = defaultTempDir()
	}
	sweepStaleTempDirs(s.logger, base)
	if len(base)+len("/"+tempPrefix+"1234567890/sock")+len(sockFile) > maxSockPath {
		base = "/tmp" // the socket path would be too long for the kernel
	}
	root, err := os.MkdirTemp(base, tempPrefix)
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	s.tempRoot = root
	lock, err := os.OpenFile(filepath.Join(root, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("create lock file: %w", err)
	}
	s.lock = lock
	if err := lockFile(lock); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	fmt.Fprintf(lock, "%d\n", os.Getpid())
	s.dataDir = filepath.Join(root, "data")
	s.sockDir = filepath.Join(root, "sock")
	s.fastTemp = true
	s.inMemory = isTmpfs(root)
	for _, dir := range []string{s.dataDir, s.sockDir} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	return s.chownToRunAs(root, s.dataDir, s.sockDir)
}

// sweepStaleTempDirs removes the temporary directories of throwaway
// clusters whose process died without calling Stop (killed, or a test
// binary that timed out): their lock file is no longer locked. Young
// directories are skipped: their creator may not have locked them yet.
func sweepStaleTempDirs(logger *slog.Logger, base string) {
	var dirs []string
	for _, b := range slices.Compact([]string{base, os.TempDir(), "/tmp"}) {
		more, _ := filepath.Glob(filepath.Join(b, tempPrefix+"*"))
		dirs = append(dirs, more...)
	}
	for _, dir := range dirs {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		f, err := os.Open(filepath.Join(dir, lockName))
		if err != nil {
			continue // not ours, or not yet complete
		}
		if lockFile(f) == nil {
			if err := os.RemoveAll(dir); err == nil {
				logger.Info("removed stale temporary postgres directory", "data_dir", filepath.Join(dir, "data"))
			}
		}
		f.Close()
	}
}

// preparePersistentDir creates or checks a data directory to keep.
func (s *Server) preparePersistentDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	s.dataDir = abs
	if s.runAs != nil {
		if err := checkReachable(abs, s.runAs); err != nil {
			return err
		}
	}
	// Parents made here must let the server's OS user pass; the data
	// directory itself is private.
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := os.Mkdir(abs, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create data directory: %w", err)
	}
	_, err = os.Stat(filepath.Join(abs, "PG_VERSION"))
	initialised := err == nil
	if !initialised {
		entries, err := os.ReadDir(abs)
		if err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		if len(entries) > 0 {
			return fmt.Errorf("data directory %s is neither empty nor a PostgreSQL data directory (no PG_VERSION); choose a new or empty directory", abs)
		}
		if err := s.chownToRunAs(abs); err != nil {
			return err
		}
	} else if s.runAs != nil {
		fi, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		if uid, _, ok := fileOwner(fi); ok && uid != s.runAs.Uid {
			return fmt.Errorf("data directory %s belongs to uid %d, but the server runs as the postgres OS user (uid %d): run `chown -R postgres: %s`", abs, uid, s.runAs.Uid, abs)
		}
	}

	// The socket goes into the data directory when the path is short
	// enough for the kernel and plain enough for the setting's list
	// syntax, else into a private temporary directory.
	if len(abs)+len(sockFile) <= maxSockPath && !strings.ContainsAny(abs, ", \"\\") {
		s.sockDir = abs
		return nil
	}
	sock, err := os.MkdirTemp("/tmp", "pgsock-")
	if err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	s.sockDir, s.ownSock = sock, true
	return s.chownToRunAs(sock)
}

// checkReachable reports an error when the existing directories above dir
// cannot be traversed by the OS user in cred (e.g. a data directory under
// /root).
func checkReachable(dir string, cred *credential) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) && p != filepath.Dir(p) {
			continue // to be created, passable
		}
		if err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		uid, gid, ok := fileOwner(fi)
		if !ok {
			return nil
		}
		perm := fi.Mode().Perm()
		reachable := perm&0o001 != 0 ||
			(uid == cred.Uid && perm&0o100 != 0) ||
			((gid == cred.Gid || slices.Contains(cred.Groups, gid)) && perm&0o010 != 0)
		if !reachable {
			return fmt.Errorf("data directory %s: the postgres OS user, which runs the server, cannot enter %s (mode %v); choose a data directory elsewhere or run `chmod o+x %s`", dir, p, perm, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// chownToRunAs gives paths to the OS user that runs the server, when that
// is not this process's user.
func (s *Server) chownToRunAs(paths ...string) error {
	if s.runAs == nil {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, int(s.runAs.Uid), int(s.runAs.Gid)); err != nil {
			return fmt.Errorf("give %s to the postgres OS user: %w", p, err)
		}
	}
	return nil
}

// removeDirs removes what Start created temporarily.
func (s *Server) removeDirs() {
	if s.ownSock && s.sockDir != "" {
		os.RemoveAll(s.sockDir)
	}
	if s.tempRoot != "" {
		if err := os.RemoveAll(s.tempRoot); err != nil {
			s.logger.Warn("remove temporary postgres directory", "data_dir", s.dataDir, "error", err)
		}
	}
	if s.lock != nil {
		s.lock.Close() // releases the flock
		s.lock = nil
	}
}

// command returns a command running one of the server binaries as the
// server's OS user, in dir, with messages in English (Start matches them).
// A non-nil ctx kills the command when it ends.
func (s *Server) command(ctx context.Context, name, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, name), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	setCredential(cmd, s.runAs)
	return cmd
}

func (s *Server) initdb(ctx context.Context) error {
	began := time.Now()
	args := []string{
		"-D", s.dataDir,
		"--auth=trust", "-U", SuperUser,
		"--encoding=UTF8", "--locale=C",
		"--no-instructions",
	}
	if s.fastTemp {
		args = append(args, "--no-sync") // the cluster is thrown away anyway
	}
	cmd := s.command(ctx, "initdb", s.dataDir, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb %s: %w\n%s", s.dataDir, err, tail(out, 20))
	}
	s.logger.Info("postgres data directory initialised", "data_dir", s.dataDir, "elapsed", time.Since(began).Round(time.Millisecond))
	return nil
}

var majorVersion = regexp.MustCompile(`\(PostgreSQL\) ([0-9]+)`)

// checkVersion refuses a data directory made by another major version of
// PostgreSQL than the binaries', which postgres would refuse less clearly.
func (s *Server) checkVersion(ctx context.Context) error {
	b, err := os.ReadFile(filepath.Join(s.dataDir, "PG_VERSION"))
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	dataVersion := strings.TrimSpace(string(b))
	out, err := s.command(ctx, "postgres", "/", "-V").Output()
	if err != nil {
		return fmt.Errorf("%s -V: %w", filepath.Join(s.binDir, "postgres"), err)
	}
	m := majorVersion.FindSubmatch(out)
	if m == nil || string(m[1]) == dataVersion {
		return nil
	}
	return fmt.Errorf("data directory %s was created by PostgreSQL %s but the binaries in %s are PostgreSQL %s: set BinDir to PostgreSQL %s's binaries, upgrade the directory with pg_upgrade, or use a new DataDir",
		s.dataDir, dataVersion, s.binDir, m[1], dataVersion)
}

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("port in use")

// startLocked starts the postmaster and waits until it accepts
// connections. s.mu is held.
func (s *Server) startLocked(ctx context.Context) error {
	if err := clearStalePID(s.dataDir, s.opts.Database); err != nil {
		return err
	}
	logPath := filepath.Join(s.dataDir, logName)
	os.Rename(logPath, logPath+".1") //nolint:errcheck // there is no previous log on the first start
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	defer logFile.Close() // the child has its own copy of the descriptor

	args := []string{
		"-D", s.dataDir,
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + s.sockDir,
		"-c", "max_connections=" + strconv.Itoa(MaxConnections),
		"-c", "lc_messages=C",
	}
	if s.fastTemp {
		// Durability is worthless for a cluster deleted at Stop; these make
		// commits, CREATE DATABASE and checkpoints much cheaper.
		args = append(args,
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
		)
	}
	if s.inMemory {
		// Dynamic shared memory as files in the data directory, which is in
		// memory anyway: a killed server's segments then go with its
		// directory instead of staying in /dev/shm.
		args = append(args, "-c", "dynamic_shared_memory_type=mmap")
	}
	// The postmaster outlives Start's ctx: it is stopped by Stop alone.
	cmd := s.command(context.WithoutCancel(ctx), "postgres", s.dataDir, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group, and on Linux killed with the forking thread; see
	// setServerProcess.
	setServerProcess(cmd)

	p := &process{cmd: cmd, done: make(chan struct{}), log: logPath}
	if err := startPinned(p); err != nil {
		return fmt.Errorf("run %s: %w", cmd.Path, err)
	}
	s.proc = p
	if err := s.waitReady(ctx, p); err != nil {
		s.stopAfterFailure()
		return err
	}
	return nil
}

// startPinned starts p's command from a goroutine locked to its OS thread,
// which then waits for the process and exits with it. Pdeathsig is tied to
// the forking thread, not the process, so the thread must live exactly as
// long as the postmaster: an unlocked thread could be ended by the Go
// runtime at any time (killing a healthy server), while this one is used
// by nothing else and ends, without being unlocked, after the postmaster
// has exited.
func startPinned(p *process) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread is discarded when this goroutine
		// returns.
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return <-started
}

// waitReady polls a connection until the server accepts it, the
// postmaster exits, or the start timeout or ctx ends.
func (s *Server) waitReady(parent context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(parent, s.opts.StartTimeout)
	defer cancel()
	// A connection attempt must not outlast the postmaster: another program
	// holding the port may accept it and never answer.
	ctx, cancelExited := context.WithCancel(ctx)
	defer cancelExited()
	go func() {
		select {
		case <-p.done:
			cancelExited()
		case <-ctx.Done():
		}
	}()
	conn := s.connString("postgres")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		c, err := pgx.Connect(attempt, conn)
		cancelAttempt()
		if err == nil {
			c.Close(ctx)
			return nil
		}
		lastErr = err
		if p.exited() {
			return s.exitError(p)
		}
		select {
		case <-p.done:
			return s.exitError(p)
		case <-ctx.Done():
			if p.exited() {
				return s.exitError(p)
			}
			if parent.Err() != nil {
				return fmt.Errorf("wait for server on port %d: %w", s.port, parent.Err())
			}
			return fmt.Errorf("server on port %d not ready after %s (last attempt: %v); %s:\n%s",
				s.port, s.opts.StartTimeout, lastErr, s.logName(p), logTail(p.log))
		case <-tick.C:
		}
	}
}

// exitError describes a postmaster that exited during start.
func (s *Server) exitError(p *process) error {
	logText := logTail(p.log)
	if strings.Contains(logText, "Address already in use") {
		return fmt.Errorf("%w: port %d on 127.0.0.1 is taken by another program; choose another Options.Port (or 0 for a free one); %s:\n%s",
			errPortInUse, s.port, s.logName(p), logText)
	}
	return fmt.Errorf("server exited during start (%v); %s:\n%s", p.err, s.logName(p), logText)
}

// logName names the server log in an error; a temporary one is removed
// with its directory.
func (s *Server) logName(p *process) string {
	if s.tempRoot != "" {
		return "server log"
	}
	return "server log " + p.log
}

// stopLocked stops the postmaster, if running: SIGINT (fast shutdown);
// when ctx ends first, SIGQUIT (immediate shutdown) and at last SIGKILL
// to the whole process group. s.mu is held.
func (s *Server) stopLocked(ctx context.Context) error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	if p.exited() {
		if p.err != nil {
			s.logger.Warn("postgres had exited on its own", "data_dir", s.dataDir, "port", s.port, "error", p.err)
		}
		return nil
	}
	p.cmd.Process.Signal(os.Interrupt) //nolint:errcheck // an exited process is handled below
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	p.cmd.Process.Signal(sigQuit) //nolint:errcheck
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		killGroup(p.cmd.Process) //nolint:errcheck
		<-p.done
	}
	return fmt.Errorf("fast shutdown did not finish in time, used immediate shutdown (the next start recovers from the WAL): %w", ctx.Err())
}

// stopAfterFailure stops a server whose start failed, within a bound.
// s.mu is held.
func (s *Server) stopAfterFailure() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.stopLocked(ctx); err != nil {
		s.logger.Warn("stop postgres after failed start", "data_dir", s.dataDir, "port", s.port, "error", err)
	}
}

// clearStalePID removes a postmaster.pid left by a server that is gone;
// database names the database a caller would connect to in the message
// about a data directory in use.
// postgres itself ignores such a file only when its PID is unused, which
// in containers it often is not; it is kept (and postgres left to decide)
// when any live process still works in the data directory, such as the
// server or a backend that outlived it, because two servers on one data
// directory corrupt it.
func clearStalePID(dataDir, database string) error {
	pidPath := filepath.Join(dataDir, "postmaster.pid")
	b, err := os.ReadFile(pidPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", pidPath, err)
	}
	filePID, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	users, err := processesIn(dataDir)
	if err != nil {
		return nil // no /proc: let postgres judge the file
	}
	if len(users) > 0 {
		if slices.Contains(users, filePID) {
			// Most likely the embedded database of a program that is
			// still running (a backfilld run next door): stopping it would
			// pull the database from under that program, so the way out is
			// to share the server or use another directory.
			where := ""
			if lines := strings.Split(string(b), "\n"); len(lines) > 3 {
				if port, err := strconv.Atoi(strings.TrimSpace(lines[3])); err == nil && port > 0 {
					where = fmt.Sprintf(" on port %d; connect to it instead (%s)", port, connURL(port, cmp.Or(database, DatabaseDefault)))
				}
			}
			return fmt.Errorf("data directory %s is in use by a running PostgreSQL server (pid %d), likely the embedded database of another running program%s, "+
				"or choose another DataDir", dataDir, filePID, where)
		}
		return fmt.Errorf("data directory %s is in use by process %d, left over from an earlier server: wait for it to exit or kill it", dataDir, users[0])
	}
	if err := os.Remove(pidPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", pidPath, err)
	}
	// Socket lock files of the dead server, when its socket directory is
	// the data directory; they have the same PID problem.
	stale, _ := filepath.Glob(filepath.Join(dataDir, ".s.PGSQL.*"))
	for _, f := range stale {
		os.Remove(f)
	}
	return nil
}

// processesIn returns the processes whose working directory is dir
// (postgres processes work in their data directory).
func processesIn(dir string) ([]int, error) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd"); err == nil && cwd == dir {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// ensureDatabase creates Options.Database when missing.
func (s *Server) ensureDatabase(ctx context.Context) error {
	name := s.opts.Database
	if name == "postgres" {
		return nil
	}
	conn, err := pgx.Connect(ctx, s.connString("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		err = nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	s.logger.Info("postgres database created", "database", name, "port", s.port)
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// logTail returns the last lines of the log at path, indented.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "  (no log: " + err.Error() + ")"
	}
	defer f.Close()
	const max = 8 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		f.Seek(fi.Size()-max, io.SeekStart) //nolint:errcheck // then read from the start
	}
	b, _ := io.ReadAll(io.LimitReader(f, max))
	return tail(b, 30)
}

// tail returns the last n lines of b, indented.
func tail(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var sb strings.Builder
	for i, l := range lines {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString("  ")
		sb.Write(l)
	}
	return sb.String()
}
