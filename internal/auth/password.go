package auth

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
	"golang.org/x/text/unicode/norm"
)

// MaxPasswordBytes is bcrypt's input limit. Longer passwords are refused,
// never truncated: bcrypt would silently ignore the excess.
const MaxPasswordBytes = 72

// passphraseLength is the length from which composition rules no longer
// apply (NIST SP 800-63B favours length over composition).
const passphraseLength = 16

// PasswordPolicy is the rule set for new passwords.
type PasswordPolicy struct {
	MinLength  int // characters, after NFKC normalisation
	MinClasses int // of lower, upper, digit, symbol; 0 disables
}

// commonPasswords is the zxcvbn password frequency list (about 30,000
// entries, lower case) shipped by github.com/trustelem/zxcvbn (MIT), as the
// positions of its distinct entries in sorted order, for binary search:
// 4 bytes an entry beside the package's own list instead of a sorted copy
// (16 bytes an entry, 0.8 MB resident for the life of the process), and a
// lookup is only made at registration. It is sorted on first use, not at
// package init, where it cost start-up tens of milliseconds;
// PreparePasswordPolicy sorts it ahead of the first registration.
var commonPasswords = sync.OnceValue(func() sortedList {
	list := frequency.FrequencyLists["passwords"]
	idx := make([]int32, len(list))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return strings.Compare(list[a], list[b]) })
	idx = slices.CompactFunc(idx, func(a, b int32) bool { return list[a] == list[b] })
	return sortedList{list: list, idx: slices.Clip(idx)}
})

// sortedList is a list of strings seen through a sorted index.
type sortedList struct {
	list []string
	idx  []int32
}

func (l sortedList) contains(s string) bool {
	_, found := slices.BinarySearchFunc(l.idx, s, func(i int32, s string) int { return strings.Compare(l.list[i], s) })
	return found
}

// PreparePasswordPolicy readies the common-password list, so that the
// first registration does not pay for it. The server calls it once its
// listener answers; calling it again costs nothing.
func PreparePasswordPolicy() { commonPasswords() }

// isCommon reports whether p, compared case-insensitively, is on the list.
func isCommon(p string) bool {
	return commonPasswords().contains(strings.ToLower(p))
}

// CommonPasswordCount reports the size of the embedded common-password list.
func CommonPasswordCount() int { return len(commonPasswords().idx) }

// NormalizePassword applies Unicode NFKC so that visually identical
// passwords typed on different keyboards hash alike. It never trims.
func NormalizePassword(p string) string { return norm.NFKC.String(p) }

// Check returns every rule the already normalised password p breaks.
func (pp PasswordPolicy) Check(p string) []string {
	var broken []string
	n := utf8.RuneCountInString(p)
	if !utf8.ValidString(p) {
		return []string{"must be valid UTF-8"}
	}
	if n < pp.MinLength {
		broken = append(broken, fmt.Sprintf("must be at least %d characters", pp.MinLength))
	}
	if len(p) > MaxPasswordBytes {
		broken = append(broken, "must be at most 72 bytes (UTF-8)")
	}
	if p != "" && strings.TrimSpace(p) == "" {
		broken = append(broken, "must not be whitespace only")
	}
	if isCommon(p) {
		broken = append(broken, "is too common")
	}
	if n < passphraseLength && pp.MinClasses > 0 {
		if c := classes(p); c < pp.MinClasses {
			broken = append(broken, fmt.Sprintf("must contain at least %d of: lower case, upper case, digit, symbol (or be 16 characters or longer)", pp.MinClasses))
		}
	}
	return broken
}

func classes(p string) int {
	var lower, upper, digit, symbol bool
	for _, r := range p {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case !unicode.IsSpace(r) && !unicode.IsControl(r):
			symbol = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, symbol} {
		if b {
			n++
		}
	}
	return n
}
