package batch

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// riskLRE is the log relative error, the number of significant digits on
// which est agrees with cert: −log10(|est − cert| / |cert|), between 0 and
// 15 (the absolute error when cert is 0).
func riskLRE(est, cert float64) float64 {
	if est == cert {
		return 15
	}
	den := math.Abs(cert)
	if den == 0 {
		den = 1
	}
	return math.Max(0, math.Min(15, -math.Log10(math.Abs(est-cert)/den)))
}

func riskClose(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestRiskMathMeanSD(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		x        []float64
		mean, sd float64
	}{
		{"empty", nil, 0, 0},
		{"one value", []float64{3}, 3, 0},
		{"two values", []float64{1, 3}, 2, math.Sqrt2},
		{"constant", []float64{0.1, 0.1, 0.1, 0.1}, 0.1, 0},
		{"textbook", []float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7)},
		{"shifted textbook", []float64{1e9 + 2, 1e9 + 4, 1e9 + 4, 1e9 + 4, 1e9 + 5, 1e9 + 5, 1e9 + 7, 1e9 + 9}, 1e9 + 5, math.Sqrt(32.0 / 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, sd := meanSD(tt.x)
			if !riskClose(m, tt.mean, 1e-15) || !riskClose(sd, tt.sd, 1e-14) {
				t.Errorf("meanSD = %v, %v; want %v, %v", m, sd, tt.mean, tt.sd)
			}
		})
	}
}

// nistNumAcc builds NIST StRD's NumAcc datasets from their published
// construction rules.
func nistNumAcc(name string) []float64 {
	var first, lo, hi float64
	switch name {
	case "NumAcc1":
		return []float64{10000001, 10000003, 10000002}
	case "NumAcc2":
		first, lo, hi = 1.2, 1.1, 1.3
	case "NumAcc3":
		first, lo, hi = 1000000.2, 1000000.1, 1000000.3
	case "NumAcc4":
		first, lo, hi = 10000000.2, 10000000.1, 10000000.3
	default:
		panic("unknown dataset " + name)
	}
	// v[0] = first, then 500 pairs (lo, hi).
	x := []float64{first}
	for range 500 {
		x = append(x, lo, hi)
	}
	return x
}

// nistStrd is the part of the reference file the tests read.
type nistStrd struct {
	Norris struct {
		X, Y      []float64
		Certified struct{ Beta []float64 }
	}
	Longley struct {
		Columns   []string
		Rows      [][]float64
		Certified struct{ Beta []float64 }
	}
	Univariate map[string]struct {
		N                 int     `json:"n"`
		Construction      string  `json:"construction"`
		CertifiedMean     float64 `json:"certified_mean"`
		CertifiedSampleSD float64 `json:"certified_sample_sd"`
	}
}

