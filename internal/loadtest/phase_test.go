package loadtest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePhases(t *testing.T) {
	tests := []struct {
		in      string
		want    []Phase
		wantErr string
	}{
		{
			in: "login:1,8,32,64;register:8;me:32;refresh:8",
			want: []Phase{
				{KindLogin, 1}, {KindLogin, 8}, {KindLogin, 32}, {KindLogin, 64},
				{KindRegister, 8}, {KindMe, 32}, {KindRefresh, 8},
			},
		},
		{in: " me : 4 , 2 ; ", want: []Phase{{KindMe, 4}, {KindMe, 2}}},
		{in: "healthz:16;login:8;login:8", want: []Phase{{KindHealthz, 16}, {KindLogin, 8}, {KindLogin, 8}}},
		{in: "login:4096", want: []Phase{{KindLogin, 4096}}},
		{in: "", wantErr: "no phases"},
		{in: ";;", wantErr: "no phases"},
		{in: "login", wantErr: "want kind:concurrency"},
		{in: "logout:8", wantErr: `unknown kind "logout"`},
		{in: "login:0", wantErr: "from 1 to 4096"},
		{in: "login:-3", wantErr: "from 1 to 4096"},
		{in: "login:4097", wantErr: "from 1 to 4096"},
		{in: "login:8,", wantErr: "from 1 to 4096"},
		{in: "login:x", wantErr: "from 1 to 4096"},
		{in: "LOGIN:8", wantErr: "unknown kind"},
	}
	for _, tt := range tests {
		got, err := ParsePhases(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePhases(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePhases(%q) error = %v, want none", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParsePhases(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestKindPasswordPath(t *testing.T) {
	want := map[Kind]bool{KindLogin: true, KindRegister: true, KindMe: false, KindRefresh: false, KindHealthz: false}
	for _, k := range Kinds {
		if got := k.PasswordPath(); got != want[k] {
			t.Errorf("%s.PasswordPath() = %v, want %v", k, got, want[k])
		}
	}
}
