package ipc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// MaxNameLen bounds segment names, leaving room under the 255-byte file name
// limit for the temporary name Create uses while building the file.
const MaxNameLen = 200

// validateName checks a segment name: one path component, not empty, not
// "." or "..", no '/', no NUL, at most MaxNameLen bytes. Names starting with
// '.' are reserved for Create's temporary files.
func validateName(name string) error {
	why := ""
	switch {
	case name == "":
		why = "empty"
	case name == "." || name == "..":
		why = "must not be . or .."
	case strings.HasPrefix(name, "."):
		why = "must not start with '.' (reserved for temporary files)"
	case strings.ContainsRune(name, '/'):
		why = "must not contain '/'"
	case strings.ContainsRune(name, 0):
		why = "must not contain NUL"
	case len(name) > MaxNameLen:
		why = fmt.Sprintf("%d bytes, at most %d", len(name), MaxNameLen)
	default:
		return nil
	}
	return fmt.Errorf("shmbus: segment name %q: %s: %w", name, why, ErrInvalidName)
}

// Remove unlinks the segment file name in dir ("" means DefaultDir).
// Processes that have it mapped keep their mapping; the memory is freed when
// the last one unmaps. A missing file is ErrNotFound.
func Remove(dir, name string) error {
	if err := validateName(name); err != nil {
		return err
	}
	if dir == "" {
		dir = DefaultDir
	}
	return removePath(filepath.Join(dir, name))
}

func removePath(path string) error {
	err := os.Remove(path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("shmbus: segment %q: %w: %w", path, ErrNotFound, err)
	default:
		return fmt.Errorf("shmbus: segment %q: remove: %w", path, err)
	}
}

// List returns the sorted names of the regular files in dir ("" means
// DefaultDir) that are valid segment names; it does not open them. A
// missing directory holds no segments: List returns nil, nil.
func List(dir string) ([]string, error) {
	if dir == "" {
		dir = DefaultDir
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("shmbus: list %q: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && validateName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}