// loadNIST reads the certified values from the file named by
// BACKFILL_NIST_STRD, kept outside the repository.
func loadNIST(t *testing.T) *nistStrd {
	t.Helper()
	path := os.Getenv("BACKFILL_NIST_STRD")
	if path == "" {
		t.Skip("BACKFILL_NIST_STRD not set; point it at nist_strd.json (.ci/run sets ../shared/reference-data/nist_strd.json)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d nistStrd
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &d
}

// TestNISTUnivariate checks the sample standard deviation on NIST's
// NumAcc1–4 to at least 8 significant digits. The certified values are
// NIST's published ones; when the reference file is available, they and
// the constructions' sizes are checked against it too.
func TestNISTUnivariate(t *testing.T) {
	t.Parallel()
	certified := map[string][2]float64{ // mean, sample sd
		"NumAcc1": {10000002, 1},
		"NumAcc2": {1.2, 0.1},
		"NumAcc3": {1000000.2, 0.1},
		"NumAcc4": {10000000.2, 0.1},
	}
	var ref *nistStrd
	if os.Getenv("BACKFILL_NIST_STRD") != "" {
		ref = loadNIST(t)
	}
	for _, name := range []string{"NumAcc1", "NumAcc2", "NumAcc3", "NumAcc4"} {
		t.Run(name, func(t *testing.T) {
			x := nistNumAcc(name)
			cert := certified[name]
			if ref != nil {
				u, ok := ref.Univariate[name]
				if !ok {
					t.Fatalf("%s missing from the reference file", name)
				}
				if u.N != len(x) || u.CertifiedMean != cert[0] || u.CertifiedSampleSD != cert[1] {
					t.Fatalf("reference file: n %d mean %v sd %v (%s); built n %d, certified %v",
						u.N, u.CertifiedMean, u.CertifiedSampleSD, u.Construction, len(x), cert)
				}
			}
			m, sd := meanSD(x)
			lreMean, lreSD := riskLRE(m, cert[0]), riskLRE(sd, cert[1])
			t.Logf("%s: mean %.17g (LRE %.2f), sd %.17g (LRE %.2f)", name, m, lreMean, sd, lreSD)
			if lreMean < 8 || lreSD < 8 {
				t.Errorf("%s: LRE mean %.2f, sd %.2f; want ≥ 8", name, lreMean, lreSD)
			}
		})
	}
}

// TestNISTOnePassFails demonstrates why the analytics never use the
// textbook one-pass formula var = (Σx² − n·x̄²)/(n−1): on NumAcc4 it
// cancels catastrophically and keeps no correct digit.
func TestNISTOnePassFails(t *testing.T) {
	t.Parallel()
	x := nistNumAcc("NumAcc4")
	var s, s2 float64
	for _, v := range x {
		s += v
		s2 += v * v
	}
	n := float64(len(x))
	v := (s2 - s*s/n) / (n - 1)
	sd := math.Sqrt(math.Max(v, 0))
	lre := riskLRE(sd, 0.1)
	t.Logf("one-pass NumAcc4 sd %.17g (LRE %.2f); two-pass LRE %.2f", sd, lre, riskLRE(func() float64 { _, s := meanSD(x); return s }(), 0.1))
	if lre >= 8 {
		t.Errorf("one-pass formula reached LRE %.2f on NumAcc4; the demonstration expects it to fail", lre)
	}
}

func TestNISTNorris(t *testing.T) {
	t.Parallel()
	d := loadNIST(t)
	cert := d.Norris.Certified.Beta
	if len(cert) != 2 || len(d.Norris.X) == 0 {
		t.Fatalf("norris: certified beta %v, %d points", cert, len(d.Norris.X))
	}
	f, err := fitLine(d.Norris.X, d.Norris.Y)
	if err != nil {
		t.Fatal(err)
	}
	lre0, lre1 := riskLRE(f.intercept, cert[0]), riskLRE(f.slope, cert[1])
	t.Logf("Norris: intercept %.15g (LRE %.2f), slope %.15g (LRE %.2f)", f.intercept, lre0, f.slope, lre1)
	if lre0 < 12 || lre1 < 12 {
		t.Errorf("Norris LRE intercept %.2f, slope %.2f; want ≥ 12", lre0, lre1)
	}
	// The multiple-regression path agrees on the same data.
	b, err := fitOLS([][]float64{d.Norris.X}, d.Norris.Y)
	if err != nil {
		t.Fatal(err)
	}
	if riskLRE(b[0], cert[0]) < 12 || riskLRE(b[1], cert[1]) < 12 {
		t.Errorf("Norris via QR: %v; LRE %.2f, %.2f", b, riskLRE(b[0], cert[0]), riskLRE(b[1], cert[1]))
	}
}

// TestNISTLongley fits NIST's ill-conditioned Longley data (six
// regressors, cond(X) ≈ 5e9) by QR and wants every coefficient to at least
// 9 significant digits.
func TestNISTLongley(t *testing.T) {
	t.Parallel()
	d := loadNIST(t)
	l := d.Longley
	cert := l.Certified.Beta
	if len(l.Columns) != 7 || l.Columns[0] != "y" || len(cert) != 7 || len(l.Rows) != 16 {
		t.Fatalf("longley: columns %v, %d rows, certified %v", l.Columns, len(l.Rows), cert)
	}
	y := make([]float64, len(l.Rows))
	cols := make([][]float64, 6)
	for i, r := range l.Rows {
		y[i] = r[0]
		for j := range cols {
			cols[j] = append(cols[j], r[j+1])
		}
	}
	b, err := fitOLS(cols, y)
	if err != nil {
		t.Fatal(err)
	}
	minLRE := 15.0
	for j := range b {
		lre := riskLRE(b[j], cert[j])
		minLRE = math.Min(minLRE, lre)
		t.Logf("Longley b%d = %.15g, certified %.15g, LRE %.2f", j, b[j], cert[j], lre)
		if lre < 9 {
			t.Errorf("Longley b%d LRE %.2f; want ≥ 9", j, lre)
		}
	}
	t.Logf("Longley minimum LRE %.2f", minLRE)
}

func TestRiskMathFitLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		x, y         []float64
		slope, icept float64
		err          error
	}{
		{"exact line", []float64{1, 2, 3, 4}, []float64{3, 5, 7, 9}, 2, 1, nil},
		{"noisy", []float64{0, 1, 2}, []float64{1, 2, 4}, 1.5, 5.0 / 6, nil},
		{"flat x", []float64{0.01, 0.01, 0.01}, []float64{1, 2, 3}, 0, 0, errZeroVariance},
		{"zero x", []float64{0, 0, 0, 0}, []float64{1, 2, 3, 4}, 0, 0, errZeroVariance},
		{"one point", []float64{1}, []float64{1}, 0, 0, errZeroVariance},
		{"flat y", []float64{1, 2, 3}, []float64{5, 5, 5}, 0, 5, nil},
		// Values differing only in their last bit are constant up to
		// rounding.
		{"near-constant by rounding", []float64{0.1 + 0.2, 0.3, 0.1 + 0.2, 0.3, 0.3}, []float64{1, 2, 3, 4, 5}, 0, 0, errZeroVariance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := fitLine(tt.x, tt.y)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && (!riskClose(f.slope, tt.slope, 1e-14) || !riskClose(f.intercept, tt.icept, 1e-14)) {
				t.Errorf("fit = %+v, want slope %v intercept %v", f, tt.slope, tt.icept)
			}
		})
	}
}

