// Package portfoliotest gives each test its own PostgreSQL database,
// migrated to this build's schema, for the library's tests and its users'.
//
// Use Main from TestMain, then NewDB in each test:
//
//	func TestMain(m *testing.M) { portfoliotest.Main(m) }
//
//	func TestOnboard(t *testing.T) {
//		t.Parallel()
//		db := portfoliotest.NewDB(t) // migrated; dropped when the test ends
//		_, err := db.Pool.Exec(t.Context(), `INSERT INTO backfill.market_prices …`)
//		…
//	}
//
// # Where the databases live
//
// With TEST_DATABASE_URL set (a URL or keyword/value connection string
// whose role may create databases), the tests use that server; several
// test binaries may share it at once. Otherwise the first NewDB starts one
// throwaway server per test binary with package pgserver, from the
// machine's installed PostgreSQL binaries, and Main stops it after the
// tests; Server returns it, for tests that restart it. Without either,
// NewDB fails the test saying what to install or set; it never skips.
//
// # Speed
//
// The migrations run once per server, into a template database named
// after a hash of the migrations (TemplateName), which is reused by later
// test binaries while the migrations are unchanged. Each NewDB clones it
// with CREATE DATABASE … TEMPLATE, which takes a few tens of milliseconds
// on a throwaway server, and drops the clone at cleanup with DROP DATABASE
// … WITH (FORCE), which also ends sessions a test left open. Databases of
// test binaries that were killed stay behind on a shared server; their
// names start with "t_".
//
// # Examples
//
// Example functions, which get no *testing.T, take a database from
// ExampleDB and call the returned cleanup when done.
package portfoliotest
