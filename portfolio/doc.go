// Package portfolio onboards portfolios from position files and owns the
// PostgreSQL schema the rest of backfill works in.
//
// Onboarding validates a positions CSV in the seed system's 12-column
// format (see ParsePositions), then writes the portfolio, its positions, a
// pending backfill_state row and a pending batch run in one transaction and
// notifies the reconciler, so a new portfolio can never be left without
// analytics:
//
//	pool, _ := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	if err := portfolio.Migrate(ctx, pool, nil); err != nil { … }
//	client, _ := portfolio.NewClient(pool, nil)
//	res, err := client.Onboard(ctx, &portfolio.OnboardRequest{
//		OwnerID:        "user-42",
//		PortfolioName:  "Retirement",
//		AccountName:    "Schwab IRA",
//		AccountType:    "ira",
//		StartingEquity: "250000",
//		CSV:            file,
//	})
//	var verr *portfolio.ValidationError
//	if errors.As(err, &verr) { // every row error, with row, line, field and code
//		…
//	}
//
// The file may also be a broker's export (Schwab, Fidelity, Interactive
// Brokers, Vanguard, Robinhood): OnboardRequest.Format (default FormatAuto)
// recognises it and ReadPositions converts it to the same positions, plus
// its capital flows; Client.Preview shows the result without writing.
//
// Invalid input returns a *ValidationError carrying the seed system's codes
// (ERR_CSV_*, ERR_POS_*, ERR_PORT_*; the Code constants of codes.go) and
// writes nothing; errors.Is(err, portfolio.CodePos005) tells whether a row
// has that code. All tables live in one schema (default "backfill"),
// created by the embedded migrations that Migrate applies.
//
// The client also reads what the library stores, typed: PortfolioList,
// RunList (newest first, paged by cursor), SnapshotList, SnapshotGet,
// FactorExposureList, FlowList, PositionList. Code outside the library
// reads through these rather than querying its tables.
//
// Package portfoliotest provides a real PostgreSQL for tests; package
// pgserver runs an embedded server from the machine's installed binaries.
package portfolio
