package daemon

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio"
)

// Defaults of OpsPageOptions.
const (
	DefaultOpsRefresh = 10 * time.Second
	DefaultOpsRows    = 20
)

// OpsPageOptions configures OpsPage. Nil means defaults.
type OpsPageOptions struct {
	// AdminToken, when set, lets an operator sign in with it and retry
	// portfolios from the page. Empty: the page is read-only.
	AdminToken string
	// Refresh is how often the page reloads itself; negative: never.
	// Default DefaultOpsRefresh (10 s).
	Refresh time.Duration
	// Rows bounds the portfolios needing attention and the runs listed.
	// Default DefaultOpsRows (20).
	Rows int
	// Prefix is the path the page is mounted under (behind
	// http.StripPrefix), for its links. Default "/".
	Prefix string
}

//go:embed ops
var opsFiles embed.FS

var opsTemplates = template.Must(template.New("ops").Funcs(template.FuncMap{
	"day": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.Format(time.DateOnly)
		case *time.Time:
			if v != nil {
				return v.Format(time.DateOnly)
			}
		}
		return "-"
	},
	"short": func(id uuid.UUID) string { return id.String()[:8] },
}).ParseFS(opsFiles, "ops/*.html"))

// opsSessionCookie holds a signed-in operator's session: a nonce and its
// HMAC under the admin token.
const opsSessionCookie = "backfilld_admin"

// opsPage serves the ops web page of a reconciler.
type opsPage struct {
	r      *Reconciler
	opts   OpsPageOptions
	assets http.Handler
}

// OpsPage returns the operator's web page, to mount at "/" (or under a
// prefix with http.StripPrefix): counts by state, a lag histogram, the
// portfolios that need attention with their explanation, recent runs, and
// a page per portfolio with its explanation, runs and NAV sparkline. It
// is server-rendered HTML with its stylesheet embedded: it works offline
// and without JavaScript, and reloads itself.
//
// With an admin token, an operator signs in with it (a session cookie,
// HttpOnly and SameSite=Strict) and gets a retry button per portfolio: a
// POST carrying a CSRF token bound to the session.
func (r *Reconciler) OpsPage(opts *OpsPageOptions) http.Handler {
	var o OpsPageOptions
	if opts != nil {
		o = *opts
	}
	o.Refresh = cmp.Or(o.Refresh, DefaultOpsRefresh)
	o.Rows = cmp.Or(o.Rows, DefaultOpsRows)
	o.Prefix = strings.TrimSuffix(cmp.Or(o.Prefix, "/"), "/") + "/"
	assets, _ := fs.Sub(opsFiles, "ops")
	p := &opsPage{r: r, opts: o, assets: http.FileServerFS(assets)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.overview)
	mux.HandleFunc("GET /portfolios/{id}", p.portfolio)
	mux.HandleFunc("POST /portfolios/{id}/retry", p.retry)
	mux.HandleFunc("GET /login", p.loginForm)
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("GET /assets/style.css", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		req2 := req.Clone(req.Context())
		req2.URL.Path = "/style.css"
		p.assets.ServeHTTP(w, req2)
	})
	return mux
}

// view is what every page template reads.
type view struct {
	Title, Path, Base    string
	Now                  time.Time
	Refresh              int
	Status               *Status
	AdminEnabled, Admin  bool
	Flash, Error         string
	RunsView             runsView
	CanRetry             bool
	CSRF                 string
	States               []stateCount
	Total                int
	Histogram, Sparkline template.HTML
	Explanation          *Explanation
	NAVFirst, NAVLast    string
	Next                 string
}

type stateCount struct {
	Name string
	N    int
}

type runsView struct {
	Base string
	Rows []runRow
}

// runRow is a run as the page lists it.
type runRow struct {
	*portfolio.BatchRun
	Duration string
}

func (p *opsPage) newView(req *http.Request, title string) *view {
	v := &view{Title: title, Path: req.URL.Path, Base: p.base(req), Now: p.r.cfg.Now().UTC(),
		AdminEnabled: p.opts.AdminToken != ""}
	if p.opts.Refresh > 0 {
		v.Refresh = int(math.Ceil(p.opts.Refresh.Seconds()))
	}
	_, v.Admin = p.session(req)
	switch req.URL.Query().Get("m") {
	case "retried":
		v.Flash = "Retry requested: the reconciler picks the portfolio up at once."
	case "bad-token":
		v.Error = "That is not the admin token."
	}
	return v
}

// base is the path prefix the page is mounted under, with a trailing
// slash, so that links work behind http.StripPrefix.
func (p *opsPage) base(*http.Request) string { return p.opts.Prefix }

