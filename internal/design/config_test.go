package design

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/authserve/authserve/internal/config"
)

// variableName matches a configuration variable in a diagram.
var variableName = regexp.MustCompile(`\bAUTH_[A-Z0-9_]*[A-Z0-9]\b`)

// TestConfigurationDiagram fails when docs/design/configuration.puml names
// a variable the config package does not read, or misses one it reads:
// whoever adds a variable draws it to the component that uses it.
func TestConfigurationDiagram(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(designDir, "configuration.puml"))
	if err != nil {
		t.Fatal(err)
	}
	drawn := map[string]bool{}
	for _, name := range variableName.FindAllString(string(src), -1) {
		drawn[name] = true
	}
	read := config.Variables()
	if len(read) == 0 {
		t.Fatal("config.Variables() is empty")
	}
	for _, name := range read {
		if !drawn[name] {
			t.Errorf("configuration.puml does not show %s, which the config package reads", name)
		}
	}
	for name := range drawn {
		if !slices.Contains(read, name) {
			t.Errorf("configuration.puml shows %s, which the config package does not read", name)
		}
	}
}
