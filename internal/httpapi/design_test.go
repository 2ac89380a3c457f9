package httpapi

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// errorDiagram is the error-handling flow diagram with the code table.
const errorDiagram = "../../docs/design/error-handling.puml"

// codeRow matches a row of the diagram's code table: | status | code | … |
var codeRow = regexp.MustCompile(`(?m)^\s*\|\s*(\d{3})\s*\|\s*([a-z][a-z0-9_]*)\s*\|`)

// TestErrorDiagram fails when the error-handling diagram's code table
// names a code the catalogue does not have (or gives it another status),
// or misses a code of the catalogue: a new code is drawn in the change
// that adds it.
func TestErrorDiagram(t *testing.T) {
	src, err := os.ReadFile(errorDiagram)
	if err != nil {
		t.Fatal(err)
	}
	rows := codeRow.FindAllStringSubmatch(string(src), -1)
	if len(rows) == 0 {
		t.Fatalf("%s has no code table", errorDiagram)
	}
	drawn := map[string]bool{}
	for _, r := range rows {
		status, code := r[1], r[2]
		if drawn[code] {
			t.Errorf("%s lists %s twice", errorDiagram, code)
		}
		drawn[code] = true
		k, ok := kinds[code]
		if !ok {
			t.Errorf("%s lists %s, which is not in the catalogue (problem.go)", errorDiagram, code)
			continue
		}
		if strconv.Itoa(k.status) != status {
			t.Errorf("%s gives %s status %s, the catalogue %d", errorDiagram, code, status, k.status)
		}
	}
	for _, k := range catalogue {
		if !drawn[k.code] {
			t.Errorf("%s does not list %s (%d) of the catalogue", errorDiagram, k.code, k.status)
		}
	}
}

// pendingCodes are codes of the contract that the sequence diagrams may
// show before the code has them (none now: sections 8 and 9 have landed).
// Once the catalogue has one, TestDiagramStatuses asks for it to be
// removed from this list.
var pendingCodes = map[string]int{}

// statusCode matches an error response in a diagram: "401 invalid_token".
var statusCode = regexp.MustCompile(`\b([45]\d\d) ([a-z][a-z0-9_]*)\b`)

// flowCode matches a code the error-handling flow maps to: "→ not_found".
var flowCode = regexp.MustCompile(`→ ([a-z][a-z0-9_]*)\b`)

// TestDiagramStatuses checks every "status code" pair of every diagram
// against the catalogue, and every code the error-handling flow maps to.
func TestDiagramStatuses(t *testing.T) {
	files, err := filepath.Glob("../../docs/design/*.puml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no diagrams: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range statusCode.FindAllStringSubmatch(string(src), -1) {
			status, code := m[1], m[2]
			want := 0
			if k, ok := kinds[code]; ok {
				want = k.status
			} else if s, ok := pendingCodes[code]; ok {
				want = s
			} else if !strings.Contains(code, "_") {
				continue // a word after a status ("422 as for"), not a code
			} else {
				t.Errorf("%s: %s %s: no such code in the catalogue", filepath.Base(f), status, code)
				continue
			}
			if status != strconv.Itoa(want) && (code != codePayloadTooLarge || status != "431") {
				t.Errorf("%s: %s %s, but %s is %d", filepath.Base(f), status, code, code, want)
			}
		}
	}
	src, err := os.ReadFile(errorDiagram)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range flowCode.FindAllStringSubmatch(string(src), -1) {
		if _, ok := kinds[m[1]]; !ok {
			t.Errorf("%s maps to %s, which is not in the catalogue", errorDiagram, m[1])
		}
	}
	for code := range pendingCodes {
		if _, ok := kinds[code]; ok {
			t.Errorf("%s is in the catalogue now: remove it from pendingCodes (and draw it in %s)", code, errorDiagram)
		}
	}
}
