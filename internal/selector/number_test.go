package selector

import "testing"

func TestParseNumber(t *testing.T) {
	for _, s := range []string{"", "-", "+1", "1.", ".5", "1e3", " 1", "1 ", "1.2.3", "--1", "0x10", "1,5", "١"} {
		if _, ok := parseNumber([]byte(s)); ok {
			t.Errorf("parseNumber(%q) accepted", s)
		}
	}
	for _, s := range []string{"0", "-0", "007", "1.5", "-1.50", "0.000", "99999999999999999999999"} {
		if _, ok := parseNumber([]byte(s)); !ok {
			t.Errorf("parseNumber(%q) refused", s)
		}
	}
}

func TestCompareNumbers(t *testing.T) {
	ordered := []string{"-100", "-10.5", "-10.05", "-10", "-1", "-0.5", "0", "0.001", "0.01", "0.1", "1", "1.0001", "2", "10", "10.5", "100"}
	for i, a := range ordered {
		na, _ := parseNumber([]byte(a))
		for j, b := range ordered {
			nb, _ := parseNumber([]byte(b))
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := compareNumbers(na, nb); got != want {
				t.Errorf("compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	for _, p := range [][2]string{{"0", "-0"}, {"7", "007"}, {"7", "7.000"}, {"-0.0", "0"}, {"-1.10", "-01.1"}} {
		a, _ := parseNumber([]byte(p[0]))
		b, _ := parseNumber([]byte(p[1]))
		if compareNumbers(a, b) != 0 {
			t.Errorf("%s != %s", p[0], p[1])
		}
	}
}

func TestPriorityText(t *testing.T) {
	for _, c := range []struct {
		p    uint8
		want string
	}{{0, "0"}, {9, "9"}, {10, "10"}, {99, "99"}, {100, "100"}, {255, "255"}} {
		if got := string(priorityText[c.p]); got != c.want {
			t.Errorf("priorityText[%d] = %q", c.p, got)
		}
	}
}
