package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/joho/godotenv"
)

// commentedVar matches the "# AUTH_X=default" lines of .env.example.
var commentedVar = regexp.MustCompile(`(?m)^# (AUTH_[A-Z0-9_]+=.*)$`)

// exampleVars returns .env.example with its variable lines uncommented,
// parsed, and the variables in file order.
func exampleVars(t *testing.T) (string, map[string]string, []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", ".env.example"))
	if err != nil {
		t.Fatalf("read .env.example: %v", err)
	}
	var text strings.Builder
	var order []string
	for _, m := range commentedVar.FindAllStringSubmatch(string(b), -1) {
		text.WriteString(m[1] + "\n")
		key, _, _ := strings.Cut(m[1], "=")
		order = append(order, key)
	}
	vars, err := godotenv.Unmarshal(text.String())
	if err != nil {
		t.Fatalf("parse uncommented .env.example: %v", err)
	}
	return text.String(), vars, order
}

// TestEnvExampleListsEveryVariable keeps .env.example and Config in step:
// every variable in both, in the same order, with the same default.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	_, vars, order := exampleVars(t)
	if diff := cmp.Diff(Variables(), order); diff != "" {
		t.Errorf(".env.example variables differ from Config's (-config +example):\n%s", diff)
	}
	for _, v := range variables {
		got, ok := vars[v.key]
		if !ok {
			continue // reported above
		}
		if got != v.def {
			t.Errorf(".env.example gives %s=%q, want the default %q", v.key, got, v.def)
		}
	}
	for k := range vars {
		if !slices.Contains(Variables(), k) {
			t.Errorf(".env.example lists %s, which Config does not read", k)
		}
	}
}

// TestEnvExampleLoadsAsDefaults checks that .env.example, uncommented and
// used as .env, is a valid configuration equal to the defaults.
func TestEnvExampleLoadsAsDefaults(t *testing.T) {
	text, _, _ := exampleVars(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(envOf(nil), dir)
	if err != nil {
		t.Fatalf("Load(uncommented .env.example) error = %v", err)
	}
	if diff := cmp.Diff(defaults(), got, cmpPrefix); diff != "" {
		t.Errorf("Load(uncommented .env.example) mismatch (-want +got):\n%s", diff)
	}
}