// riskRidgeReference solves the same ridge problem independently: least
// squares on the augmented system [Z; √α·I] γ = [yc; 0] by QR.
func riskRidgeReference(t *testing.T, cols [][]float64, y []float64, alpha float64) []float64 {
	t.Helper()
	n, p := len(y), len(cols)
	a := mat.NewDense(n+p, p, nil)
	b := mat.NewVecDense(n+p, nil)
	var my float64
	for _, v := range y {
		my += v / float64(n)
	}
	sds := make([]float64, p)
	for j, c := range cols {
		var m, ss float64
		for _, v := range c {
			m += v / float64(n)
		}
		for _, v := range c {
			ss += (v - m) * (v - m)
		}
		sds[j] = math.Sqrt(ss / float64(n))
		for i, v := range c {
			a.Set(i, j, (v-m)/sds[j])
		}
		a.Set(n+j, j, math.Sqrt(alpha))
	}
	for i, v := range y {
		b.SetVec(i, v-my)
	}
	var qr mat.QR
	qr.Factorize(a)
	var g mat.Dense
	if err := qr.SolveTo(&g, false, b); err != nil {
		t.Fatal(err)
	}
	out := make([]float64, p)
	for j := range out {
		out[j] = g.At(j, 0) / sds[j]
	}
	return out
}

