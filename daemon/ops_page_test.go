package daemon

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// opsWorld is a reconciler running with its ops page served, over two
// backfilled portfolios, one of them quarantined.
type opsWorld struct {
	*world
	r         *Reconciler
	srv       *httptest.Server
	ok, stuck uuid.UUID
}

const opsAdminToken = "s3cret-admin-token"

func newOpsWorld(t *testing.T, adminToken string) *opsWorld {
	t.Helper()
	w := &opsWorld{world: newWorld(t, 40, 3)}
	w.ok = w.onboard("ok", w.symbols...)
	w.stuck = w.onboard("stuck", w.symbols[0])
	w.r = w.reconciler(&Config{Schedule: "@every 1s"})
	if _, err := w.r.SweepNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "both current", func() bool { return w.current(w.ok) && w.current(w.stuck) })
	if _, err := w.db.Pool.Exec(context.Background(), `UPDATE backfill.backfill_state SET status = 'quarantined', attempts = 5,
		last_error = 'load prices: connection reset' WHERE portfolio_id = $1`, w.stuck); err != nil {
		t.Fatal(err)
	}
	if err := w.r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		w.r.Stop(ctx) //nolint:errcheck // test teardown
	})
	mux := http.NewServeMux()
	mux.Handle("/", w.r.OpsPage(&OpsPageOptions{AdminToken: adminToken, Refresh: time.Second}))
	mux.Handle("/status", w.r.Handler())
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	return w
}

// stateCounts reads the portfolios by state from the database.
func (w *opsWorld) stateCounts() map[string]int {
	rows, err := w.db.Pool.Query(context.Background(), `SELECT status, count(*) FROM backfill.backfill_state GROUP BY status`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			w.t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The page renders from the database, works offline (nothing fetched from
// another origin), and guards retries: no route without a token, no retry
// without a session or without the CSRF token, none cross-site.
func TestOpsPageHTTP(t *testing.T) {
	// Not parallel: two more reconcilers would take the CPU from the
	// timing-sensitive fault tests, which run in parallel after it.
	w := newOpsWorld(t, opsAdminToken)
	c := w.srv.Client()
	code, body := get(t, c, w.srv.URL+"/")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d %s", code, body)
	}
	for _, want := range []string{`id="count-quarantined">1<`, `id="count-current">1<`, `id="lag-histogram"`,
		w.stuck.String(), "quarantined after 5 failed attempts in a row", `<meta http-equiv="refresh" content="1">`} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(body); m != "" {
		t.Errorf("the page loads %s from elsewhere", m)
	}
	if code, css := get(t, c, w.srv.URL+"/assets/style.css"); code != http.StatusOK || !strings.Contains(css, "--bar") {
		t.Errorf("stylesheet: %d", code)
	}
	code, body = get(t, c, w.srv.URL+"/portfolios/"+w.ok.String())
	if code != http.StatusOK || !strings.Contains(body, `id="nav-sparkline"`) || strings.Contains(body, `id="retry"`) {
		t.Errorf("portfolio page: %d, sparkline or an unexpected retry button:\n%.3000s", code, body)
	}
	if code, _ := get(t, c, w.srv.URL+"/portfolios/"+uuid.NewString()); code != http.StatusNotFound {
		t.Errorf("unknown portfolio: %d", code)
	}

	post := func(c *http.Client, path string, form url.Values, origin string) int {
		if !strings.HasPrefix(path, "http") {
			path = w.srv.URL + path
		}
		req, _ := http.NewRequest("POST", path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	retry := "/portfolios/" + w.stuck.String() + "/retry"
	noRedirect := func(c *http.Client) *http.Client {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}
	if code := post(c, retry, url.Values{}, ""); code != http.StatusForbidden {
		t.Errorf("retry without a session: %d", code)
	}
	code, body = get(t, c, w.srv.URL+"/login?next=//evil.example/")
	if code != http.StatusOK || !strings.Contains(body, `name="token"`) || strings.Contains(body, "http-equiv") ||
		!strings.Contains(body, `name="next" value="/"`) {
		t.Errorf("sign-in page: %d, a token field, no reload, a local next:\n%.2000s", code, body)
	}
	jar, _ := cookiejar.New(nil)
	admin := noRedirect(&http.Client{Jar: jar})
	if code := post(admin, "/login", url.Values{"token": {"wrong"}, "next": {"/"}}, ""); code != http.StatusSeeOther {
		t.Errorf("login with a wrong token: %d", code)
	}
	if u, _ := url.Parse(w.srv.URL); len(jar.Cookies(u)) != 0 {
		t.Errorf("a wrong token signed in")
	}
	if code := post(admin, "/login", url.Values{"token": {opsAdminToken}, "next": {"https://evil.example/"}}, w.srv.URL); code != http.StatusSeeOther {
		t.Errorf("login: %d", code)
	}
	if code := post(admin, retry, url.Values{}, ""); code != http.StatusForbidden {
		t.Errorf("retry without the CSRF token: %d", code)
	}
	_, page := get(t, admin, w.srv.URL+"/portfolios/"+w.stuck.String())
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the signed-in page:\n%.3000s", page)
	}
	if code := post(admin, retry, url.Values{"csrf": {m[1]}}, "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("cross-site retry: %d", code)
	}
	if w.stateCounts()["quarantined"] != 1 {
		t.Fatal("a refused retry changed the state")
	}
	if code := post(admin, retry, url.Values{"csrf": {m[1]}}, w.srv.URL); code != http.StatusSeeOther {
		t.Errorf("retry: %d", code)
	}
	eventually(t, 30*time.Second, "the retried portfolio current", func() bool { return w.current(w.stuck) })

	// Without an admin token the page is read-only: no sign-in, no route.
	ro := newOpsWorld(t, "")
	code, body = get(t, ro.srv.Client(), ro.srv.URL+"/portfolios/"+ro.stuck.String())
	if code != http.StatusOK || strings.Contains(body, `id="sign-in"`) || strings.Contains(body, `id="retry"`) {
		t.Errorf("read-only page offers sign-in or retry")
	}
	if code := post(ro.srv.Client(), ro.srv.URL+"/portfolios/"+ro.stuck.String()+"/retry", url.Values{}, ""); code != http.StatusNotFound {
		t.Errorf("retry without a configured token: %d", code)
	}
	if code, _ := get(t, ro.srv.Client(), ro.srv.URL+"/login"); code != http.StatusNotFound {
		t.Errorf("sign-in page without a configured token: %d", code)
	}
	if code := post(ro.srv.Client(), ro.srv.URL+"/login", url.Values{"token": {""}}, ""); code != http.StatusNotFound {
		t.Errorf("login without a configured token: %d", code)
	}
}
