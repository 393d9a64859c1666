package daemon

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the browser. CI installs it and sets
// BACKFILL_REQUIRE_CHROMIUM (.ci/run), so there a missing one fails the
// test instead of skipping it; on a machine with only Go and PostgreSQL,
// `go test ./...` skips it and says how to run it.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BACKFILL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("BACKFILL_REQUIRE_CHROMIUM") == "" {
		t.Skip("no Chromium: install it (apt-get install -y chromium) or set BACKFILL_CHROMIUM to run the ops page's browser test")
	}
	t.Fatal("no Chromium: install it (apt-get install -y chromium) or set BACKFILL_CHROMIUM")
	return ""
}

// TestOpsPageInChromium drives the ops page in a real headless Chromium:
// the counts on / match the database, the quarantined portfolio's page
// opens from the attention list with its explanation and NAV sparkline,
// an operator signs in with the admin token and presses retry, and the
// page, refreshing itself, shows the portfolio current.
func TestOpsPageInChromium(t *testing.T) {
	// Not parallel: a browser and a second reconciler would take the CPU
	// from the timing-sensitive fault tests, which run in parallel after it.
	started := time.Now()
	w := newOpsWorld(t, opsAdminToken)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	// The counts on / are the database's.
	if err := chromedp.Do(ctx, chromedp.Navigate(w.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#count-total"))); err != nil {
		t.Fatalf("load /: %v", err)
	}
	counts := map[string]*string{}
	for _, s := range append(append([]string{}, portfolioStates...), "total") {
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#count-"+s)))
		if err != nil {
			t.Fatalf("count of %s: %v", s, err)
		}
		counts[s] = &v
	}
	if path := os.Getenv("BACKFILL_OPS_SCREENSHOT"); path != "" {
		// go test ./daemon -run InChromium with the variable set refreshes
		// the README's picture of the page.
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(path, png, 0o644)
		}
		if err != nil {
			t.Errorf("screenshot: %v", err)
		}
	}
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#lag-histogram rect").length`))
	if err != nil {
		t.Fatal(err)
	}
	db := w.stateCounts()
	total := 0
	for _, s := range portfolioStates {
		total += db[s]
		if got := strings.TrimSpace(*counts[s]); got != strconv.Itoa(db[s]) {
			t.Errorf("count of %s on the page %q, in the database %d", s, got, db[s])
		}
	}
	if got := strings.TrimSpace(*counts["total"]); got != strconv.Itoa(total) || total != 2 {
		t.Errorf("total on the page %q, in the database %d", got, total)
	}
	if bars != 5 {
		t.Errorf("lag histogram has %d bars, want 5", bars)
	}

	// Open the quarantined portfolio from the attention list.
	link := chromedp.CSS(`#attention a[href="/portfolios/` + w.stuck.String() + `"]`)
	if err := chromedp.Do(ctx, chromedp.Click(link), chromedp.WaitVisible(chromedp.CSS("#state"))); err != nil {
		t.Fatalf("open the quarantined portfolio: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#state")))
	if err != nil {
		t.Fatal(err)
	}
	reason, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#reason")))
	if err != nil {
		t.Fatal(err)
	}
	spark, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#nav-sparkline polyline").length`))
	if err != nil {
		t.Fatal(err)
	}
	if state != "quarantined" || !strings.Contains(reason, "quarantined after 5 failed attempts") || spark != 1 {
		t.Fatalf("portfolio page: state %q, reason %q, %d sparklines", state, reason, spark)
	}

	// Sign in with the admin token (the sign-in page does not reload
	// itself), back on the portfolio's page press retry. The portfolio
	// page reloads itself every second: a click that lands on a page
	// being replaced is tried again (a retry is idempotent).
	signIn, cancelSignIn := context.WithTimeout(ctx, 30*time.Second)
	defer cancelSignIn()
	if err := chromedp.Do(signIn,
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="token"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), opsAdminToken),
		chromedp.Click(chromedp.CSS("#submit-token")),
		chromedp.WaitVisible(chromedp.CSS("#retry")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for attempt := 1; ; attempt++ {
		press, cancelPress := context.WithTimeout(ctx, 10*time.Second)
		err := chromedp.Do(press, chromedp.Click(chromedp.CSS("#retry")), chromedp.WaitVisible(chromedp.CSS("#flash")))
		cancelPress()
		if err == nil {
			break
		}
		if attempt == 3 || ctx.Err() != nil {
			t.Fatalf("press retry: %v", err)
		}
	}

	// The page reloads itself; the portfolio becomes current.
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#state") || {}).textContent || ""`))
		if err == nil && got == "current" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page still shows %q (err %v) 60 s after the retry; the database says %v", got, err, w.stateCounts())
		}
		time.Sleep(100 * time.Millisecond) // polling interval of the check, not a wait for the work
	}
	if !w.current(w.stuck) {
		t.Errorf("the page shows current, the database does not")
	}
	t.Logf("Chromium test took %s", time.Since(started).Round(time.Millisecond))
}
