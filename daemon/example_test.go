package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func ExampleNew() {
	ctx := context.Background()
	db, cleanup := portfoliotest.ExampleDB()
	defer cleanup()

	// The application's own registry, served by the reconciler's handler.
	reg := prometheus.NewRegistry()
	r, err := daemon.New(db.Pool, &daemon.Config{Registerer: reg, Gatherer: reg})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := r.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}

	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(path, " ", resp.StatusCode, " ", string(body))
	}

	// Stop lets in-flight backfills finish within the grace period, then
	// releases their leases.
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := r.Stop(stopCtx); err != nil {
		fmt.Println(err)
		return
	}
	<-r.Stopped()
	fmt.Println("stopped")
	// Output:
	// /healthz 200 ok
	// /readyz 200 ready
	// stopped
}

func ExampleReconciler_SweepNow() {
	ctx := context.Background()
	db, cleanup := portfoliotest.ExampleDB()
	defer cleanup()

	// One clock for onboarding, the engine and the reconciler: Monday
	// morning, so the target trading day is Friday 2025-02-28.
	now := func() time.Time { return time.Date(2025, time.March, 3, 12, 0, 0, 0, time.UTC) }

	const prices = `date,symbol,close
2025-02-26,SPY,594.54
2025-02-27,SPY,585.05
2025-02-28,SPY,594.18
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
		CSV:            strings.NewReader("Symbol,Quantity,Entry Price Per Share,Entry Date\nAAPL,100,240.36,2025-02-26\n"),
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
	r, err := daemon.New(db.Pool, &daemon.Config{Now: now, Engine: engine})
	if err != nil {
		fmt.Println(err)
		return
	}
	state := func() {
		st, err := r.Status(ctx, time.Time{}, 10)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("target %s: %d pending, %d current\n", st.Target.Format(time.DateOnly), st.ByState["pending"], st.ByState["current"])
		for _, p := range st.Attention {
			if p.PortfolioID == onboarded.PortfolioID {
				fmt.Printf("  portfolio %s: %s\n", p.State, p.Reason)
			}
		}
	}
	state()

	// Without Start: one sweep, waiting for the backfills it claims.
	res, err := r.SweepNow(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("claimed:", res.Claimed)
	state()
	// Output:
	// target 2025-02-28: 1 pending, 0 current
	//   portfolio pending: never snapshotted: 3 trading days to compute through 2025-02-28; due: a running reconciler claims it on its next sweep (`backfilld run --once` runs it here)
	// claimed: 1
	// target 2025-02-28: 0 pending, 1 current
}
