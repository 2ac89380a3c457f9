package httpapi

import (
	"os"
	"testing"
)

func TestScratchSpec(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/openapi.json", nil)
	os.WriteFile("/tmp/spec.json", r.body, 0o644)
	r = e.do("GET", "/openapi.yaml", nil)
	os.WriteFile("/tmp/spec.yaml", r.body, 0o644)
}
