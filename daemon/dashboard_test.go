package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// grafanaPanel is what the test reads of a dashboard panel.
type grafanaPanel struct {
	Title   string         `json:"title"`
	Type    string         `json:"type"`
	Panels  []grafanaPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// dashboardExprs returns every PromQL expression of the dashboard by
// panel title, Grafana's variables replaced by values.
func dashboardExprs(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("alerts/backfill.dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []grafanaPanel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "${__rate_interval}", "5m", "$job", "backfilld", "${job}", "backfilld")
	out := map[string][]string{}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, tg := range p.Targets {
				if strings.Contains(vars.Replace(tg.Expr), "$") {
					t.Errorf("panel %q: unknown variable in %s", p.Title, tg.Expr)
				}
				out[p.Title] = append(out[p.Title], vars.Replace(tg.Expr))
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
		}
	}
	walk(d.Panels)
	return out
}

// registeredMetrics lists the metric names a reconciler's registry
// exports (its own and the process collector's), with each one's labels.
func registeredMetrics(t *testing.T) map[string][]string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if _, err := newMetrics(reg, "test", func() float64 { return 0 }); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{"up": {}}
	for _, f := range families {
		labels := []string{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(labels, l.GetName()) {
					labels = append(labels, l.GetName())
				}
			}
		}
		out[f.GetName()] = labels
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[f.GetName()+s] = append(slices.Clone(labels), "le")
			}
		}
	}
	return out
}

// TestDashboardQueries checks every PromQL expression of the Grafana
// dashboard: it parses (promtool check rules on a rules file recording
// each one) and names only metrics, and groups only by labels, that the
// daemon registers, so that no panel is silently empty.
func TestDashboardQueries(t *testing.T) {
	t.Parallel()
	exprs := dashboardExprs(t)
	metrics := registeredMetrics(t)
	// Labels Prometheus adds to every scraped series.
	target := []string{"job", "instance", "le"}
	name := regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	byClause := regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	keywords := map[string]bool{"sum": true, "max": true, "min": true, "count": true, "by": true, "without": true, "rate": true,
		"increase": true, "histogram_quantile": true, "time": true, "avg": true, "and": true, "or": true, "unless": true, "bool": true}

	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	seen := map[string]bool{}
	for title, list := range exprs {
		for _, e := range list {
			n++
			q, _ := json.Marshal(e) // a JSON string is a YAML string
			fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", n, q)

			// Strip label matchers, strings and durations; what is left
			// of the identifiers are metric names and functions.
			bare := regexp.MustCompile(`\{[^}]*\}|"[^"]*"|\[[^\]]*\]`).ReplaceAllString(e, " ")
			bare = byClause.ReplaceAllString(bare, " ")
			var used []string
			for _, id := range name.FindAllString(bare, -1) {
				if keywords[id] || strings.Trim(id, "0123456789.") == "" {
					continue
				}
				if _, ok := metrics[id]; !ok {
					t.Errorf("panel %q: %s is not a metric the daemon registers (in %s)", title, id, e)
					continue
				}
				used = append(used, id)
				seen[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(id, "_bucket"), "_sum"), "_count")] = true
			}
			for _, m := range byClause.FindAllStringSubmatch(e, -1) {
				for _, l := range strings.Split(m[1], ",") {
					l = strings.TrimSpace(l)
					ok := slices.Contains(target, l)
					for _, u := range used {
						ok = ok || slices.Contains(metrics[u], l)
					}
					if !ok {
						t.Errorf("panel %q: label %q is on none of %v (in %s)", title, l, used, e)
					}
				}
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d queries", n)
	}
	// The dashboard's required panels: lag, behind by bucket, throughput, errors by
	// result, durations, listener, sweep age.
	for _, m := range []string{"backfill_max_lag_trading_days", "backfill_portfolios_behind", "backfill_days_written_total",
		"backfill_backfills_total", "backfill_backfill_duration_seconds", "backfill_sweep_duration_seconds",
		"backfill_listener_connected", "backfill_last_successful_sweep_timestamp_seconds"} {
		if !seen[m] {
			t.Errorf("no panel shows %s", m)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (.ci/run does)")
	}
	file := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, rules.String())
	}
}