func (p *opsPage) runs(rows []*portfolio.BatchRun, base string) runsView {
	out := runsView{Base: base, Rows: make([]runRow, len(rows))}
	now := p.r.cfg.Now()
	for i, run := range rows {
		d := run.Duration(now)
		s := "-"
		if d > 0 {
			s = d.Round(time.Millisecond).String()
		}
		out.Rows[i] = runRow{BatchRun: run, Duration: s}
	}
	return out
}

func (p *opsPage) render(w http.ResponseWriter, name string, v *view) {
	var buf bytes.Buffer
	if err := opsTemplates.ExecuteTemplate(&buf, name, v); err != nil {
		p.r.cfg.Logger.Error("ops page", "page", name, "error", err)
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	w.Write(buf.Bytes()) //nolint:errcheck // client gone
}

func (p *opsPage) overview(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	st, err := p.r.Status(ctx, time.Time{}, p.opts.Rows)
	if err != nil {
		http.Error(w, "status: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	runs, err := p.r.client.RunList(ctx, &portfolio.RunListParams{Limit: p.opts.Rows})
	if err != nil {
		http.Error(w, "runs: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	v := p.newView(req, "Portfolios")
	v.Status = st
	for _, s := range portfolio.States() {
		v.States = append(v.States, stateCount{string(s), st.ByState[s]})
		v.Total += st.ByState[s]
	}
	v.Histogram = lagHistogram(st, v.Total)
	v.RunsView = p.runs(runs.Runs, v.Base)
	p.render(w, "overview.html", v)
}

func (p *opsPage) portfolio(w http.ResponseWriter, req *http.Request) {
	id, err := uuid.Parse(req.PathValue("id"))
	if err != nil {
		http.Error(w, "not a portfolio id", http.StatusNotFound)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	ex, err := p.r.Explain(ctx, id)
	if errors.Is(err, portfolio.ErrNotFound) {
		http.Error(w, "no such portfolio", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "explain: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	st, err := p.r.Status(ctx, time.Time{}, 0)
	if err != nil {
		http.Error(w, "status: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	runs, err := p.r.client.RunList(ctx, &portfolio.RunListParams{PortfolioID: id, Limit: p.opts.Rows})
	if err != nil {
		http.Error(w, "runs: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	snaps, err := p.r.client.SnapshotList(ctx, id, &portfolio.SnapshotListParams{From: p.r.cfg.Now().AddDate(-1, 0, 0)})
	if err != nil {
		http.Error(w, "snapshots: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	v := p.newView(req, "Portfolio "+id.String())
	v.Status, v.Explanation = st, ex
	v.RunsView = p.runs(runs.Runs, v.Base)
	if nonce, ok := p.session(req); ok && ex.DeletedAt == nil {
		v.CanRetry, v.CSRF = true, p.mac("csrf", nonce)
	}
	if len(snaps) > 0 {
		navs := make([]float64, len(snaps))
		for i, s := range snaps {
			navs[i] = s.NAV
		}
		v.Sparkline = sparkline(navs)
		v.NAVFirst = fmt.Sprintf("%s %.2f", snaps[0].Date.Format(time.DateOnly), navs[0])
		v.NAVLast = fmt.Sprintf("%s %.2f", snaps[len(snaps)-1].Date.Format(time.DateOnly), navs[len(navs)-1])
	}
	p.render(w, "portfolio.html", v)
}

// mac is the hex HMAC-SHA256 of kind and value under the admin token.
func (p *opsPage) mac(kind, value string) string {
	m := hmac.New(sha256.New, []byte(p.opts.AdminToken))
	m.Write([]byte(kind + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil))
}

// session returns the signed-in operator's session nonce.
func (p *opsPage) session(req *http.Request) (string, bool) {
	if p.opts.AdminToken == "" {
		return "", false
	}
	c, err := req.Cookie(opsSessionCookie)
	if err != nil {
		return "", false
	}
	nonce, sig, ok := strings.Cut(c.Value, ".")
	if !ok || nonce == "" || !hmac.Equal([]byte(sig), []byte(p.mac("session", nonce))) {
		return "", false
	}
	return nonce, true
}

// sameOrigin refuses a cross-site POST by its Origin header, when the
// browser sends one (all current ones do for POST).
func sameOrigin(req *http.Request) bool {
	origin := req.Header.Get("Origin")
	if origin == "" || origin == "null" && req.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == req.Host
}

// localPath keeps a redirect target on this site.
func localPath(next, base string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return base
	}
	return next
}

// loginForm is the sign-in page. It does not reload itself, so that it
// never wipes a token being typed.
func (p *opsPage) loginForm(w http.ResponseWriter, req *http.Request) {
	if p.opts.AdminToken == "" {
		http.NotFound(w, req)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	st, err := p.r.Status(ctx, time.Time{}, 0)
	if err != nil {
		http.Error(w, "status: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	v := p.newView(req, "Sign in")
	v.Status, v.Refresh = st, 0
	v.Next = localPath(req.URL.Query().Get("next"), p.base(req))
	p.render(w, "login.html", v)
}

func (p *opsPage) login(w http.ResponseWriter, req *http.Request) {
	if p.opts.AdminToken == "" {
		http.NotFound(w, req)
		return
	}
	if !sameOrigin(req) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	req.Body = http.MaxBytesReader(w, req.Body, 4<<10)
	base := p.base(req)
	next := localPath(req.PostFormValue("next"), base)
	token := req.PostFormValue("token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(p.opts.AdminToken)) != 1 {
		http.Redirect(w, req, base+"login?m=bad-token&next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // never fails
	nonce := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: opsSessionCookie, Value: nonce + "." + p.mac("session", nonce), Path: base,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: req.TLS != nil, MaxAge: 12 * 3600})
	http.Redirect(w, req, next, http.StatusSeeOther)
}

func (p *opsPage) retry(w http.ResponseWriter, req *http.Request) {
	nonce, ok := p.session(req)
	if !ok {
		// Without a configured token the route does not exist; with one,
		// only a signed-in operator may retry.
		if p.opts.AdminToken == "" {
			http.NotFound(w, req)
		} else {
			http.Error(w, "sign in with the admin token first", http.StatusForbidden)
		}
		return
	}
	req.Body = http.MaxBytesReader(w, req.Body, 4<<10)
	if !sameOrigin(req) || !hmac.Equal([]byte(req.PostFormValue("csrf")), []byte(p.mac("csrf", nonce))) {
		http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
		return
	}
	id, err := uuid.Parse(req.PathValue("id"))
	if err != nil {
		http.Error(w, "not a portfolio id", http.StatusNotFound)
		return
	}
	if _, err := p.r.RetryPortfolio(req.Context(), id); errors.Is(err, portfolio.ErrNotFound) {
		http.Error(w, "no such portfolio (or deleted)", http.StatusNotFound)
		return
	} else if err != nil {
		http.Error(w, "retry: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	p.r.cfg.Logger.Info("retry requested from the ops page", "portfolio_id", id)
	http.Redirect(w, req, p.base(req)+"portfolios/"+id.String()+"?m=retried", http.StatusSeeOther)
}

// lagHistogram draws the portfolios by lag bucket as an inline SVG bar
// chart: current, 1, 2–5 and more than 5 trading days behind, and never
// snapshotted.
func lagHistogram(st *Status, total int) template.HTML {
	behind := 0
	for _, n := range st.Behind {
		behind += n
	}
	bars := []struct {
		label string
		n     int
	}{
		{"0", max(total-behind, 0)}, {"1", st.Behind["1d"]}, {"2–5", st.Behind["2_5d"]},
		{"> 5", st.Behind["gt_5d"]}, {"never", st.Behind["never"]},
	}
	peak := 1
	for _, b := range bars {
		peak = max(peak, b.n)
	}
	const w, h, barW, gap, top, bottom = 400, 150, 60, 18, 16, 22
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg id="lag-histogram" role="img" aria-label="portfolios by lag" viewBox="0 0 %d %d" width="%d" height="%d">`, w, h, w, h)
	for i, b := range bars {
		x := 10 + i*(barW+gap)
		bh := float64(h-top-bottom) * float64(b.n) / float64(peak)
		y := float64(h-bottom) - bh
		fmt.Fprintf(&sb, `<rect class="bar" data-lag="%s" data-count="%d" x="%d" y="%.1f" width="%d" height="%.1f"><title>%s: %d</title></rect>`,
			template.HTMLEscapeString(b.label), b.n, x, y, barW, bh, template.HTMLEscapeString(b.label), b.n)
		fmt.Fprintf(&sb, `<text x="%d" y="%.1f" text-anchor="middle">%d</text>`, x+barW/2, y-3, b.n)
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, x+barW/2, h-6, template.HTMLEscapeString(b.label))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) //nolint:gosec // built from numbers and escaped labels
}

// sparkline draws values as an inline SVG polyline.
func sparkline(values []float64) template.HTML {
	const w, h, pad = 600, 80, 4
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	var pts strings.Builder
	for i, v := range values {
		x := float64(pad)
		if len(values) > 1 {
			x += float64(w-2*pad) * float64(i) / float64(len(values)-1)
		}
		y := float64(pad) + float64(h-2*pad)*(1-(v-lo)/span)
		fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
	}
	return template.HTML(fmt.Sprintf( //nolint:gosec // numbers only
		`<svg id="nav-sparkline" role="img" aria-label="NAV" viewBox="0 0 %d %d" width="%d" height="%d" data-points="%d"><polyline class="spark" points="%s"/></svg>`,
		w, h, w, h, len(values), strings.TrimSpace(pts.String())))
}