func riskRandomDesign(rng *rand.Rand, n, p int) ([][]float64, []float64) {
	cols := make([][]float64, p)
	y := make([]float64, n)
	for j := range cols {
		cols[j] = make([]float64, n)
		for i := range n {
			cols[j][i] = 0.01 * rng.NormFloat64()
			y[i] += float64(j+1) * 0.3 * cols[j][i]
		}
	}
	for i := range y {
		y[i] += 0.0005 + 0.004*rng.NormFloat64()
	}
	return cols, y
}

// TestRidgeOrthogonalShrinkage: on standardized orthogonal columns the
// ridge solution is the analytic shrinkage γ_j = z_jᵀy / (z_jᵀz_j + α).
func TestRidgeOrthogonalShrinkage(t *testing.T) {
	t.Parallel()
	// Columns of a 4×4 Hadamard matrix without its constant column: mean
	// 0, population sd 1, mutually orthogonal, so Z = X.
	cols := [][]float64{
		{1, -1, 1, -1, 1, -1, 1, -1},
		{1, 1, -1, -1, 1, 1, -1, -1},
		{1, -1, -1, 1, 1, -1, -1, 1},
	}
	y := []float64{3, -1, 4, 1, -5, 9, 2, -6}
	var my float64
	for _, v := range y {
		my += v / float64(len(y))
	}
	for _, alpha := range []float64{0, 1, 2.5, 100} {
		fit, err := newRidgeSolver(alpha).fit(cols, y)
		if err != nil {
			t.Fatal(err)
		}
		for j, c := range cols {
			var zy, zz float64
			for i, v := range c {
				zy += v * (y[i] - my)
				zz += v * v
			}
			want := zy / (zz + alpha)
			if !riskClose(fit.coef[j], want, 1e-13) {
				t.Errorf("alpha %v: coef[%d] = %.17g, want %.17g", alpha, j, fit.coef[j], want)
			}
		}
		// The column means are 0, so the intercept is ȳ.
		if !riskClose(fit.intercept, my, 1e-13) {
			t.Errorf("alpha %v: intercept %v, want %v", alpha, fit.intercept, my)
		}
	}

	// Rescaling and shifting a column changes its raw coefficient by the
	// inverse scale and leaves the standardized fit alone.
	scaled := [][]float64{cols[0], make([]float64, 8), cols[2]}
	for i, v := range cols[1] {
		scaled[1][i] = 0.02 + 0.005*v
	}
	a, _ := newRidgeSolver(1).fit(cols, y)
	b, _ := newRidgeSolver(1).fit(scaled, y)
	if !riskClose(b.coef[1], a.coef[1]/0.005, 1e-12) || !riskClose(b.coef[0], a.coef[0], 1e-13) {
		t.Errorf("rescaled: %v vs %v", b.coef, a.coef)
	}
	if !riskClose(b.intercept, a.intercept-b.coef[1]*0.02, 1e-12) {
		t.Errorf("rescaled intercept %v, want %v", b.intercept, a.intercept-b.coef[1]*0.02)
	}
}

// TestRidgeAlphaZeroIsOLS: without a penalty, ridge on a well-conditioned
// design is OLS.
func TestRidgeAlphaZeroIsOLS(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	cols, y := riskRandomDesign(rng, 90, 6)
	fit, err := newRidgeSolver(0).fit(cols, y)
	if err != nil {
		t.Fatal(err)
	}
	ols, err := fitOLS(cols, y)
	if err != nil {
		t.Fatal(err)
	}
	if !riskClose(fit.intercept, ols[0], 1e-12) {
		t.Errorf("intercept %v, OLS %v", fit.intercept, ols[0])
	}
	for j := range cols {
		if !riskClose(fit.coef[j], ols[j+1], 1e-11) {
			t.Errorf("coef[%d] %.17g, OLS %.17g", j, fit.coef[j], ols[j+1])
		}
	}
}

