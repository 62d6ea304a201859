package sqlite

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// ChangeStamp identifies the committed state of a database: it changes with
// every write transaction committed to it, by any connection of any
// process, before that transaction becomes visible to a new read. Two equal
// stamps read at two moments mean nothing was committed in between (short
// of 2³² commits, as the counter it reads wraps). Stamps of different
// databases are not comparable. See (*DB).ChangeStamp.
type ChangeStamp struct {
	// commits counts this DB's write transactions (":memory:" only).
	commits uint64
	// The fields of the WAL-index header that a commit changes (a file
	// database; see walIndexHeader).
	change, frames, pages, salt0, salt1, cksum0, cksum1 uint32
}

// ChangeStamp returns the database's current change stamp, at the cost of a
// few atomic loads and no system call, and ok=false when there is none to
// trust — the database is closed, the WAL index could not be mapped, or its
// header is being written or is not initialised — in which case the caller
// must read the database rather than rely on an earlier read.
//
// For a database file (WAL mode), the stamp is read from the WAL-index
// header in the -shm file, which SQLite keeps in memory shared by every
// connection of every process that has the database open and updates on
// each commit before the commit is visible (https://sqlite.org/walformat.html,
// "The WAL-Index Header"); DB maps its first page read-only. For
// ":memory:" (one process, this DB alone) it is a counter of the write
// transactions run through this DB, advanced when each ends.
func (db *DB) ChangeStamp() (stamp ChangeStamp, ok bool) {
	if db.memory {
		return ChangeStamp{commits: db.commits.Load()}, !db.closed.Load()
	}
	h := db.shm.Load()
	if h == nil {
		return ChangeStamp{}, false
	}
	return h.stamp()
}

// The WAL-index header: two copies of a 48-byte WalIndexHdr at offset 0 of
// the -shm file, native byte order. A writer writes the second copy, then
// (after a memory barrier) the first; a reader reads the first, then the
// second, and trusts them only when they are equal.
const (
	walIndexHeaderWords = 12      // 48 bytes per copy
	walIndexHeaderSize  = 136     // both copies and the checkpoint info
	walIndexVersion     = 3007000 // iVersion
	wordVersion         = 0       // iVersion u32
	wordChange          = 2       // iChange u32: incremented by each commit
	wordInit            = 3       // isInit u8, bigEndCksum u8, szPage u16
	wordFrames          = 4       // mxFrame u32
	wordPages           = 5       // nPage u32
	wordSalt            = 8       // aSalt[2] u32
	wordCksum           = 10      // aCksum[2] u32
)

// walIndexHeader is the mapped start of a -shm file.
type walIndexHeader struct {
	words *[2 * walIndexHeaderWords]uint32
}

// stamp reads both copies of the header with atomic loads and returns the
// first as a stamp; ok is false when they differ (a commit is writing it),
// or the header is uninitialised or of an unknown version.
func (h *walIndexHeader) stamp() (ChangeStamp, bool) {
	var a, b [walIndexHeaderWords]uint32
	for i := range a {
		a[i] = atomic.LoadUint32(&h.words[i])
	}
	for i := range b {
		b[i] = atomic.LoadUint32(&h.words[walIndexHeaderWords+i])
	}
	if a != b || a[wordVersion] != walIndexVersion || !initialised(a[wordInit]) {
		return ChangeStamp{}, false
	}
	return ChangeStamp{
		change: a[wordChange], frames: a[wordFrames], pages: a[wordPages],
		salt0: a[wordSalt], salt1: a[wordSalt+1], cksum0: a[wordCksum], cksum1: a[wordCksum+1],
	}, true
}

// followedBy reports whether t is the stamp of the one commit after s: the
// header's commit counter (iChange, which only a commit increments) one
// more, the same WAL (its salts, which a restart of the WAL changes) with
// more frames. A ":memory:" stamp never is (OnLabelCommit is for files).
func (s ChangeStamp) followedBy(t ChangeStamp) bool {
	return s.commits == 0 && t.commits == 0 && t.change == s.change+1 &&
		t.salt0 == s.salt0 && t.salt1 == s.salt1 && t.frames > s.frames
}

// initialised reports whether isInit, the first byte of word w, is set.
func initialised(w uint32) bool {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], w)
	return b[0] != 0
}

// headerAt returns the header mapped at mem, which holds at least
// walIndexHeaderSize bytes and is page-aligned.
func headerAt(mem []byte) *walIndexHeader {
	return &walIndexHeader{words: (*[2 * walIndexHeaderWords]uint32)(unsafe.Pointer(&mem[0]))}
}
