//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// The -shm file of a database is mapped once per process and kept mapped
// while any DB of this process has the database open, for a reason of
// POSIX locking: SQLite locks the -shm file with fcntl locks, which belong
// to the process, and closing any descriptor of the file drops all of the
// process's locks on it, those of SQLite's own connections included. So the
// descriptor of the mapping is only closed when the last DB of this process
// on that file has closed its connections (refcounted in shmMaps by
// device and inode).

// shmMapping is one process-wide read-only mapping of a -shm file.
type shmMapping struct {
	key  shmKey
	file *os.File
	mem  []byte
	hdr  *walIndexHeader
	err  error // why it could not be mapped; hdr is nil then
	refs int   // guarded by shmMaps.mu
}

type shmKey struct{ dev, ino uint64 }

var shmMaps = struct {
	mu sync.Mutex
	m  map[shmKey]*shmMapping
}{m: map[shmKey]*shmMapping{}}

// mapShm maps the first page of path's -shm file read-only, sharing the
// mapping of another DB of this process on the same file. The database must
// be in WAL mode and held open by a connection of this process, so that the
// file exists and SQLite neither truncates nor deletes it. The mapping it
// returns has err set (and no header) when the file cannot be opened, is
// too small or cannot be mapped; it must be released with unmapShm all the
// same.
func mapShm(path string) *shmMapping {
	fi, err := os.Stat(path + "-shm")
	if err != nil {
		return &shmMapping{err: err}
	}
	key, err := keyOf(fi)
	if err != nil {
		return &shmMapping{err: err}
	}
	shmMaps.mu.Lock()
	defer shmMaps.mu.Unlock()
	if m := shmMaps.m[key]; m != nil {
		m.refs++
		return m
	}
	if fi.Size() < walIndexHeaderSize {
		return &shmMapping{err: fmt.Errorf("%s-shm holds %d bytes", path, fi.Size())}
	}
	f, err := os.Open(path + "-shm")
	if err != nil {
		return &shmMapping{err: err}
	}
	// From here on f stays open until unmapShm (see above), even when the
	// mapping fails: a failed mapping is not shared, but holds f all the same.
	m := &shmMapping{file: f, refs: 1}
	if fi, err = f.Stat(); err == nil {
		m.key, err = keyOf(fi)
	}
	if err == nil && m.key != key {
		err = fmt.Errorf("%s-shm was replaced while being opened", path)
	}
	if err == nil {
		m.mem, err = syscall.Mmap(int(f.Fd()), 0, walIndexHeaderSize, syscall.PROT_READ, syscall.MAP_SHARED)
	}
	if err != nil {
		// Not usable, but f is held (and closed) like a mapping's all the same.
		m.err = fmt.Errorf("map %s-shm: %w", path, err)
		return m
	}
	m.hdr = headerAt(m.mem)
	shmMaps.m[key] = m
	return m
}

func keyOf(fi os.FileInfo) (shmKey, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return shmKey{}, fmt.Errorf("%s: no inode", fi.Name())
	}
	return shmKey{uint64(st.Dev), uint64(st.Ino)}, nil // Dev and Ino vary in type by OS
}

// unmapShm releases m: when it was this process's last user of the file,
// the mapping is removed and its descriptor closed. Call it only after the
// DB's own connections are closed.
func unmapShm(m *shmMapping) error {
	shmMaps.mu.Lock()
	defer shmMaps.mu.Unlock()
	if m.refs--; m.refs > 0 {
		return nil
	}
	if m.err != nil {
		if m.file == nil {
			return nil
		}
		return m.file.Close()
	}
	delete(shmMaps.m, m.key)
	return errors.Join(syscall.Munmap(m.mem), m.file.Close())
}
