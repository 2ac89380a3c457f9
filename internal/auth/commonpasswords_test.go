package auth

import (
	"strings"
	"testing"
)

// TestCommonPasswordsFile keeps the embedded list searchable: lower case,
// sorted bytewise, no duplicates, no empty line, every line ended.
func TestCommonPasswordsFile(t *testing.T) {
	if !strings.HasSuffix(commonPasswords, "\n") {
		t.Fatal("commonpasswords.txt does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	if len(lines) < 10000 {
		t.Fatalf("%d entries; the list has 30,000", len(lines))
	}
	for i, l := range lines {
		if l == "" || l != strings.ToLower(l) || strings.ContainsAny(l, "\r") {
			t.Errorf("line %d: %q", i+1, l)
		}
		if i > 0 && lines[i-1] >= l {
			t.Fatalf("line %d: %q after %q: not sorted or a duplicate", i+1, l, lines[i-1])
		}
	}
	if CommonPasswordCount() != len(lines) {
		t.Errorf("CommonPasswordCount() = %d, want %d", CommonPasswordCount(), len(lines))
	}
}

// TestSortedLinesContain finds every line of a list, and nothing else:
// neighbours, prefixes, extensions, the empty string, a newline.
func TestSortedLinesContain(t *testing.T) {
	for _, list := range []string{"", "m\n", "b\nd\n", "a\naa\nab\nb\nba\nc\nzz\n"} {
		lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
		for _, l := range lines {
			if l != "" && !sortedLinesContain(list, l) {
				t.Errorf("list %q: %q not found", list, l)
			}
		}
		for _, absent := range []string{"", "0", "a0", "aaa", "b0", "bb", "c0", "zzz", "\n", "a\naa"} {
			if strings.Contains("\n"+list, "\n"+absent+"\n") {
				continue
			}
			if sortedLinesContain(list, absent) {
				t.Errorf("list %q: %q found", list, absent)
			}
		}
	}
	// The real list: every entry, and near misses.
	for _, l := range strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n") {
		if !isCommon(l) || !isCommon(strings.ToUpper(l)) {
			t.Fatalf("%q not found", l)
		}
		if isCommon(l + "\x01") {
			t.Fatalf("%q + \\x01 found", l)
		}
	}
}
