package selector

// A like pattern is a glob over bytes: '*' matches any run of bytes (the
// empty one too, and dots: it knows nothing of topic tokens), '?' matches
// exactly one byte, '\' makes the next byte literal ("\*", "\?", "\\").
// Everything else matches itself, case-sensitively.

// globKind is the kind of one compiled glob element.
type globKind uint8

const (
	gLit  globKind = iota // one literal byte
	gOne                  // ?
	gStar                 // *
)

type globElem struct {
	kind globKind
	c    byte
}

// compileGlob turns a like pattern (the decoded string literal) into
// elements; off is the literal's offset, for the error.
func compileGlob(p []byte, off int) ([]globElem, error) {
	g := make([]globElem, 0, len(p))
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*':
			if len(g) > 0 && g[len(g)-1].kind == gStar {
				continue // "**" is "*"
			}
			g = append(g, globElem{kind: gStar})
		case '?':
			g = append(g, globElem{kind: gOne})
		case '\\':
			if i+1 == len(p) {
				return nil, errorAt(off, `like pattern ends in a lone "\" (write "\\\\" in the string for a literal backslash)`)
			}
			i++
			g = append(g, globElem{kind: gLit, c: p[i]})
		default:
			g = append(g, globElem{kind: gLit, c: p[i]})
		}
	}
	return g, nil
}

// globMatch reports whether s matches g. It backtracks only to the last
// star, so it runs in O(len(g) * len(s)) at worst and allocates nothing.
func globMatch(g []globElem, s []byte) bool {
	gi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if gi < len(g) {
			switch e := g[gi]; e.kind {
			case gStar:
				star, mark = gi, si
				gi++
				continue
			case gOne:
				gi++
				si++
				continue
			default:
				if e.c == s[si] {
					gi++
					si++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		mark++
		gi, si = star+1, mark
	}
	for gi < len(g) && g[gi].kind == gStar {
		gi++
	}
	return gi == len(g)
}
