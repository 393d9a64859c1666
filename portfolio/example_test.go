package portfolio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func ExampleParsePositions() {
	// The seed system's format: a stock, a short, an option given by its
	// contract fields (its symbol is derived) and cash. Lines starting
	// with '#' are comments.
	const file = `Symbol,Quantity,Entry Price Per Share,Entry Date,Investment Class,Investment Subtype,Underlying Symbol,Strike Price,Expiration Date,Option Type,Exit Date,Exit Price Per Share
# opened in January
AAPL,100,158.00,2024-01-15,PUBLIC,STOCK,,,,,,
SHOP,-25,62.50,2024-02-10,PUBLIC,STOCK,,,,,,
,10,8.75,2024-02-01,OPTIONS,,DIA,395.00,2024-08-16,CALL,,
CASH_USD,5000,1,2024-01-02,,,,,,,,
`
	// A fixed clock: entry dates must not be in the future.
	now := func() time.Time { return time.Date(2025, time.March, 3, 12, 0, 0, 0, time.UTC) }
	positions, err := portfolio.ParsePositions(strings.NewReader(file), &portfolio.ParseOptions{Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range positions {
		fmt.Println(p.Symbol, p.Type, p.Quantity)
	}
	// Output:
	// AAPL LONG 100
	// SHOP SHORT -25
	// DIA_C395_20240816 LC 10
	// CASH_USD LONG 5000
}

func ExampleParsePositions_errors() {
	const file = `Symbol,Quantity,Entry Price Per Share,Entry Date
AAPL,100,158.00,2024-01-15
MSFT,ten,410.00,2024-01-15
NVDA,5,-3,2024-13-01
AAPL,50,160.00,2024-01-15
`
	now := func() time.Time { return time.Date(2025, time.March, 3, 12, 0, 0, 0, time.UTC) }
	_, err := portfolio.ParsePositions(strings.NewReader(file), &portfolio.ParseOptions{Now: now})
	var verr *portfolio.ValidationError
	if errors.As(err, &verr) {
		fmt.Println(verr.Code)
		for _, e := range verr.Errors {
			fmt.Println("row", e.Row, e.Field, e.Code)
		}
	}
	// Output:
	// ERR_PORT_008
	// row 3 Quantity ERR_POS_005
	// row 4 Entry Price Per Share ERR_POS_010
	// row 4 Entry Date ERR_POS_013
	// row 5 Symbol ERR_POS_023
}

func ExampleClient_Onboard() {
	ctx := context.Background()
	// A migrated database of its own; an application connects with
	// pgxpool.New and runs portfolio.Migrate once at start.
	db, cleanup := portfoliotest.ExampleDB()
	defer cleanup()

	now := func() time.Time { return time.Date(2025, time.March, 3, 12, 0, 0, 0, time.UTC) }
	client, err := portfolio.NewClient(db.Pool, &portfolio.Config{Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	const positions = `Symbol,Quantity,Entry Price Per Share,Entry Date
AAPL,100,158.00,2024-01-15
SPY,40,470.10,2024-01-15
`
	req := &portfolio.OnboardRequest{
		OwnerID:        "user-42",
		PortfolioName:  "Retirement",
		AccountName:    "Schwab IRA",
		AccountType:    "ira",
		StartingEquity: "250000",
		CSV:            strings.NewReader(positions),
	}
	res, err := client.Onboard(ctx, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("positions imported:", res.PositionsImported)
	fmt.Println("next step:", res.NextStep.Action)

	// The owner already has a portfolio with this account name.
	req.CSV = strings.NewReader(positions)
	_, err = client.Onboard(ctx, req)
	fmt.Println("duplicate account:", errors.Is(err, portfolio.ErrDuplicateAccount))
	// Output:
	// positions imported: 2
	// next step: calculate
	// duplicate account: true
}

func ExampleMigrate() {
	ctx := context.Background()
	db, cleanup := portfoliotest.ExampleDB()
	defer cleanup()

	// The test database has the default schema already; migrate a second
	// one, as an application keeping its tables elsewhere would.
	schema, err := portfolio.ParseSchema("analytics")
	if err != nil {
		fmt.Println(err)
		return
	}
	before, latest, err := portfolio.SchemaVersion(ctx, db.Pool, schema)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("before: version", before)

	// Run it at every start: it is idempotent, and concurrent callers
	// wait for each other.
	for range 2 {
		if err := portfolio.Migrate(ctx, db.Pool, &portfolio.MigrateOpts{Schema: schema}); err != nil {
			fmt.Println(err)
			return
		}
	}
	after, _, err := portfolio.SchemaVersion(ctx, db.Pool, schema)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after: latest version", after == latest)
	fmt.Println("check:", portfolio.CheckSchema(ctx, db.Pool, schema))
	// Output:
	// before: version 0
	// after: latest version true
	// check: <nil>
}
