package main

import (
	"regexp"
	"testing"
)

func TestPricesImport(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)

	r := backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv")
	r.want(t, exitOK, "FILE", "INSERTED")
	row := regexp.MustCompile(`testdata/prices/good\.csv\s+8\s+8\s+0\s+0\s+2\s+2024-01-02\s+2024-01-05\n`)
	if !row.MatchString(r.stdout) {
		t.Errorf("no counts for good.csv (rows 8, inserted 8, symbols 2):\n%s", r.stdout)
	}

	// Again: every close is already stored.
	var out struct {
		Files []struct {
			File                                        string
			Rows, Inserted, Updated, Unchanged, Symbols int
			From, To                                    string
		}
		Error *struct{}
	}
	r = backfilld(t, env, "", "prices", "import", "--json", "--source", "test", "testdata/prices/good.csv")
	r.want(t, exitOK)
	r.decode(t, &out)
	if len(out.Files) != 1 || out.Error != nil {
		t.Fatalf("prices import --json = %+v", out)
	}
	if f := out.Files[0]; f.Rows != 8 || f.Unchanged != 8 || f.Inserted != 0 || f.From != "2024-01-02" || f.To != "2024-01-05" {
		t.Errorf("second import = %+v, want 8 unchanged rows", f)
	}
}

func TestPricesImportBadFile(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)

	r := backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv", "testdata/prices/bad.csv")
	r.want(t, exitInvalid, "backfilld: testdata/prices/bad.csv:3: close \"1e3\"",
		"the files before it stay imported (testdata/prices/good.csv)", "nothing of testdata/prices/bad.csv was imported")
	if !regexp.MustCompile(`good\.csv\s+8\s+8\s`).MatchString(r.stdout) {
		t.Errorf("the imported file is not listed:\n%s", r.stdout)
	}

	var out struct {
		Files []struct{ File string }
		Error struct {
			File     string
			Problems []struct {
				Line   int
				Reason string
			}
		}
	}
	r = backfilld(t, env, "", "prices", "import", "--json", "testdata/prices/bad.csv", "testdata/prices/good.csv")
	r.want(t, exitInvalid, "the 1 file(s) after it were not read")
	r.decode(t, &out)
	if len(out.Files) != 0 || out.Error.File != "testdata/prices/bad.csv" || len(out.Error.Problems) != 1 || out.Error.Problems[0].Line != 3 {
		t.Errorf("prices import --json = %+v", out)
	}

	backfilld(t, env, "", "prices", "import").want(t, exitInvalid, "missing FILE...")
	backfilld(t, env, "", "prices", "import", "testdata/prices/nope.csv").want(t, exitInvalid, "nope.csv: no such file")
	backfilld(t, env, "", "prices", "import", "testdata").want(t, exitInvalid, "testdata is a directory")
}
