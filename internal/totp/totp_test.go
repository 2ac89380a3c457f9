package totp

import (
	"errors"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 key of RFC 6238 Appendix B ("12345678901234567890"), base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestCodeRFC6238Vectors(t *testing.T) {
	// The RFC's 8-digit values, of which a 6-digit code is the last six.
	tests := []struct {
		unix int64
		want string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
		{20000000000, "353130"},
	}
	for _, tt := range tests {
		got, err := Code(rfcSecret, time.Unix(tt.unix, 0))
		if err != nil || got != tt.want {
			t.Errorf("Code(rfc, %d) = %q, %v, want %q", tt.unix, got, err, tt.want)
		}
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1111111111, 0)
	cur := Step(now)
	code := func(d time.Duration) string {
		c, err := Code(rfcSecret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name     string
		code     string
		after    int64
		wantStep int64
		wantOK   bool
		wantErr  error
	}{
		{name: "current step", code: code(0), after: -1, wantStep: cur, wantOK: true},
		{name: "previous step (drift)", code: code(-Period), after: -1, wantStep: cur - 1, wantOK: true},
		{name: "next step (drift)", code: code(Period), after: -1, wantStep: cur + 1, wantOK: true},
		{name: "two steps ago", code: code(-2 * Period), after: -1},
		{name: "two steps ahead", code: code(2 * Period), after: -1},
		{name: "replay of the step last used", code: code(0), after: cur},
		{name: "earlier than the step last used", code: code(-Period), after: cur},
		{name: "later than the step last used", code: code(Period), after: cur, wantStep: cur + 1, wantOK: true},
		{name: "wrong", code: "000000", after: -1},
		{name: "letters", code: "12a456", wantErr: ErrMalformed},
		{name: "seven digits", code: code(0) + "1", wantErr: ErrMalformed},
		{name: "five digits", code: code(0)[:5], wantErr: ErrMalformed},
		{name: "empty", code: "", wantErr: ErrMalformed},
		{name: "full-width digits", code: "１２３４５６", wantErr: ErrMalformed},
		{name: "spaces", code: " 12345", wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok, err := Verify(rfcSecret, tt.code, now, tt.after)
			if !errors.Is(err, tt.wantErr) || ok != tt.wantOK || (ok && step != tt.wantStep) {
				t.Errorf("Verify(%q, after %d) = %d, %t, %v; want %d, %t, %v", tt.code, tt.after, step, ok, err, tt.wantStep, tt.wantOK, tt.wantErr)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	k, err := Generate("authserve", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Secret) != 32 { // 20 bytes in unpadded base32
		t.Errorf("secret %d characters, want 32", len(k.Secret))
	}
	u, err := url.Parse(k.URI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/authserve:alice@example.com" ||
		q.Get("secret") != k.Secret || q.Get("issuer") != "authserve" || q.Get("algorithm") != "SHA1" ||
		q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Errorf("URI = %s, want otpauth://totp/authserve:alice@example.com with SHA1, 6 digits, 30 s", k.URI)
	}
	k2, _ := Generate("authserve", "alice@example.com")
	if k2.Secret == k.Secret {
		t.Errorf("two secrets alike")
	}
}

// TestCodeMatchesOathtool checks our codes against an independent
// implementation, oathtool from oath-toolkit, when it is installed.
func TestCodeMatchesOathtool(t *testing.T) {
	if _, err := exec.LookPath("oathtool"); err != nil {
		t.Skip("SKIPPED: oathtool not installed")
	}
	k, err := Generate("authserve", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 0).UTC()
	out, err := exec.Command("oathtool", "--totp", "-b", "--now", at.Format("2006-01-02 15:04:05 UTC"), k.Secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	want := strings.TrimSpace(string(out))
	if got, _ := Code(k.Secret, at); got != want {
		t.Errorf("Code = %q, oathtool says %q", got, want)
	}
}
