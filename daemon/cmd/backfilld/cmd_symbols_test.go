package main

import (
	"regexp"
	"testing"
)

const sampleSymbols = "../../../examples/quickstart/sample_symbols.csv"

func TestSymbolsImportAndList(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)

	r := backfilld(t, env, "", "symbols", "import", sampleSymbols)
	r.want(t, exitOK, "INSERTED")
	if !regexp.MustCompile(`sample_symbols\.csv\s+15\s+15\s+0\s+0\n`).MatchString(r.stdout) {
		t.Errorf("no counts for the sample file (15 rows, 15 inserted):\n%s", r.stdout)
	}
	r = backfilld(t, env, "", "symbols", "list")
	r.want(t, exitOK, "SYMBOL", "15 symbols")
	if !regexp.MustCompile(`AAPL\s+stock\s+Information Technology\s+1\.2\s+2900000000000\s+USD\s+Sample hardware maker`).MatchString(r.stdout) {
		t.Errorf("AAPL not listed as imported (sector alias Technology):\n%s", r.stdout)
	}
	var list []struct {
		Symbol, Sector string
		AssetType      string `json:"asset_type"`
		Beta           *float64
	}
	r = backfilld(t, env, "", "symbols", "list", "--json")
	r.want(t, exitOK)
	r.decode(t, &list)
	if len(list) != 15 || list[0].Symbol != "AAPL" || list[0].Sector != "Information Technology" || list[0].AssetType != "stock" || list[0].Beta == nil || *list[0].Beta != 1.2 {
		t.Errorf("symbols list --json = %+v", list)
	}

	var out struct {
		Files []struct {
			File                               string
			Rows, Inserted, Updated, Unchanged int
		}
	}
	r = backfilld(t, env, "", "symbols", "import", "--json", sampleSymbols)
	r.want(t, exitOK)
	r.decode(t, &out)
	if len(out.Files) != 1 || out.Files[0].Unchanged != 15 {
		t.Errorf("second import --json = %+v", out)
	}
}

func TestSymbolsImportBadFile(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	r := backfilld(t, env, "", "symbols", "import", sampleSymbols, "../../../batch/testdata/symbols/unknown_sector.csv")
	r.want(t, exitInvalid, `unknown_sector.csv:3: sector "Crypto" is not a GICS sector`,
		"the files before it stay imported", "nothing of ../../../batch/testdata/symbols/unknown_sector.csv was imported")
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
	r = backfilld(t, env, "", "symbols", "import", "--json", "../../../batch/testdata/symbols/duplicate_symbol.csv")
	r.want(t, exitInvalid)
	r.decode(t, &out)
	if len(out.Files) != 0 || len(out.Error.Problems) != 1 || out.Error.Problems[0].Line != 4 {
		t.Errorf("symbols import --json = %+v", out)
	}
	backfilld(t, env, "", "symbols", "import").want(t, exitInvalid, "missing FILE...")
	backfilld(t, env, "", "symbols", "list", "extra").want(t, exitInvalid, "takes no arguments")
	backfilld(t, env, "", "symbols").want(t, exitInvalid, "backfilld symbols import or backfilld symbols list")
}