// TestRidgeMatchesAugmentedQR compares the Cholesky solve with an
// independent QR solve of the augmented least-squares problem.
func TestRidgeMatchesAugmentedQR(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 5))
	s := newRidgeSolver(1)
	for trial := range 50 {
		n := 30 + rng.IntN(60)
		cols, y := riskRandomDesign(rng, n, 6)
		fit, err := s.fit(cols, y)
		if err != nil {
			t.Fatal(err)
		}
		want := riskRidgeReference(t, cols, y, 1)
		for j := range want {
			if !riskClose(fit.coef[j], want[j], 1e-11) {
				t.Errorf("trial %d: coef[%d] = %.17g, want %.17g", trial, j, fit.coef[j], want[j])
			}
		}
	}
}

func TestRidgeZeroVarianceColumn(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1))
	cols, y := riskRandomDesign(rng, 60, 3)
	flat := make([]float64, 60) // a proxy that did not move
	fit, err := newRidgeSolver(1).fit([][]float64{cols[0], flat, cols[1], cols[2]}, y)
	if err != nil {
		t.Fatal(err)
	}
	if !fit.dropped[1] || fit.dropped[0] || fit.dropped[2] || fit.dropped[3] {
		t.Fatalf("dropped = %v, want only column 1", fit.dropped)
	}
	// The others are the fit without the flat column.
	want, _ := newRidgeSolver(1).fit(cols, y)
	for j, k := range []int{0, 2, 3} {
		if fit.coef[k] != want.coef[j] {
			t.Errorf("coef[%d] = %v, want %v", k, fit.coef[k], want.coef[j])
		}
	}
	if _, err := newRidgeSolver(1).fit([][]float64{flat}, y); !errors.Is(err, errZeroVariance) {
		t.Errorf("all columns flat: err %v, want zero variance", err)
	}
}

