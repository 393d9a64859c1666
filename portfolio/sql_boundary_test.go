package portfolio_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sigmasight/backfill/portfolio"
)

// libraryPackages may run SQL against the library's tables; every other
// package (the backfilld commands, the examples) reads and writes through
// them.
var libraryPackages = []string{"portfolio", "batch", "daemon"}

// TestNoSQLOutsideLibrary fails when a string literal in a non-test file
// outside the library packages names one of the library's tables or views
// next to an SQL keyword, or as a qualified name: the table layout is not
// public API.
func TestNoSQLOutsideLibrary(t *testing.T) {
	touches := sqlMatcher(t)

	root := filepath.Join("..")
	var checked int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		first := strings.Split(filepath.ToSlash(rel), "/")[0]
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		library := slices.Contains(libraryPackages, first) && !strings.HasPrefix(filepath.ToSlash(rel), "daemon/cmd/")
		if library {
			return nil
		}
		checked++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			if touches(s) {
				t.Errorf("%s: SQL against the library's tables outside its packages: %q; add a read or write to the library instead",
					fset.Position(lit.Pos()), truncateLit(s))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 5 {
		t.Fatalf("checked only %d files outside the library", checked)
	}
}

// libraryRelations lists the tables and views the migrations create.
func libraryRelations(t *testing.T) []string {
	t.Helper()
	create := regexp.MustCompile(`(?i)CREATE\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)`)
	var out []string
	for _, m := range portfolio.Migrations() {
		for _, g := range create.FindAllStringSubmatch(m.Up, -1) {
			if !slices.Contains(out, g[1]) {
				out = append(out, g[1])
			}
		}
	}
	return out
}

func truncateLit(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// sqlMatcher returns whether a string literal is SQL against one of the
// library's relations.
func sqlMatcher(t *testing.T) func(string) bool {
	relations := libraryRelations(t)
	if len(relations) < 8 {
		t.Fatalf("found only %d relations in the migrations: %v", len(relations), relations)
	}
	names := strings.Join(relations, "|")
	// A statement: it starts with an SQL verb and names a relation after
	// a clause keyword, qualified or not.
	statement := regexp.MustCompile(`(?is)^\s*(with|select|insert|update|delete|copy|truncate|alter|lock)\b`)
	clause := regexp.MustCompile(`(?i)\b(from|join|into|update|table|copy|truncate|lock)\s+(("?[a-z_{][a-z0-9_}]*"?)\.)?"?(` + names + `)\b`)
	// A qualified name built in code: {schema}.positions, "backfill".x, or
	// a literal ".x" appended to a quoted schema.
	qualified := regexp.MustCompile(`(?i)(\}|"|\b[a-z0-9_]+)\.(` + names + `)\b|^\.(` + names + `)$`)
	return func(s string) bool {
		return (statement.MatchString(s) && clause.MatchString(s)) || qualified.MatchString(s)
	}
}

// TestSQLBoundaryMatcher shows the check catches the usual forms of SQL
// and leaves prose and unrelated SQL alone.
func TestSQLBoundaryMatcher(t *testing.T) {
	touches := sqlMatcher(t)
	for s, want := range map[string]bool{
		"SELECT id FROM {schema}.portfolios WHERE owner_id = $1":                true,
		"SELECT count(*) FROM backfill.market_prices":                           true,
		"UPDATE backfill_state SET status = 'pending'":                          true,
		"delete from batch_runs":                                                true,
		".portfolio_snapshots":                                                  true,
		`COPY "backfill".positions FROM STDIN`:                                  true,
		"SELECT now()":                                                          false,
		"SELECT current_setting('server_version')":                              false,
		"list the portfolios of an owner":                                       false,
		"positions":                                                             false,
		"prices import: load closes from a file into market prices table":       false,
		"load closing prices from CSV files into market_prices":                 false,
		"Show the reconciler's view of every portfolio, read from the database": false,
		"claimed: %d portfolios (%d reclaimed)":                                 false,
		"WITH t AS (SELECT 1) DELETE FROM capital_flows":                        true,
	} {
		if got := touches(s); got != want {
			t.Errorf("touches(%q) = %v, want %v", s, got, want)
		}
	}
}
