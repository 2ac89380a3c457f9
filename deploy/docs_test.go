package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestArchitectureTreeIsTrue: docs/architecture.md's tree names every
// package directory under cmd/ and internal/ and every top-level directory,
// and names nothing that does not exist, so it cannot drift from the code.
func TestArchitectureTreeIsTrue(t *testing.T) {
	doc := read(t, "docs/architecture.md")
	a := strings.Index(doc, "```\n")
	b := strings.Index(doc[a+4:], "```")
	if a < 0 || b < 0 {
		t.Fatal("docs/architecture.md has no tree")
	}
	tree := doc[a+4 : a+4+b]
	named := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)(?:^|\s)((?:\.ci|cmd|internal|deploy|docs|bench)(?:/[a-z0-9]+)*/)`).FindAllStringSubmatch(tree, -1) {
		named[strings.TrimSuffix(m[1], "/")] = true
	}
	var want []string
	for _, pattern := range []string{"cmd/*", "internal/*"} {
		dirs, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, d := range dirs {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				rel, _ := filepath.Rel(root, d)
				want = append(want, filepath.ToSlash(rel))
			}
		}
	}
	want = append(want, ".ci", "deploy", "docs", "bench")
	for _, d := range want {
		if !named[d] {
			t.Errorf("docs/architecture.md's tree does not name %s/", d)
		}
	}
	for d := range named {
		if _, err := os.Stat(filepath.Join(root, d)); err != nil {
			t.Errorf("docs/architecture.md's tree names %s/, which does not exist", d)
		}
	}
}
