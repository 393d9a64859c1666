package pgserver_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio/pgserver"
)

func TestFindBinDir(t *testing.T) {
	t.Parallel()
	dir, err := pgserver.FindBinDir()
	if err != nil {
		t.Fatalf("FindBinDir: %v", err)
	}
	for _, name := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("FindBinDir() = %s, which has no %s: %v", dir, name, err)
		}
	}
}

func TestStartWithoutBinaries(t *testing.T) {
	t.Parallel()
	_, err := pgserver.Start(context.Background(), &pgserver.Options{BinDir: t.TempDir()})
	if !errors.Is(err, pgserver.ErrNoBinaries) {
		t.Fatalf("Start with an empty BinDir: %v, want ErrNoBinaries", err)
	}
	for _, want := range []string{"apt-get install postgresql", "TEST_DATABASE_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestStartTemporary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := start(t, nil)
	if srv.Port() <= 0 {
		t.Fatalf("Port() = %d", srv.Port())
	}
	if !strings.Contains(srv.ConnString(""), "/backfill?") {
		t.Errorf("ConnString(\"\") = %s, want the default database backfill", srv.ConnString(""))
	}
	execSQL(t, srv.ConnString(""), `CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)`)

	// A session open across a restart is disconnected; the data stays, and
	// the server comes back on the same port.
	before, err := pgx.Connect(ctx, srv.ConnString(""))
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close(ctx)
	port := srv.Port()
	if err := srv.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if srv.Port() != port {
		t.Errorf("port after Restart = %d, want %d", srv.Port(), port)
	}
	if err := before.Ping(ctx); err == nil {
		t.Error("a session from before Restart still works; want it disconnected")
	}
	if got := queryInt(t, srv.ConnString(""), `SELECT v FROM kept`); got != 42 {
		t.Errorf("after Restart: kept.v = %d, want 42", got)
	}

	dataDir := srv.DataDir()
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary data dir %s after Stop: %v, want it removed", dataDir, err)
	}
	if _, err := os.Stat(filepath.Dir(dataDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary dir %s after Stop: %v, want it removed", filepath.Dir(dataDir), err)
	}
	if err := srv.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v, want nil", err)
	}
	if err := srv.Restart(ctx); err == nil {
		t.Error("Restart after Stop succeeded; want an error")
	}
	if _, err := pgx.Connect(ctx, srv.ConnString("")); err == nil {
		t.Error("connected after Stop")
	}
}

func TestPersistentDataDir(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir := filepath.Join(reachableTempDir(t), "pg")

	srv := start(t, &pgserver.Options{DataDir: dataDir, Database: "app"})
	if srv.DataDir() != dataDir {
		t.Errorf("DataDir() = %s, want %s", srv.DataDir(), dataDir)
	}
	execSQL(t, srv.ConnString(""), `CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)`)
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		t.Fatalf("persistent data dir after Stop: %v, want it kept", err)
	}

	// A postmaster.pid naming a process that is gone, as after a crash,
	// must not prevent the next start.
	dead := exec0(t)
	writeFile(t, filepath.Join(dataDir, "postmaster.pid"),
		fmt.Sprintf("%d\n%s\n1700000000\n5432\n/tmp\n127.0.0.1\n  1234567     12345\nready   \n", dead, dataDir))

	srv = start(t, &pgserver.Options{DataDir: dataDir, Database: "app"})
	if got := queryInt(t, srv.ConnString("app"), `SELECT v FROM kept`); got != 7 {
		t.Errorf("after restart from the data dir: kept.v = %d, want 7", got)
	}
	if got := queryInt(t, srv.ConnString("postgres"), `SELECT current_setting('fsync')::bool::int`); got != 1 {
		t.Errorf("fsync on a persistent cluster = %d, want on", got)
	}

	// A second server on a data directory in use is refused.
	_, err := pgserver.Start(ctx, &pgserver.Options{DataDir: dataDir})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Start on a data dir in use: %v, want an error saying it is in use", err)
	}
	// The server is most likely another program's embedded database: the
	// way out is to share it or use another directory, never to stop it.
	if err != nil && (!strings.Contains(err.Error(), fmt.Sprintf("connect to it instead (postgres://postgres@127.0.0.1:%d/backfill?sslmode=disable)", srv.Port())) ||
		strings.Contains(err.Error(), "stop") || strings.Contains(err.Error(), "pg_ctl")) {
		t.Errorf("second Start on a data dir in use: %v, want the server's URL and no advice to stop it", err)
	}
	if got := queryInt(t, srv.ConnString("app"), `SELECT v FROM kept`); got != 7 {
		t.Errorf("after the refused second start: kept.v = %d, want 7", got)
	}
}

func TestStartRefusesForeignDirectory(t *testing.T) {
	t.Parallel()
	dir := reachableTempDir(t)
	writeFile(t, filepath.Join(dir, "notes.txt"), "not a cluster")
	_, err := pgserver.Start(context.Background(), &pgserver.Options{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "neither empty nor a PostgreSQL data directory") {
		t.Fatalf("Start on a non-empty directory: %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("the directory's file: %v, want it untouched", err)
	}
}

func TestStartPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	srv, err := pgserver.Start(context.Background(), &pgserver.Options{Port: port})
	if err == nil {
		srv.Stop(context.Background())
		t.Fatalf("Start on taken port %d succeeded", port)
	}
	for _, want := range []string{strconv.Itoa(port), "taken", "Address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestStartValidatesOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []pgserver.Options{
		{Port: -1},
		{Port: 70000},
		{StartTimeout: -time.Second},
		{Database: strings.Repeat("x", 64)},
	} {
		if srv, err := pgserver.Start(context.Background(), &o); err == nil {
			srv.Stop(context.Background())
			t.Errorf("Start(%+v) succeeded; want an error", o)
		}
	}
}

func ExampleStart() {
	ctx := context.Background()
	srv, err := pgserver.Start(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Stop(ctx)

	conn, err := pgx.Connect(ctx, srv.ConnString(""))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close(ctx)
	var db string
	conn.QueryRow(ctx, `SELECT current_database()`).Scan(&db)
	fmt.Println(db)
	// Output: backfill
}

// start starts a server stopped at test cleanup.
func start(t *testing.T, opts *pgserver.Options) *pgserver.Server {
	t.Helper()
	began := time.Now()
	srv, err := pgserver.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("server started in %s on port %d", time.Since(began).Round(time.Millisecond), srv.Port())
	t.Cleanup(func() {
		if err := srv.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return srv
}

// reachableTempDir returns a test directory that the postgres OS user can
// enter when the tests run as root (t.TempDir's parents are private).
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		for p := dir; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func execSQL(t *testing.T, connString, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryInt(t *testing.T, connString, sql string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, sql).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// exec0 runs a short process and returns its PID, which is then unused.
func exec0(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}
