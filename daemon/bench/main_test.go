package bench

import (
	"testing"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func TestMain(m *testing.M) { portfoliotest.Main(m) }
