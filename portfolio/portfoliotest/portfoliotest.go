package portfoliotest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/pgserver"
)

// EnvURL names the environment variable with the connection string of an
// existing PostgreSQL server for the tests (the role needs CREATEDB). When
// it is empty, a throwaway server is started from the installed binaries.
const EnvURL = "TEST_DATABASE_URL"

// TemplatePrefix starts the name of the migrated template database that
// every test database is cloned from; a hash of the migrations completes
// it.
const TemplatePrefix = "tpl_backfill_"

// DB is a database of one test, migrated to portfolio.LatestVersion in
// schema portfolio.DefaultSchema, and dropped when the test ends.
type DB struct {
	// Pool is connected to the database; it is closed at cleanup.
	Pool *pgxpool.Pool
	// ConnString connects to the database, for tests that need their own
	// connections (LISTEN, subprocesses).
	ConnString string
	// Name is the database's name.
	Name string
}

// Main runs the tests of a package and then stops the throwaway server, if
// one was started, and exits with the tests' exit code. Use it from
// TestMain:
//
//	func TestMain(m *testing.M) { portfoliotest.Main(m) }
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if srv := startedServer.Load(); srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := srv.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "portfoliotest: %v\n", err)
		}
		cancel()
	}
	os.Exit(code)
}

// NewDB returns a fresh database for this test only, a clone of a
// migrated template, and drops it at the test's cleanup. It fails the test
// when no PostgreSQL is available.
func NewDB(t testing.TB) *DB {
	t.Helper()
	e := mustEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	name := fmt.Sprintf("t_%s_%d", processTag, dbCounter.Add(1))
	if err := e.clone(ctx, name); err != nil {
		t.Fatalf("portfoliotest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.drop(ctx, name); err != nil {
			t.Errorf("portfoliotest: %v", err)
		}
	})
	connString, err := withDatabase(e.admin, name)
	if err != nil {
		t.Fatalf("portfoliotest: %v", err)
	}
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		t.Fatalf("portfoliotest: connect to test database %s: %v", name, err)
	}
	t.Cleanup(pool.Close) // runs before the drop
	return &DB{Pool: pool, ConnString: connString, Name: name}
}

// Server returns the throwaway server started for this test binary,
// starting it if needed, or nil when TEST_DATABASE_URL names a server.
// Fault tests use it to restart the server; a restart disconnects every
// test's sessions.
func Server(t testing.TB) *pgserver.Server {
	t.Helper()
	return mustEnv(t).server
}

var (
	// mainRunning is set by Main, which stops the throwaway server.
	mainRunning atomic.Bool
	// startedServer is the throwaway server, for Main to stop.
	startedServer atomic.Pointer[pgserver.Server]

	envOnce   sync.Once
	sharedEnv *env
	envErr    error

	dbCounter atomic.Uint64
	// processTag makes database names unique among the test binaries
	// sharing a server, also across machines or containers with equal
	// PIDs.
	processTag = strconv.Itoa(os.Getpid()) + "_" + randomHex(3)
)

// env is the PostgreSQL set up once per test binary.
type env struct {
	admin    string           // connection string of a maintenance database
	server   *pgserver.Server // nil with TEST_DATABASE_URL
	template string           // the migrated template database

	setupReport string // how long the setup took, logged by the first test
}

func mustEnv(t testing.TB) *env {
	t.Helper()
	if os.Getenv(EnvURL) == "" && !mainRunning.Load() {
		t.Fatalf("portfoliotest: the throwaway PostgreSQL server needs TestMain to stop it: add\n\n\tfunc TestMain(m *testing.M) { portfoliotest.Main(m) }\n\nto this package's tests, or set %s to an existing server", EnvURL)
	}
	envOnce.Do(func() {
		sharedEnv, envErr = newEnv()
		if envErr == nil {
			t.Logf("portfoliotest: %s", sharedEnv.setupReport)
		}
	})
	if envErr != nil {
		t.Fatalf("portfoliotest: %v", envErr)
	}
	return sharedEnv
}

