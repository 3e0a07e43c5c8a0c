package selector

// number is a decimal number as its digits, so that comparisons are exact
// at any length and parsing allocates nothing: the slices point into the
// text parsed (a header value or a literal). Leading zeros of the integer
// part and trailing zeros of the fraction are trimmed; zero is never
// negative, so -0 == 0 and 007 == 7.0.
type number struct {
	neg  bool
	ip   []byte // integer digits, no leading zeros ("" for 0)
	frac []byte // fraction digits, no trailing zeros
}

// parseNumber parses b as -?[0-9]+(\.[0-9]+)? (no spaces, no '+', no
// exponent), without allocating.
func parseNumber(b []byte) (number, bool) {
	var n number
	i := 0
	if len(b) > 0 && b[0] == '-' {
		n.neg = true
		i = 1
	}
	start := i
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	if i == start {
		return number{}, false
	}
	n.ip = b[start:i]
	if i < len(b) {
		if b[i] != '.' {
			return number{}, false
		}
		i++
		fs := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == fs || i != len(b) {
			return number{}, false
		}
		n.frac = b[fs:i]
	}
	for len(n.ip) > 0 && n.ip[0] == '0' {
		n.ip = n.ip[1:]
	}
	for len(n.frac) > 0 && n.frac[len(n.frac)-1] == '0' {
		n.frac = n.frac[:len(n.frac)-1]
	}
	if len(n.ip) == 0 && len(n.frac) == 0 {
		n.neg = false
	}
	return n, true
}

// compareNumbers returns -1, 0 or +1 as a is less than, equal to or
// greater than b.
func compareNumbers(a, b number) int {
	if a.neg != b.neg {
		if a.neg {
			return -1
		}
		return 1
	}
	c := compareMagnitudes(a, b)
	if a.neg {
		return -c
	}
	return c
}

func compareMagnitudes(a, b number) int {
	if len(a.ip) != len(b.ip) {
		if len(a.ip) < len(b.ip) {
			return -1
		}
		return 1
	}
	if c := compareBytes(a.ip, b.ip); c != 0 {
		return c
	}
	// Same integer part: the fractions compare digit by digit, a missing
	// digit counting as 0 (and neither ends in 0, so a shorter prefix is
	// smaller).
	return compareBytes(a.frac, b.frac)
}

// compareBytes is bytes.Compare, kept here so that the hot path is one
// obvious loop.
func compareBytes(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// priorityText holds the decimal text of every uint8, so that $priority
// becomes a number without allocating.
var priorityText = func() (t [256][]byte) {
	for i := range t {
		switch {
		case i >= 100:
			t[i] = []byte{byte('0' + i/100), byte('0' + i/10%10), byte('0' + i%10)}
		case i >= 10:
			t[i] = []byte{byte('0' + i/10), byte('0' + i%10)}
		default:
			t[i] = []byte{byte('0' + i)}
		}
	}
	return t
}()
