package config

import (
	"reflect"
	"testing"
)

func TestUnknownVariables(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin",
		"AUTH_BCRYPT_COST=10",             // known
		"AUTH_BCRYPT_CSOT=4",              // transposed
		"AUTH_DATABSE_URL=sqlite:x.db",    // a letter missing
		"AUTH_TEST_POSTGRES_URL=postgres", // the tests' own
		"AUTH_SOMETHING_ELSE=1",           // nothing close
		"AUTH_JWT_SECRET",                 // no '=': still a name
	}
	got := UnknownVariables(environ)
	want := []Unknown{
		{Var: "AUTH_BCRYPT_CSOT", Suggestion: "AUTH_BCRYPT_COST"},
		{Var: "AUTH_DATABSE_URL", Suggestion: "AUTH_DATABASE_URL"},
		{Var: "AUTH_SOMETHING_ELSE"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UnknownVariables() = %+v, want %+v", got, want)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"AUTH_ADDR", "AUTH_ADDR", 0}, {"ab", "ba", 2},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
