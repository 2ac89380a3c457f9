package main

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeMatchesBenchJSON: the performance page's table is what
// `authbench readme` generates from docs/performance/bench.json, so no
// figure in it is typed by hand.
func TestReadmeMatchesBenchJSON(t *testing.T) {
	rep, err := readSuite("../../docs/performance/bench.json")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := replaceSection(string(readme), readmeSection(rep))
	if err != nil {
		t.Fatal(err)
	}
	if want != string(readme) {
		t.Errorf("docs/performance.md's table differs from docs/performance/bench.json: run `go run ./cmd/authbench readme`")
	}
	for _, e := range rep.Engines {
		if !strings.Contains(string(readme), engineTitle(e.Engine)) {
			t.Errorf("the performance page lacks the %s column", e.Engine)
		}
	}
}

// TestReadmeSectionMarksTargets checks the generator's verdicts on a
// hand-made summary: one row met, one missed, on each side of a limit.
func TestReadmeSectionMarksTargets(t *testing.T) {
	rep := &SuiteReport{Tool: "authbench suite", Mode: "quick", Passes: 1, Engines: []SuiteEngine{
		{Engine: "sqlite", Summary: SuiteSummary{StartupMS: 12, LogCost: 0.08, MeCeilingRatio: 0.51, Login8Efficiency: 0.96, IdleRSSMiB: 29, HealthzP99MS: 5}},
		{Engine: "postgres", Summary: SuiteSummary{StartupMS: 60, LogCost: 0.01, MeCeilingRatio: 0.25, Login8Efficiency: 0.98, IdleRSSMiB: 31, HealthzP99MS: 25}},
	}}
	got := readmeSection(rep)
	for _, want := range []string{
		"| 12 ms, met | 60 ms, **not met** |",
		"| 8.0 % (rounds 0 … 0 %), **not met** | 1.0 % (rounds 0 … 0 %), met |",
		"| 0.51 (rounds 0.00 … 0.00), met | 0.25 (rounds 0.00 … 0.00), **not met** |",
		"| 0.960 (rounds 0.00 … 0.00; 0.0 ok/s, bound 0.0/s), **not met** | 0.980 (rounds 0.00 … 0.00; 0.0 ok/s, bound 0.0/s), met |",
		"| 29.0 MiB, met | 31.0 MiB, **not met** |",
		"| 5.0 ms, met | 25.0 ms, **not met** |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("section lacks %q:\n%s", want, got)
		}
	}
	// Figures no measurement can give are the machine's noise, not a
	// target met.
	rep.Engines[0].Summary.Login8Efficiency = 1.4
	rep.Engines[0].Summary.LogCost = -0.12
	got = readmeSection(rep)
	for _, want := range []string{
		"| 1.400 (rounds 0.00 … 0.00; 0.0 ok/s, bound 0.0/s), **not measurable here**",
		"| -12.0 % (rounds 0 … 0 %), **not measurable here**",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("section lacks %q:\n%s", want, got)
		}
	}
	if _, err := replaceSection("no markers", got); err == nil {
		t.Error("replaceSection accepted a README without markers")
	}
}

// TestRedactEnv: a report names the settings of its servers, never their
// secrets.
func TestRedactEnv(t *testing.T) {
	got := redactEnv([]string{"AUTH_MFA_ENCRYPTION_KEY=c2VjcmV0", "AUTH_SMTP_URL=smtp://u:p@h:25", "AUTH_JWT_SECRET=x", "AUTH_LOG_LEVEL=info"})
	want := []string{"AUTH_MFA_ENCRYPTION_KEY=[REDACTED]", "AUTH_SMTP_URL=[REDACTED]", "AUTH_JWT_SECRET=[REDACTED]", "AUTH_LOG_LEVEL=info"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("redactEnv = %q, want %q", got, want)
	}
}
