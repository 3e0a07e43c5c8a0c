package selector

import "testing"

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything.at.all", true},
		{"eu-*", "eu-west", true},
		{"eu-*", "us-west", false},
		{"*-west", "eu-west", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"a**c", "abc", true},
		{"?", "a", true},
		{"?", "", false},
		{"??", "a", false},
		{"a?c", "abc", true},
		{`a\*c`, "a*c", true},
		{`a\*c`, "abc", false},
		{`\?`, "?", true},
		{`\\`, `\`, true},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"orders.*.created", "orders.eu.created", true},
		{"orders.*.created", "orders.eu.x.created", true},
	} {
		g, err := compileGlob([]byte(tc.pat), 0)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tc.pat, err)
		}
		if got := globMatch(g, []byte(tc.s)); got != tc.want {
			t.Errorf("%q like %q = %v, want %v", tc.s, tc.pat, got, tc.want)
		}
	}
}
