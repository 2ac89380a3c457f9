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
// entries, lower case) shipped by github.com/trustelem/zxcvbn (MIT), sorted
// for binary search: half the memory of a map, and a lookup is only made
// at registration. It is sorted on first use, not at package init, where
// it cost start-up tens of milliseconds; PreparePasswordPolicy sorts it
// ahead of the first registration.
var commonPasswords = sync.OnceValue(func() []string {
	list := slices.Clone(frequency.FrequencyLists["passwords"])
	slices.Sort(list)
	return slices.Compact(list)
})

// PreparePasswordPolicy readies the common-password list, so that the
// first registration does not pay for it. The server calls it once its
// listener answers; calling it again costs nothing.
func PreparePasswordPolicy() { commonPasswords() }

// isCommon reports whether p, compared case-insensitively, is on the list.
func isCommon(p string) bool {
	_, found := slices.BinarySearch(commonPasswords(), strings.ToLower(p))
	return found
}

// CommonPasswordCount reports the size of the embedded common-password list.
func CommonPasswordCount() int { return len(commonPasswords()) }

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
