//go:build unix

package batch

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// ImportPriceFiles refuses what is not a regular file before opening it:
// a FIFO nobody writes to would block the open, /dev/zero never ends.
func TestImportPriceFilesNotRegular(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	fifo := filepath.Join(t.TempDir(), "prices.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero", t.TempDir()} {
		res, err := ImportPriceFiles(context.Background(), db.Pool, []string{path}, nil)
		var perr *PriceFileError
		if !errors.As(err, &perr) || perr.File != path || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %+v, %v; want a PriceFileError: not a regular file", path, res, err)
		}
	}
	if got := storedPrices(t, db.Pool); len(got) != 0 {
		t.Errorf("market_prices holds %q", got)
	}
}
