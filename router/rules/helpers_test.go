package rules

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shmbus/shmbus/internal/wire"
)

// block encodes key/value pairs, in order and with repeats.
func block(kv ...string) []byte {
	if len(kv) == 0 {
		return nil
	}
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(kv)/2))
	for i := 0; i+1 < len(kv); i += 2 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(kv[i])))
		b = append(b, kv[i]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[i+1])))
		b = append(b, kv[i+1]...)
	}
	return b
}

// pairs renders a header block as "k=v k=v", or "!" plus the error.
func pairs(b []byte) string {
	var out []string
	if err := wire.RangeHeaders(b, func(k, v []byte) bool {
		out = append(out, string(k)+"="+string(v))
		return true
	}); err != nil {
		return "!" + err.Error()
	}
	return strings.Join(out, " ")
}

// mustParse parses src or fails the test.
func mustParse(t testing.TB, src string) *Engine {
	t.Helper()
	e, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return e
}

// writeFile writes src to a file in a fresh temporary directory.
func writeFile(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
