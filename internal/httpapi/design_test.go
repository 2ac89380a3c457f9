package httpapi

import (
	"os"
	"regexp"
	"strconv"
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
