package portfoliotest_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func TestMain(m *testing.M) {
	if os.Getenv("PORTFOLIOTEST_WITHOUT_MAIN") == "1" {
		os.Exit(m.Run()) // for TestNewDBNeedsMain
	}
	portfoliotest.Main(m)
}

func TestNewDBIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := portfoliotest.NewDB(t)
	b := portfoliotest.NewDB(t)
	if a.Name == b.Name {
		t.Fatalf("two NewDB calls returned the same database %s", a.Name)
	}
	if _, err := a.Pool.Exec(ctx, `CREATE TABLE only_in_a (v int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Pool.Exec(ctx, `INSERT INTO backfill.market_prices (symbol, price_date, close, source) VALUES ('SPY', '2024-01-02', 470.1, 'test')`); err != nil {
		t.Fatal(err)
	}
	var inB bool
	if err := b.Pool.QueryRow(ctx, `SELECT to_regclass('public.only_in_a') IS NOT NULL`).Scan(&inB); err != nil {
		t.Fatal(err)
	}
	if inB {
		t.Error("a table created in one test database exists in the other")
	}
	var prices int
	if err := b.Pool.QueryRow(ctx, `SELECT count(*) FROM backfill.market_prices`).Scan(&prices); err != nil {
		t.Fatal(err)
	}
	if prices != 0 {
		t.Errorf("the other test database has %d prices, want 0", prices)
	}
}

func TestNewDBMigrated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	current, latest, err := portfolio.SchemaVersion(ctx, db.Pool, portfolio.DefaultSchema)
	if err != nil {
		t.Fatal(err)
	}
	if current != portfolio.LatestVersion() || latest != portfolio.LatestVersion() {
		t.Errorf("schema version = %d (latest %d), want %d", current, latest, portfolio.LatestVersion())
	}
	if err := portfolio.CheckSchema(ctx, db.Pool, portfolio.DefaultSchema); err != nil {
		t.Errorf("CheckSchema: %v", err)
	}
	var exists bool
	if err := db.Pool.QueryRow(ctx, `SELECT to_regclass('backfill.portfolios') IS NOT NULL`).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if !exists {
		t.Error("backfill.portfolios missing in a new test database")
	}
}

func TestConnString(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	conn, err := pgx.Connect(ctx, db.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var name string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != db.Name {
		t.Errorf("ConnString connects to %s, want %s", name, db.Name)
	}
}

func TestCleanupDropsDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var name string
	t.Run("uses a database", func(t *testing.T) {
		db := portfoliotest.NewDB(t)
		name = db.Name
		// A session left open must not keep the database from being dropped.
		conn, err := pgx.Connect(ctx, db.ConnString)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
	})
	observer := portfoliotest.NewDB(t)
	var exists bool
	if err := observer.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test's cleanup", name)
	}
}

func TestServer(t *testing.T) {
	t.Parallel()
	srv := portfoliotest.Server(t)
	if os.Getenv(portfoliotest.EnvURL) != "" {
		if srv != nil {
			t.Errorf("Server() = %v with %s set, want nil", srv, portfoliotest.EnvURL)
		}
		return
	}
	if srv == nil || srv.Port() == 0 {
		t.Fatalf("Server() = %v, want the throwaway server", srv)
	}
}

func TestTemplateName(t *testing.T) {
	t.Parallel()
	name := portfoliotest.TemplateName()
	if !strings.HasPrefix(name, portfoliotest.TemplatePrefix) || len(name) > 63 || name != portfoliotest.TemplateName() {
		t.Errorf("TemplateName() = %q, want a stable name with prefix %s of at most 63 bytes", name, portfoliotest.TemplatePrefix)
	}
}

// TestNewDBNeedsMain runs this test binary without Main and checks that
// NewDB says how to fix that.
func TestNewDBNeedsMain(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNewDB$", "-test.v")
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, portfoliotest.EnvURL+"=")
	})
	cmd.Env = append(cmd.Env, "PORTFOLIOTEST_WITHOUT_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("NewDB without Main passed; want a failure. Output:\n%s", out)
	}
	if want := "func TestMain(m *testing.M) { portfoliotest.Main(m) }"; !strings.Contains(string(out), want) {
		t.Errorf("output does not tell to add %q:\n%s", want, out)
	}
}

// TestHelperNewDB is run by TestNewDBNeedsMain.
func TestHelperNewDB(t *testing.T) {
	if os.Getenv("PORTFOLIOTEST_WITHOUT_MAIN") != "1" {
		return
	}
	portfoliotest.NewDB(t)
}

// TestNewDBSpeed measures NewDB once the server and template exist; the
// numbers show with -v.
func TestNewDBSpeed(t *testing.T) {
	portfoliotest.NewDB(t) // the server and the template
	const n = 10
	var total, slowest time.Duration
	for i := 0; i < n; i++ {
		t.Run("clone", func(t *testing.T) {
			began := time.Now()
			portfoliotest.NewDB(t)
			d := time.Since(began)
			total += d
			slowest = max(slowest, d)
		})
	}
	t.Logf("NewDB: mean %s, slowest %s over %d", (total / n).Round(time.Microsecond), slowest.Round(time.Microsecond), n)
	if slowest > 5*time.Second {
		t.Errorf("NewDB took %s; want well under a second", slowest)
	}
}
