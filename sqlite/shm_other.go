//go:build !unix

package sqlite

import "errors"

// shmMapping is not available here: ChangeStamp of a database file always
// reports ok=false, so nothing relies on it.
type shmMapping struct {
	hdr *walIndexHeader
	err error
}

func mapShm(string) *shmMapping {
	return &shmMapping{err: errors.New("mapping the WAL index is only implemented on unix")}
}

func unmapShm(*shmMapping) error { return nil }
