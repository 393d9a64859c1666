package batch_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func ExampleEngine_Backfill() {
	ctx := context.Background()
	db, cleanup := portfoliotest.ExampleDB()
	defer cleanup()

	// One clock for onboarding and the engine: Monday morning, so the
	// latest closed session is Friday 2025-02-28.
	now := func() time.Time { return time.Date(2025, time.March, 3, 12, 0, 0, 0, time.UTC) }

	// Closes of the benchmark (a day is ready once SPY has its close) and
	// of the one stock held.
	const prices = `date,symbol,close
2025-02-24,SPY,597.21
2025-02-25,SPY,594.24
2025-02-26,SPY,594.54
2025-02-27,SPY,585.05
2025-02-28,SPY,594.18
2025-02-24,AAPL,247.10
2025-02-25,AAPL,247.04
2025-02-26,AAPL,240.36
2025-02-27,AAPL,237.30
2025-02-28,AAPL,241.84
`
	if _, err := batch.ImportPrices(ctx, db.Pool, strings.NewReader(prices), "closes.csv", nil); err != nil {
		fmt.Println(err)
		return
	}

	client, err := portfolio.NewClient(db.Pool, &portfolio.Config{Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	onboarded, err := client.Onboard(ctx, &portfolio.OnboardRequest{
		OwnerID:        "user-42",
		PortfolioName:  "Core",
		AccountName:    "Brokerage",
		AccountType:    "taxable",
		StartingEquity: "50000",
		CSV: strings.NewReader("Symbol,Quantity,Entry Price Per Share,Entry Date\n" +
			"AAPL,100,247.10,2025-02-24\n" +
			"SPY,20,597.21,2025-02-24\n"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	engine, err := batch.NewEngine(db.Pool, &batch.Config{Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := engine.Backfill(ctx, onboarded.PortfolioID, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("status:", res.Status)
	fmt.Println("days written:", res.DaysWritten, res.From.Format(time.DateOnly), "to", res.Through.Format(time.DateOnly))

	var nav, ret float64
	err = db.Pool.QueryRow(ctx, `SELECT nav::float8, daily_return FROM backfill.portfolio_snapshots
		WHERE portfolio_id = $1 AND snapshot_date = $2`, onboarded.PortfolioID, res.Through).Scan(&nav, &ret)
	if err != nil {
		fmt.Println(err)
		return
	}
	// NAV = cash (equity less cost: 13,345.80) + 100 × 241.84 + 20 × 594.18.
	fmt.Printf("%s: NAV %.2f, daily return %.4f\n", res.Through.Format(time.DateOnly), nav, ret)
	// Output:
	// status: completed
	// days written: 5 2025-02-24 to 2025-02-28
	// 2025-02-28: NAV 49413.40, daily return 0.0131
}
