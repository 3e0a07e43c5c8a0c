package router

import "strings"

// Matches reports whether topic matches pattern, one pair at a time (the
// Sublist answers the same question for many patterns at once). Both are
// assumed valid (ValidateTopic, ValidatePattern); for invalid input the
// answer is unspecified, but Matches never panics. It allocates nothing.
func Matches(pattern, topic string) bool {
	for {
		pt, prest, pmore := strings.Cut(pattern, ".")
		tt, trest, tmore := strings.Cut(topic, ".")
		if pt == ">" {
			return true // the last pattern token, and the topic has one or more left
		}
		if pt != "*" && pt != tt {
			return false
		}
		if !pmore || !tmore {
			return pmore == tmore
		}
		pattern, topic = prest, trest
	}
}
