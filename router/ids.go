package router

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Connection ids stay unique across router restarts.
//
// A message's ID is its publisher's connection id and sequence, and a
// subscriber drops a message whose sequence is not above the last one it
// had from that id (bus/dedupe.go: a restarted router may route again
// records its predecessor had delivered). A subscriber outlives routers (it
// reconnects), so an id given to a new client must not be one an earlier
// router of the directory gave out: the new client's sequence starts at 1
// and its messages would be taken for repeats. Reconnecting clients keep
// their id and push the next one above it, but a new client may connect
// before they do, and clients that left for good do not come back at all.
//
// So the router records in IDsName how far ids may have been handed out,
// a block of idBlock at a time (one small write per block, under Router.mu
// in the handshake path), and its successor starts above that. Ids wrap
// after 2^24-1; a directory whose routers hand out that many ids reuses
// them, as before.
const (
	// IDsName is the file in the bus directory with the reservation.
	IDsName = "shmbusd.ids"
	idBlock = 1024
	maxID   = 1<<24 - 1
)

// idReservation is the open IDsName file and how many more ids the
// reservation written last covers. Guarded by Router.mu.
type idReservation struct {
	f    *os.File
	room int
}

// openIDs opens (creating) the reservation file and returns the nextID the
// router starts from: the last id an earlier router may have handed out.
// A file that cannot be opened or read costs only the guarantee: ids then
// start over at 1, as they did before it existed.
func (r *Router) openIDs() {
	path := filepath.Join(r.cfg.Dir, IDsName)
	perm := os.FileMode(0o600)
	if r.cfg.GroupAccess > 0 {
		perm = 0o640
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		r.cfg.Logger.Warn("connection id reservation: ids may repeat those of earlier routers", "path", path, "err", err)
		return
	}
	r.ids.f = f
	var buf [32]byte
	n, _ := f.ReadAt(buf[:], 0)
	if s := strings.TrimSpace(string(buf[:n])); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v > maxID {
			r.cfg.Logger.Warn("connection id reservation unreadable: ids start over", "path", path, "content", s)
			return
		}
		r.nextID = v
	}
}

// reserveID is called for each candidate id takeID steps to, with mu held:
// it extends the reservation on disk when the current one is used up.
func (r *Router) reserveID(id uint64) {
	if r.ids.f == nil {
		return
	}
	if r.ids.room > 0 {
		r.ids.room--
		return
	}
	// A successor starts after id+idBlock-1: every id this block covers.
	upto := (id+idBlock-2)%maxID + 1
	if _, err := r.ids.f.WriteAt(fmt.Appendf(nil, "%020d\n", upto), 0); err != nil {
		r.cfg.Logger.Warn("connection id reservation: write failed", "err", err)
		return
	}
	r.ids.room = idBlock - 1
}

func (r *Router) closeIDs() {
	if r.ids.f != nil {
		r.ids.f.Close()
	}
}