func newEnv() (*env, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := &env{template: TemplateName()}
	began := time.Now()
	if u := os.Getenv(EnvURL); u != "" {
		if _, err := pgx.ParseConfig(u); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvURL, err)
		}
		e.admin = u
	} else {
		srv, err := pgserver.Start(ctx, &pgserver.Options{Database: "postgres"})
		if errors.Is(err, pgserver.ErrNoBinaries) {
			return nil, fmt.Errorf("no PostgreSQL to test with: %w", err)
		}
		if err != nil {
			return nil, fmt.Errorf("throwaway PostgreSQL for the tests (or set %s to an existing server): %w", EnvURL, err)
		}
		startedServer.Store(srv)
		e.server = srv
		e.admin = srv.ConnString("postgres")
		e.setupReport = fmt.Sprintf("throwaway server started in %s (data dir %s); ", time.Since(began).Round(time.Millisecond), srv.DataDir())
	}
	began = time.Now()
	conn, err := pgx.Connect(ctx, e.admin)
	if err != nil {
		if e.server == nil {
			return nil, fmt.Errorf("connect to the server in %s (fix it, or unset it to use a throwaway server): %w", EnvURL, err)
		}
		return nil, fmt.Errorf("connect to the throwaway server: %w", err)
	}
	defer conn.Close(context.Background())
	var version int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	if version < 130000 {
		return nil, fmt.Errorf("the test server runs PostgreSQL %d.%d; use PostgreSQL 13 or newer", version/10000, version%10000)
	}
	created, err := e.ensureTemplate(ctx, conn)
	if err != nil {
		return nil, err
	}
	verb := "reused"
	if created {
		verb = "created"
	}
	e.setupReport += fmt.Sprintf("template %s %s in %s", e.template, verb, time.Since(began).Round(time.Millisecond))
	return e, nil
}

// TemplateName returns the name of the template database for this
// build's migrations: TemplatePrefix and a hash of every migration, so a
// changed migration never reuses a stale template.
func TemplateName() string {
	h := sha256.New()
	fmt.Fprintf(h, "schema %s\n", portfolio.DefaultSchema)
	for _, m := range portfolio.Migrations() {
		fmt.Fprintf(h, "%d %s %d\n%s\n", m.Version, m.Name, len(m.Up), m.Up)
	}
	return TemplatePrefix + hex.EncodeToString(h.Sum(nil))[:16]
}

// templateLock is the advisory lock key under which test binaries sharing
// a server create the template.
const templateLock int64 = 0x6266_5f74_706c // "bf_tpl"

// ensureTemplate creates the migrated template unless it exists already.
// A template is complete once marked IS_TEMPLATE; one that is not was left
// half-built by a crashed binary and is rebuilt.
func (e *env) ensureTemplate(ctx context.Context, conn *pgx.Conn) (created bool, err error) {
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, templateLock); err != nil {
		return false, fmt.Errorf("lock template: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, templateLock) //nolint:errcheck // closing the connection releases it too
	var complete bool
	err = conn.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, e.template).Scan(&complete)
	switch {
	case err == nil && complete:
		return false, nil
	case err == nil:
		if _, err := conn.Exec(ctx, `DROP DATABASE `+ident(e.template)+` WITH (FORCE)`); err != nil {
			return false, fmt.Errorf("drop half-built template %s: %w", e.template, err)
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return false, fmt.Errorf("look up template %s: %w", e.template, err)
	}

	// template0 is never connected to, so cloning it cannot fail with
	// "being accessed by other users", and it holds nothing but the system
	// catalogs.
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+ident(e.template)+` TEMPLATE template0`); err != nil {
		return false, fmt.Errorf("create template %s: %w", e.template, err)
	}
	cs, err := withDatabase(e.admin, e.template)
	if err != nil {
		return false, err
	}
	tpl, err := pgx.Connect(ctx, cs)
	if err != nil {
		return false, fmt.Errorf("connect to template %s: %w", e.template, err)
	}
	err = portfolio.Migrate(ctx, tpl, nil)
	tpl.Close(context.Background())
	if err != nil {
		return false, fmt.Errorf("migrate template %s: %w", e.template, err)
	}
	// No connections from now on: a connected template cannot be cloned.
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+ident(e.template)+` WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`); err != nil {
		return false, fmt.Errorf("mark template %s: %w", e.template, err)
	}
	return true, nil
}

// clone creates database name from the template. A clone fails while any
// session is connected to the template (the migration's may linger for a
// moment, or someone may have connected by hand); that is retried.
func (e *env) clone(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, e.admin)
	if err != nil {
		return fmt.Errorf("connect to the test server: %w", err)
	}
	defer conn.Close(context.Background())
	// The default strategy of PostgreSQL 15 (WAL_LOG) measured as fast as
	// FILE_COPY here, and it forces no checkpoints on a shared server.
	sql := `CREATE DATABASE ` + ident(name) + ` TEMPLATE ` + ident(e.template)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := conn.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			if err != nil {
				return fmt.Errorf("create test database %s from %s: %w", name, e.template, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create test database %s: template %s stayed in use (close sessions connected to it): %w", name, e.template, err)
		case <-tick.C:
		}
	}
}

// drop removes a test database, disconnecting its sessions.
func (e *env) drop(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, e.admin)
	if err != nil {
		return fmt.Errorf("drop test database %s: connect: %w", name, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+ident(name)+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop test database %s: %w", name, err)
	}
	return nil
}

// withDatabase returns connString connecting to database instead, for
// URLs (postgres://…) and keyword/value strings (host=… dbname=…) alike.
func withDatabase(connString, database string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path, u.RawPath = "/"+database, ""
		return u.String(), nil
	}
	// The last setting of a keyword wins; database names here need no
	// quoting.
	return connString + " dbname=" + database, nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