func TestVolatility(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		returns []float64
		window  int
		want    float64
		ok      bool
	}{
		{"full window", []float64{0.01, -0.01}, 2, math.Sqrt(2*0.0001) * math.Sqrt(252), true},
		{"short window", []float64{0.01, -0.01}, 3, 0, false},
		{"long slice", []float64{0.01, -0.01, 0.02}, 2, 0, false},
		{"flat", []float64{0.001, 0.001, 0.001}, 3, 0, true},
		{"window of one", []float64{0.01}, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := volatility(tt.returns, tt.window)
			if ok != tt.ok || !riskClose(got, tt.want, 1e-14) {
				t.Errorf("volatility = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	// 21 returns: against the definition.
	rng := rand.New(rand.NewPCG(2, 2))
	r := make([]float64, 21)
	var m float64
	for i := range r {
		r[i] = 0.01 * rng.NormFloat64()
		m += r[i] / 21
	}
	var ss float64
	for _, v := range r {
		ss += (v - m) * (v - m)
	}
	got, ok := volatility(r, 21)
	if want := math.Sqrt(ss/20) * math.Sqrt(252); !ok || !riskClose(got, want, 1e-13) {
		t.Errorf("volatility 21d = %v, %v; want %v", got, ok, want)
	}
}

func TestBetaRealized(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(4, 4))
	bench := make([]float64, 90)
	port := make([]float64, 90)
	for i := range bench {
		bench[i] = 0.01 * rng.NormFloat64()
		port[i] = 0.0002 + 0.8*bench[i]
	}
	if b, ok, why := realizedBeta(port, bench, 30); !ok || !riskClose(b, 0.8, 1e-12) {
		t.Errorf("realizedBeta = %v, %v, %q; want 0.8", b, ok, why)
	}
	if _, ok, why := realizedBeta(port[:12], bench[:12], 30); ok || why != "too few observations (12 < 30)" {
		t.Errorf("12 observations: ok %v, reason %q", ok, why)
	}
	flat := make([]float64, 90)
	if _, ok, why := realizedBeta(port, flat, 30); ok || why != "zero variance" {
		t.Errorf("flat benchmark: ok %v, reason %q", ok, why)
	}
	// Realized beta is not capped.
	for i := range port {
		port[i] = 9 * bench[i]
	}
	if b, ok, _ := realizedBeta(port, bench, 30); !ok || !riskClose(b, 9, 1e-12) {
		t.Errorf("realizedBeta = %v, %v; want 9 (uncapped)", b, ok)
	}
}

// TestRollingMoments slides a window of 3-variate rows as
// computeSymbolBetas does (syncing every symbolBetasSyncEvery steps) and
// compares the rolling co-moments with the two-pass ones at every step
// where they are trusted (not drifted), on returns-like data and on data
// with a large offset (NumAcc-like: 1e6 + noise), each with a volatile
// stretch (the variance then collapsing far below what went through the
// sums) and a flat one (which must always be reported drifted). Removing
// every row must reset the sample exactly.
func TestRollingMoments(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		offset, sd    float64
		minTrustedPct float64
	}{
		{"returns", 1e-3, 1e-2, 80},
		{"offset 1e6", 1e6, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 14))
			const m, w, steps = 3, 50, 2000
			rows := make([][]float64, steps)
			for i := range rows {
				sd := tt.sd
				if i >= 1000 && i < 1100 {
					sd *= 1e4 // volatile stretch
				}
				if i >= 1500 && i < 1600 {
					sd = 0 // flat stretch
				}
				z := rng.NormFloat64()
				rows[i] = []float64{tt.offset + sd*z, tt.offset + sd*(0.5*z+rng.NormFloat64()), -tt.offset + sd*rng.NormFloat64()}
			}
			roll, ref := newRollingMoments(m), newRollingMoments(m)
			cols := make([][]float64, m)
			var maxRel float64
			trusted := 0
			for i := range steps {
				lo := max(0, i-w+1)
				for j := range cols {
					cols[j] = cols[j][:0]
					for _, r := range rows[lo : i+1] {
						cols[j] = append(cols[j], r[j])
					}
				}
				ref.sync(cols)
				if i%symbolBetasSyncEvery == 0 {
					roll.sync(cols)
				} else {
					if i >= w {
						roll.remove(rows[i-w])
					}
					roll.add(rows[i])
				}
				if roll.n != ref.n {
					t.Fatalf("step %d: n %d, want %d", i, roll.n, ref.n)
				}
				drifted := false
				for a := range m {
					drifted = drifted || roll.drifted(a)
				}
				if i >= 1500+w-1 && i < 1600 && !drifted {
					t.Fatalf("step %d: flat window not reported drifted", i)
				}
				if drifted {
					continue
				}
				trusted++
				for a := range m {
					for b := a; b < m; b++ {
						scale := math.Sqrt(ref.c[a*m+a] * ref.c[b*m+b])
						rel := math.Abs(roll.c[a*m+b]-ref.c[a*m+b]) / scale
						maxRel = max(maxRel, rel)
						if !(rel <= 1e-12) {
							t.Fatalf("step %d C[%d][%d] = %g, two-pass %g", i, a, b, roll.c[a*m+b], ref.c[a*m+b])
						}
					}
				}
			}
			pct := 100 * float64(trusted) / steps
			t.Logf("%.0f%% of steps trusted; max relative difference of their co-moments %.3g", pct, maxRel)
			if pct < tt.minTrustedPct {
				t.Errorf("only %.0f%% of steps trusted, want ≥ %.0f%%", pct, tt.minTrustedPct)
			}
			for i := steps - w; i < steps; i++ {
				roll.remove(rows[i])
			}
			if roll.n != 0 || roll.mean[0] != 0 || roll.c[0] != 0 || roll.energy[0] != 0 {
				t.Errorf("after removing every row: %+v", roll)
			}
		})
	}
}
