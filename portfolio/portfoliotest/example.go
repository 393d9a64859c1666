package portfoliotest

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ExampleDB is NewDB for Example functions, which have no *testing.T: it
// returns a fresh migrated database and a func that closes its pool and
// drops it. The test binary must use Main, as for NewDB:
//
//	func TestMain(m *testing.M) { portfoliotest.Main(m) }
//
//	func ExampleClient_Onboard() {
//		db, cleanup := portfoliotest.ExampleDB()
//		defer cleanup()
//		client, _ := portfolio.NewClient(db.Pool, nil)
//		…
//	}
//
// It panics, failing the example, when no PostgreSQL is available or the
// database cannot be created; it never skips. The cleanup func panics when
// the database cannot be dropped.
func ExampleDB() (*DB, func()) {
	if os.Getenv(EnvURL) == "" && !mainRunning.Load() {
		panic(fmt.Sprintf("portfoliotest: the throwaway PostgreSQL server needs TestMain to stop it: add\n\n\tfunc TestMain(m *testing.M) { portfoliotest.Main(m) }\n\nto this package's tests, or set %s to an existing server", EnvURL))
	}
	// The same once as NewDB's, so examples and tests share the server and
	// template; the setup report has no test to be logged to.
	envOnce.Do(func() { sharedEnv, envErr = newEnv() })
	if envErr != nil {
		panic(fmt.Sprintf("portfoliotest: %v", envErr))
	}
	e := sharedEnv
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	name := fmt.Sprintf("t_%s_%d", processTag, dbCounter.Add(1))
	if err := e.clone(ctx, name); err != nil {
		panic(fmt.Sprintf("portfoliotest: %v", err))
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.drop(ctx, name); err != nil {
			panic(fmt.Sprintf("portfoliotest: %v", err))
		}
	}
	connString, err := withDatabase(e.admin, name)
	if err != nil {
		drop()
		panic(fmt.Sprintf("portfoliotest: %v", err))
	}
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		drop()
		panic(fmt.Sprintf("portfoliotest: connect to test database %s: %v", name, err))
	}
	cleanup := func() {
		pool.Close()
		drop()
	}
	return &DB{Pool: pool, ConnString: connString, Name: name}, cleanup
}
